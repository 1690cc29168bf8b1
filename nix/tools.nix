# The command-line tools the apps, the dev shell and the checks share, all from the one
# nixpkgs revision in flake.lock, so every path uses the same versions.
{ pkgs }:
{
  inherit (pkgs) kubectl;

  # nixos-26.05 ships Helm 3.20.x; apps/deploy.sh handles Helm 3 and Helm 4 alike.
  helm = pkgs.kubernetes-helm;

  # nixpkgs' minikube package also puts a `kubectl` symlink to itself in bin/, which would
  # shadow the real kubectl on PATH: expose its minikube binary only.
  minikube = pkgs.runCommand "minikube-bin-${pkgs.minikube.version}" { } ''
    mkdir -p "$out/bin"
    ln -s ${pkgs.minikube}/bin/minikube "$out/bin/minikube"
  '';

  # Offline Kubernetes schema validation: the JSON schemas ship inside the package.
  kubernetes-validate = pkgs.python3Packages.kubernetes-validate;

  # One PostgreSQL major for the image, the dev shell and the test check. Pinned, so that a
  # nixpkgs update cannot switch the major version under an existing data volume.
  postgresql = pkgs.postgresql_17;
}
