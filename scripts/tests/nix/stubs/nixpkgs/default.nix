# A stand-in for `import nixpkgs { system; overlays; }`: the attributes the flake uses, each
# a stub derivation (../drv.nix) that remembers its arguments.
{ system, overlays ? [ ] }:
let
  lib = import ../lib.nix;
  drv = import ../drv.nix;
  isLinux = lib.hasSuffix "-linux" system;
  cpu = builtins.head (builtins.match "([^-]+)-.*" system);

  simple = [
    "bats"
    "cargo-deny"
    "cargo-nextest"
    "coreutils"
    "diesel-cli"
    "gnugrep"
    "gnutar"
    "gzip"
    "jq"
    "kubectl"
    "kubernetes-helm"
    "nixpkgs-fmt"
    "postgresql_17"
    "procps"
    "shellcheck"
    "util-linux"
  ];
in
lib.genAttrs simple (name: drv name { })
  // {
  inherit lib system;
  stubOverlays = overlays;
  stdenv.hostPlatform = {
    inherit isLinux system;
    parsed.cpu.name = cpu;
  };

  runtimeShell = "/nix/store/00000000000000000000000000000000-bash/bin/bash";

  runCommand = name: env: script: drv name (env // { inherit script; }) // (env.passthru or { });

  writeShellApplication = args: drv args.name args;
  linkFarmFromDrvs = name: drvs: drv name { inherit drvs; };

  dockerTools = {
    streamLayeredImage =
      args:
      drv "stream-${args.name}" args
      // {
        imageName = args.name;
        imageTag = "stubtag${args.name}";
      }
      // (args.passthru or { });
    caCertificates = drv "ca-certificates" { };
    fakeNss = drv "fakeNss" { } // { override = args: drv "fakeNss" args; };
  };

  rust-bin.fromRustupToolchainFile =
    path:
    drv "rust-toolchain" { file = toString path; }
    // { override = args: drv "rust-toolchain" ({ file = toString path; } // args); };

  minikube = drv "minikube" { } // { version = "1.38.1"; };
  python3Packages.kubernetes-validate = drv "kubernetes-validate" { };
  testers.runNixOSTest = args: drv "vm-test-${args.name}" { inherit (args) name; };
}
