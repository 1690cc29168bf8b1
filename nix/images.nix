# OCI images without Dockerfiles: dockerTools.streamLayeredImage for the two services and
# PostgreSQL, plus uncompressed .tar files for `minikube image load`.
#
# Every name, port, user, argument, environment variable and label comes from contract.json,
# the file the chart and scripts/image-test.sh read too. scripts/tests/nix/contract.bats
# checks that no value of it is written here as a literal.
{ pkgs, rust }:
let
  inherit (pkgs) lib dockerTools;
  inherit (rust) version;

  contract = builtins.fromJSON (builtins.readFile ./contract.json);
  postgresql = (import ./tools.nix { inherit pkgs; }).postgresql;

  uid = toString contract.user.uid;
  gid = toString contract.user.gid;
  # Numeric, so Kubernetes' runAsNonRoot can verify it.
  user = "${uid}:${gid}";

  # Where dockerTools.caCertificates puts the bundle (Debian's path, which
  # scripts/image-test.sh copies its bundle to as well).
  caBundle = "/etc/ssl/certs/ca-certificates.crt";

  # /etc/passwd, /etc/group and /etc/nsswitch.conf with root, nobody and the service user,
  # without any fakeroot step. PostgreSQL's initdb needs the passwd entry of its uid.
  nss = dockerTools.fakeNss.override {
    extraPasswdLines = [ "taskflow:x:${uid}:${gid}:TaskFlow:/var/empty:/bin/false" ];
    extraGroupLines = [ "taskflow:x:${gid}:" ];
  };

  envList = env: lib.mapAttrsToList (name: value: "${name}=${value}") env;

  labelsFor =
    image:
    contract.labels
    // {
      "org.opencontainers.image.title" = image.name;
      "org.opencontainers.image.version" = version;
    };

  # Runs in the top (customisation) layer, not as root; the mode bits survive. /tmp is where
  # the chart mounts an emptyDir (the root filesystem is read-only).
  makeTmp = "mkdir -m 1777 tmp";

  # A service image: its static binary at /bin/<binary> (contents are linked into /), CA
  # certificates, the passwd files and /tmp. No shell, no libc.
  # The tag is left null, so it is the hash of the image configuration, known at evaluation
  # time as `imageTag` (passthru): every content change gives a new tag, which
  # `minikube image load` needs (it never replaces an existing name:tag).
  serviceImage =
    key: package:
    let
      image = contract.images.${key};
    in
    dockerTools.streamLayeredImage {
      inherit (image) name;
      contents = [
        nss
        dockerTools.caCertificates
        package
      ];
      extraCommands = makeTmp;
      config = {
        Entrypoint = [ "/bin/${image.binary}" ];
        Cmd = image.args;
        User = user;
        Env = envList (image.env // { SSL_CERT_FILE = caBundle; });
        ExposedPorts = {
          "${toString image.port}/tcp" = { };
        };
        Labels = labelsFor image;
      };
      passthru = {
        inherit version;
        inherit (image) port;
      };
    };

  # --- PostgreSQL --------------------------------------------------------------------------
  pg = contract.images.postgres;

  # nix/postgres/entrypoint.sh, with nixpkgs' bash, PostgreSQL and coreutils on PATH (and
  # shellchecked when built). The file's own shebang line is dropped: writeShellApplication
  # writes its own.
  entrypoint = pkgs.writeShellApplication {
    name = "taskflow-postgres-entrypoint";
    runtimeInputs = [
      postgresql
      pkgs.coreutils
    ];
    text = lib.removePrefix "#!/usr/bin/env bash\n" (builtins.readFile ./postgres/entrypoint.sh);
  };

  # /bin of the PostgreSQL image: the server tools (pg_isready for the readiness probe), the
  # entrypoint, and /bin/sh, which initdb and pg_ctl need (they start the server through
  # popen/system, i.e. /bin/sh). The services' images have no shell; this one has bash.
  postgresBin = pkgs.runCommand "taskflow-postgres-bin" { } ''
    mkdir -p "$out/bin"
    ln -s ${postgresql}/bin/* "$out/bin/"
    ln -s ${entrypoint}/bin/taskflow-postgres-entrypoint "$out/bin/taskflow-postgres-entrypoint"
    ln -s ${pkgs.runtimeShell} "$out/bin/sh"
  '';

  postgresImage = dockerTools.streamLayeredImage {
    inherit (pg) name;
    contents = [
      nss
      postgresBin
    ];
    extraCommands = makeTmp;
    config = {
      Entrypoint = [ "/bin/taskflow-postgres-entrypoint" ];
      User = user;
      Env = envList (pg.env // { PATH = "/bin"; });
      ExposedPorts = {
        "${toString pg.port}/tcp" = { };
      };
      # SIGINT is PostgreSQL's fast shutdown (the entrypoint maps SIGTERM to it as well).
      StopSignal = pg.stopSignal;
      Labels = labelsFor pg;
    };
    passthru = {
      inherit version postgresql;
      inherit (pg) port;
    };
  };

  # The stream script written to an uncompressed docker-archive. `minikube image load`
  # silently loads nothing from a gzipped archive on containerd/cri-o, so never compress.
  toTar =
    image:
    pkgs.runCommand "${image.imageName}-${image.imageTag}.tar"
      {
        passthru = {
          inherit (image) imageName imageTag;
        };
      }
      ''
        ${image} > "$out"
      '';

  backend-image = serviceImage "backend" rust.backend;
  frontend-image = serviceImage "frontend" rust.frontend;
  postgres-image = postgresImage;
in
{
  inherit
    backend-image
    frontend-image
    postgres-image
    entrypoint
    ;
  backend-image-tar = toTar backend-image;
  frontend-image-tar = toTar frontend-image;
  postgres-image-tar = toTar postgres-image;
}
