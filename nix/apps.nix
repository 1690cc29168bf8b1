# The `deploy` (default) and `undeploy` apps: nix/apps/*.sh as writeShellApplication scripts
# (shellchecked when built), with the tools from nix/tools.nix on PATH and the Nix-built
# inputs passed in as environment variables, which is also how the bats tests drive them.
# On Linux also `local`: scripts/run-local.sh with the Nix-built binaries and PostgreSQL.
{ pkgs, tools, images, chart, rust, isLinux }:
let
  inherit (pkgs) lib;

  # The scripts keep a shebang so they run (and are tested) on their own; writeShellApplication
  # writes its own first line.
  scriptText = path: lib.removePrefix "#!/usr/bin/env bash\n" (builtins.readFile path);

  # kubectl comes before minikube on PATH (runtimeInputs keep their order).
  runtimeInputs = [
    tools.kubectl
    tools.helm
    tools.minikube
    pkgs.coreutils
    pkgs.gnugrep
  ];

  imageEnv =
    key: image: tar:
    {
      "TASKFLOW_${key}_IMAGE" = "${image.imageName}:${image.imageTag}";
      "TASKFLOW_${key}_IMAGE_TAR" = "${tar}";
    };

  deploy = pkgs.writeShellApplication {
    name = "taskflow-deploy";
    inherit runtimeInputs;
    # Exported at the top of the script; the image tags are content hashes known at
    # evaluation time (dockerTools' imageTag), never `latest`.
    runtimeEnv =
      imageEnv "BACKEND" images.backend-image images.backend-image-tar
      // imageEnv "FRONTEND" images.frontend-image images.frontend-image-tar
      // imageEnv "POSTGRES" images.postgres-image images.postgres-image-tar
      // {
        TASKFLOW_CHART = "${chart.package}/taskflow.tgz";
        TASKFLOW_VALUES = "${chart.src}/ci/minikube-values.yaml";
      };
    text = scriptText ./apps/deploy.sh;
    meta.description = "Deploy TaskFlow to Minikube (start it if needed, load the images, helm upgrade --install, helm test)";
  };

  undeploy = pkgs.writeShellApplication {
    name = "taskflow-undeploy";
    inherit runtimeInputs;
    text = scriptText ./apps/undeploy.sh;
    meta.description = "Uninstall TaskFlow from Minikube; --purge also deletes its data";
  };

  # The whole app on this machine without a cluster: the same script as
  # scripts/run-local.sh, told to skip the cargo build and use the static binaries.
  local = pkgs.writeShellApplication {
    name = "taskflow-local";
    runtimeInputs = [
      pkgs.postgresql_17
      pkgs.coreutils
      pkgs.findutils
      # runuser, when started as root (PostgreSQL refuses to run as root).
      pkgs.util-linux
    ];
    runtimeEnv = {
      TASKFLOW_SKIP_BUILD = "1";
      TASKFLOW_BACKEND_BIN = "${rust.backend}/bin/taskflow-backend";
      TASKFLOW_FRONTEND_BIN = "${rust.frontend}/bin/taskflow-frontend";
    };
    text = scriptText ../scripts/run-local.sh;
    meta.description = "Run TaskFlow on this machine without a cluster (private PostgreSQL, data kept between runs)";
  };

  # `nix flake check` rejects any app attribute other than type, program and meta.
  app = drv: {
    type = "app";
    program = "${drv}/bin/${drv.name}";
    meta.description = drv.meta.description;
  };
in
{
  # The script derivations, for the shellcheck check.
  scripts = { inherit deploy undeploy; } // lib.optionalAttrs isLinux { inherit local; };

  apps = {
    deploy = app deploy;
    undeploy = app undeploy;
    default = app deploy;
  }
  # The static binaries are Linux builds; on darwin run scripts/run-local.sh instead.
  // lib.optionalAttrs isLinux { local = app local; };
}
