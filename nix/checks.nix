# `nix flake check`: Rust lints and tests, the chart, the image archives and the scripts.
# Everything runs offline in the build sandbox. The k3s VM test is not here (it needs KVM):
# see nix/vm-test.nix.
{ pkgs, rust, images, chart, apps }:
let
  inherit (pkgs) lib;
  inherit (rust) craneLib commonArgs checkArgs checkDeps;
  isLinux = pkgs.stdenv.hostPlatform.isLinux;
  tools = import ./tools.nix { inherit pkgs; };

  rustChecks = {
    clippy = craneLib.cargoClippy (
      checkArgs
      // {
        cargoArtifacts = checkDeps;
        cargoClippyExtraArgs = "--workspace --all-targets -- --deny warnings";
      }
    );

    fmt = craneLib.cargoFmt {
      inherit (commonArgs) src pname version;
      cargoExtraArgs = "--all";
    };

    # Licences, bans and sources from deny.toml; advisories need the network (and are left
    # out by crane's default on purpose).
    deny = craneLib.cargoDeny (
      commonArgs
      // {
        cargoDenyChecks = "bans licenses sources";
      }
    );
  };

  linuxChecks = {
    # The whole test suite against a real PostgreSQL, started by the same
    # scripts/with-postgres.sh the local checks use (initdb/pg_ctl on a private Unix socket
    # in the build directory; one database per test). The browser tests need Chromium at
    # /usr/bin and npm's axe-core, which the sandbox cannot have: they are filtered out here
    # and run by scripts/check.sh. Linux only: darwin's socket paths are too long.
    nextest = craneLib.cargoNextest (
      checkArgs
      // {
        cargoArtifacts = checkDeps;
        src = rust.testSrc;
        nativeBuildInputs = [ tools.postgresql ];
        # cargoNextest's own checkPhase runs `cargo nextest run` directly; this one wraps it.
        # The script's `#!/usr/bin/env bash` does not resolve in the sandbox: run it with bash.
        checkPhase = ''
          runHook preCheck
          bash scripts/with-postgres.sh cargo nextest run --cargo-profile "$CARGO_PROFILE" \
            --locked --workspace --no-fail-fast \
            -E 'not (package(taskflow-frontend) & binary(browser))'
          runHook postCheck
        '';
      }
    );

    # Each image stream produces a valid docker-archive whose configuration matches
    # contract.json (user, entrypoint, arguments, environment, ports, labels, stop signal),
    # whose tag is the content hash, and, for the services, that holds no shell.
    images =
      pkgs.runCommand "taskflow-images-check"
        {
          nativeBuildInputs = [
            pkgs.jq
            pkgs.gnutar
            pkgs.gzip
          ];
        }
        ''
          check() {
            bash ${./checks/image-archive.sh} --contract ${./contract.json} \
              --version ${rust.version} --tag "$3" "$1" "$2"
          }
          check backend ${images.backend-image-tar} ${images.backend-image.imageTag}
          check frontend ${images.frontend-image-tar} ${images.frontend-image.imageTag}
          check postgres ${images.postgres-image-tar} ${images.postgres-image.imageTag}
          touch "$out"
        '';

    # The static binaries themselves (also built by `images`, listed for clarity).
    inherit (rust) backend frontend;
  };

  # The app scripts and the PostgreSQL entrypoint: writeShellApplication runs shellcheck
  # when it builds them; this runs it on the files as they are in the repository too.
  scriptChecks = {
    undeploy-script = apps.scripts.undeploy;

    # The operator apps that need no image archives, built (and so shellchecked) together.
    app-scripts = pkgs.linkFarmFromDrvs "taskflow-app-scripts" (
      map (name: apps.scripts.${name}) [
        "doctor"
        "logs"
        "set-secret"
        "rollback"
        "backup"
        "restore"
      ]
    );

    # The apps source lib.sh from their own directory: nix/apps/.shellcheckrc lets shellcheck
    # follow it there (as -x does), so each app is checked with the functions it calls.
    shellcheck = pkgs.runCommand "taskflow-shellcheck" { nativeBuildInputs = [ pkgs.shellcheck ]; } ''
      shellcheck -x ${./apps}/*.sh ${./postgres/entrypoint.sh} ${./checks/image-archive.sh}
      touch "$out"
    '';

    # The apps' bats tests, with fake minikube/helm/kubectl and fake host tools (no cluster
    # needed). The backup/restore test against a real PostgreSQL runs in scripts/check-nix.sh.
    app-tests =
      pkgs.runCommand "taskflow-app-tests"
        {
          nativeBuildInputs = [
            pkgs.bats
            pkgs.gnugrep
            pkgs.gnutar
            pkgs.jq
            # script(1) for the prompt tests, setpriv for the unreadable-file tests.
            pkgs.util-linux
          ];
        }
        ''
          cp -r ${
            lib.fileset.toSource {
              root = ../.;
              fileset = lib.fileset.unions [
                ./apps
                ../scripts/tests/nix/apps.bats
                ../scripts/tests/nix/ops-observe.bats
                ../scripts/tests/nix/ops-data.bats
                ../scripts/tests/nix/fake-cluster.bash
                ../scripts/tests/nix/fake-ops.bash
                ../scripts/tests/nix/fake-ops-data.bash
              ];
            }
          } src
          chmod -R u+w src
          patchShebangs src
          bats src/scripts/tests/nix/apps.bats src/scripts/tests/nix/ops-observe.bats \
            src/scripts/tests/nix/ops-data.bats
          touch "$out"
        '';
  };

  # Linux only: the tests need PostgreSQL's short socket paths, and the image archives (to
  # which the deploy script refers) are built by Linux.
  linuxOnly = lib.optionalAttrs isLinux (linuxChecks // {
    postgres-entrypoint = images.entrypoint;
    deploy-script = apps.scripts.deploy;
    local-script = apps.scripts.local;
    # These two name the image archives too.
    images-script = apps.scripts.images;
    status-script = apps.scripts.status;
  });
in
rustChecks // scriptChecks // linuxOnly // { chart = chart.check; }
