# The `deploy` (default) and `undeploy` apps: nix/apps/*.sh as writeShellApplication scripts
# (shellchecked when built), with the tools from nix/tools.nix on PATH and the Nix-built
# inputs passed in as environment variables, which is also how the bats tests drive them.
# `doctor`, `status`, `logs` and `images` observe: the machine, the release, its logs, the
# images (docs/operations.md). `set-secret`, `rollback`, `backup` and `restore` change the
# release: its Secret, its revision, its database.
# On Linux also `local`: scripts/run-local.sh with the Nix-built binaries and PostgreSQL.
{ pkgs, tools, images, chart, rust, isLinux }:
let
  inherit (pkgs) lib;

  # The scripts keep a shebang so they run (and are tested) on their own; writeShellApplication
  # writes its own first line.
  scriptText = path: lib.removePrefix "#!/usr/bin/env bash\n" (builtins.readFile path);

  # The operation apps source nix/apps/lib.sh (their shared functions) from the directory
  # they are in. Built, each is one file: the library's text, without its first line (a
  # directive for shellcheck of lib.sh alone), stands in place of these lines; so
  # writeShellApplication's shellcheck sees the functions the app calls.
  sourceLib = ''
    # The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
    # from the directory of this file (no dirname: the tests run it with a bare PATH).
    lib_dir=''${BASH_SOURCE[0]%/*}
    [[ $lib_dir != "''${BASH_SOURCE[0]}" ]] || lib_dir=.
    # shellcheck source=lib.sh
    source "$lib_dir/lib.sh"
  '';
  libHeader = "# shellcheck shell=bash disable=SC2154\n";
  libFile = builtins.readFile ./apps/lib.sh;
  libText =
    if lib.hasPrefix libHeader libFile then
      lib.removePrefix libHeader libFile
    else
      throw "nix/apps/lib.sh does not start with the line nix/apps.nix removes: ${libHeader}";
  appText =
    path:
    let
      text = scriptText path;
      withLib = builtins.replaceStrings [ sourceLib ] [ libText ] text;
    in
    if withLib == text then throw "${toString path} does not source lib.sh as nix/apps.nix expects" else withLib;

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
    # deploy runs the doctor's checks first (as taskflow-doctor).
    runtimeInputs = runtimeInputs ++ [ doctor ];
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
    text = appText ./apps/undeploy.sh;
    meta.description = "Uninstall TaskFlow from Minikube; --purge also deletes its data";
  };

  # The image references alone: known at evaluation time, so status builds no image.
  imageRefs = key: image: { "TASKFLOW_${key}_IMAGE" = "${image.imageName}:${image.imageTag}"; };

  doctor = pkgs.writeShellApplication {
    name = "taskflow-doctor";
    # Not Docker, Podman, libvirt or Nix: the machine's own are the ones checked. `free`
    # reads Linux's memory figures; on darwin the script asks sysctl.
    runtimeInputs = runtimeInputs ++ lib.optional isLinux pkgs.procps;
    text = scriptText ./apps/doctor.sh;
    meta.description = "Check that this machine can run deploy: Nix, a Minikube driver, CPUs, memory, disk, the cluster and the kubectl context";
  };

  status = pkgs.writeShellApplication {
    name = "taskflow-status";
    runtimeInputs = runtimeInputs ++ [ pkgs.jq ];
    runtimeEnv =
      imageRefs "BACKEND" images.backend-image
      // imageRefs "FRONTEND" images.frontend-image
      // imageRefs "POSTGRES" images.postgres-image;
    text = appText ./apps/status.sh;
    meta.description = "Show the TaskFlow release on Minikube: revision, chart, pods and their images, URL, warning events";
  };

  logs = pkgs.writeShellApplication {
    name = "taskflow-logs";
    inherit runtimeInputs;
    text = appText ./apps/logs.sh;
    meta.description = "Follow the logs of TaskFlow on Minikube: backend, frontend, postgres or all";
  };

  # The image archives are inputs, so `nix run .#images` builds them first.
  imagesApp = pkgs.writeShellApplication {
    name = "taskflow-images";
    runtimeInputs = [
      pkgs.gnutar
      pkgs.jq
      pkgs.coreutils
      pkgs.gnugrep
    ];
    runtimeEnv =
      imageEnv "BACKEND" images.backend-image images.backend-image-tar
      // imageEnv "FRONTEND" images.frontend-image images.frontend-image-tar
      // imageEnv "POSTGRES" images.postgres-image images.postgres-image-tar;
    text = appText ./apps/images.sh;
    meta.description = "Build the three images and print their name, tag, uncompressed size and layer count";
  };

  # The apps that change the release. pg_restore (backup checks its dump with it, restore
  # turns the dump into SQL) is the PostgreSQL of the image, so it reads what pg_dump wrote.
  opsInputs = runtimeInputs ++ [ pkgs.jq ];
  dataInputs = runtimeInputs ++ [ tools.postgresql ];

  setSecret = pkgs.writeShellApplication {
    name = "taskflow-set-secret";
    runtimeInputs = opsInputs;
    # The chart that applies a new or removed LLM key (helm upgrade, the release's values kept).
    runtimeEnv.TASKFLOW_CHART = "${chart.package}/taskflow.tgz";
    text = appText ./apps/set-secret.sh;
    meta.description = "Set, rotate or remove the JWT secret or the LLM API key of TaskFlow on Minikube and apply it";
  };

  rollback = pkgs.writeShellApplication {
    name = "taskflow-rollback";
    runtimeInputs = opsInputs;
    text = appText ./apps/rollback.sh;
    meta.description = "Roll TaskFlow on Minikube back to the previous (or a given) Helm revision and wait for it";
  };

  backup = pkgs.writeShellApplication {
    name = "taskflow-backup";
    runtimeInputs = dataInputs;
    text = appText ./apps/backup.sh;
    meta.description = "Dump the PostgreSQL database of TaskFlow on Minikube to a local file (pg_dump, one snapshot)";
  };

  restore = pkgs.writeShellApplication {
    name = "taskflow-restore";
    runtimeInputs = dataInputs;
    text = appText ./apps/restore.sh;
    meta.description = "Load a backup into the database of TaskFlow on Minikube (refuses to overwrite data without --force)";
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
  scripts = {
    inherit deploy undeploy doctor status logs;
    images = imagesApp;
    inherit rollback backup restore;
    set-secret = setSecret;
  }
  // lib.optionalAttrs isLinux { inherit local; };

  apps = {
    deploy = app deploy;
    undeploy = app undeploy;
    default = app deploy;
    doctor = app doctor;
    status = app status;
    logs = app logs;
    images = app imagesApp;
    set-secret = app setSecret;
    rollback = app rollback;
    backup = app backup;
    restore = app restore;
  }
  # The static binaries are Linux builds; on darwin run scripts/run-local.sh instead.
  // lib.optionalAttrs isLinux { local = app local; };
}
