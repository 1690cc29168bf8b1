# Optional end-to-end test in a NixOS VM: k3s with the three images imported air-gapped,
# the chart installed with Helm exactly as the deploy app does (Minikube values, content-hash
# tags), `helm test`, then a user registers and signs in through the frontend's NodePort.
#
# Needs KVM (the `kvm` and `nixos-test` system features), so it is a package, not a check:
#   nix build .#vm-test -L
{ pkgs, chart, backend-image-tar, frontend-image-tar, postgres-image-tar }:
let
  inherit (pkgs) lib;
  minikubeValues = ../helm/ci/minikube-values.yaml;

  # --set arguments for one image: the archive's name and tag, never pulled.
  imageArgs =
    key: tar:
    "--set ${key}.image.repository=${tar.imageName} --set ${key}.image.tag=${tar.imageTag} --set ${key}.image.pullPolicy=Never";

  helmInstall = lib.concatStringsSep " " [
    "helm upgrade --install taskflow ${chart}/taskflow.tgz"
    "--namespace taskflow --create-namespace"
    "--values ${minikubeValues}"
    (imageArgs "backend" backend-image-tar)
    (imageArgs "frontend" frontend-image-tar)
    (imageArgs "postgresql" postgres-image-tar)
    "--wait --timeout 15m"
  ];
in
pkgs.testers.runNixOSTest {
  name = "taskflow-k3s";

  nodes.machine =
    { config, ... }:
    {
      virtualisation = {
        memorySize = 3072;
        diskSize = 8192;
        cores = 2;
      };
      services.k3s = {
        enable = true;
        role = "server";
        # A string (accepted by both the old and the new type of this option).
        extraFlags = "--disable traefik --disable metrics-server";
        # Imported by k3s at start: its own air-gap bundle (pause, coredns, local-path
        # provisioner) and our three uncompressed archives. Nothing is pulled.
        images = [
          config.services.k3s.package.airgap-images
          backend-image-tar
          frontend-image-tar
          postgres-image-tar
        ];
      };
      environment.systemPackages = [
        pkgs.kubectl
        pkgs.kubernetes-helm
        pkgs.curl
      ];
      environment.variables.KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
    };

  testScript = ''
    import re

    base = "http://127.0.0.1:30000"
    jar = "/tmp/cookies"

    def form(path):
        page = machine.succeed(f"curl -fsS -c {jar} -b {jar} {base}{path}")
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match, f"no anti-forgery token on {path}"
        return match.group(1)

    def post(path, fields):
        data = " ".join(f"--data-urlencode '{k}={v}'" for k, v in fields.items())
        return machine.succeed(
            f"curl -sS -o /dev/null -w '%{{http_code}} %{{redirect_url}}' -c {jar} -b {jar} "
            f"-H 'Sec-Fetch-Site: same-origin' {data} {base}{path}"
        ).strip()

    machine.wait_for_unit("k3s")
    machine.wait_until_succeeds("kubectl get nodes | grep -w Ready", timeout=300)

    with subtest("install the chart with the Nix-built images"):
        machine.succeed("${helmInstall}", timeout=1200)
        machine.succeed("helm test taskflow --namespace taskflow --timeout 10m --logs", timeout=900)

    with subtest("the frontend answers on the NodePort"):
        machine.wait_until_succeeds(f"curl -fsS {base}/readyz", timeout=300)

    with subtest("register, then sign in through the frontend"):
        token = form("/register")
        answer = post("/register", {
            "csrf": token, "name": "VM Test", "email": "vm@example.com",
            "password": "correct horse battery", "password_confirm": "correct horse battery",
        })
        assert answer.startswith("303") and "/login" in answer, f"register: {answer}"

        token = form("/login")
        answer = post("/login", {
            "csrf": token, "next": "", "email": "vm@example.com",
            "password": "correct horse battery",
        })
        assert answer.startswith("303"), f"login: {answer}"

        status = machine.succeed(f"curl -sS -o /dev/null -w '%{{http_code}}' -b {jar} {base}/tasks").strip()
        assert status == "200", f"/tasks after sign-in answered {status}"
  '';
}
