# Evaluates flake.nix with stand-in inputs (./stubs) and returns, as plain data, what the
# tests in flake-eval.bats check: the output names per system, the apps, the image
# configurations, the apps' inputs and texts, the static build's arguments, the checks.
#   nix-instantiate --readonly-mode --eval --strict --json scripts/tests/nix/flake-eval.nix
# This proves the wiring of our own files (every attribute we read from contract.json and
# from each other exists; the outputs have the shape Nix expects), not nixpkgs' API.
let
  stubs = import ./stubs;
  flake = import ../../../flake.nix;
  outputs = flake.outputs (stubs // { self = outputs; });

  stubPkgs = system: import ./stubs/nixpkgs { inherit system; };
  rustFor = system: import ../../../nix/crane.nix {
    pkgs = stubPkgs system;
    inherit (stubs) crane;
  };

  mapAttrs = builtins.mapAttrs;
  names = builtins.attrNames;

  image = img: {
    inherit (img) imageName imageTag;
    inherit (img.stubArgs) name config extraCommands;
    tag = img.stubArgs.tag or null;
    contents = map (c: c.name) img.stubArgs.contents;
  };

  linux = outputs.packages.x86_64-linux;
  checksLinux = outputs.checks.x86_64-linux;
  rustLinux = rustFor "x86_64-linux";
  staticArgs = sys: (rustFor sys).staticBinaries.stubArgs;

  # The script derivations of nix/apps.nix (its `scripts`), wired as flake.nix does; on
  # darwin with the images of the Linux system of its CPU.
  appScriptsFor = system: linuxSystem:
    let
      pkgs = stubPkgs system;
      tools = import ../../../nix/tools.nix { inherit pkgs; };
      rust = rustFor system;
    in
    (import ../../../nix/apps.nix {
      inherit pkgs tools rust;
      images = import ../../../nix/images.nix { pkgs = stubPkgs linuxSystem; rust = rustFor linuxSystem; };
      chart = import ../../../nix/chart.nix { inherit pkgs tools; };
      isLinux = pkgs.stdenv.hostPlatform.isLinux;
    }).scripts;
  opsScript = script: {
    inherit (script.stubArgs) name text;
    runtimeEnv = script.stubArgs.runtimeEnv or { };
    inputs = map (p: p.name) script.stubArgs.runtimeInputs;
    inherit (script.meta) description;
  };
in
{
  outputNames = names outputs;
  packages = mapAttrs (_: names) outputs.packages;
  checks = mapAttrs (_: names) outputs.checks;
  devShells = mapAttrs (_: names) outputs.devShells;
  formatter = mapAttrs (_: f: f.name) outputs.formatter;
  # The package set the flake built (crane's stub records it).
  overlays = checksLinux.clippy.stubArgs.stubOverlays;

  apps = mapAttrs
    (_: mapAttrs (_: app: {
      keys = names app;
      inherit (app) type program;
      description = app.meta.description;
    }))
    outputs.apps;

  # The script derivation behind each app, per system.
  appScripts = mapAttrs
    (_: apps: {
      deploy = builtins.baseNameOf apps.deploy.program;
      undeploy = builtins.baseNameOf apps.undeploy.program;
    })
    outputs.apps;

  images = {
    backend = image linux.backend-image;
    frontend = image linux.frontend-image;
    postgres = image linux.postgres-image;
  };
  tars = mapAttrs
    (_: tar: { inherit (tar) name imageName imageTag; script = tar.stubArgs.script; })
    { inherit (linux) backend-image-tar frontend-image-tar postgres-image-tar; };

  entrypoint = {
    inherit (checksLinux.postgres-entrypoint.stubArgs) name text;
    runtimeInputs = map (p: p.name) checksLinux.postgres-entrypoint.stubArgs.runtimeInputs;
  };

  deploy = {
    script = (checksLinux.deploy-script).stubArgs;
    inputs = map (p: p.name) checksLinux.deploy-script.stubArgs.runtimeInputs;
  };
  undeployInputs = map (p: p.name) checksLinux.undeploy-script.stubArgs.runtimeInputs;
  # The undeploy app's text: nix/apps/undeploy.sh with nix/apps/lib.sh in place.
  undeployText = checksLinux.undeploy-script.stubArgs.text;
  # doctor, status, logs, images, set-secret, rollback, backup, restore: name, text,
  # runtimeEnv, input names, description.
  opsScripts = mapAttrs (_: opsScript) {
    inherit (appScriptsFor "x86_64-linux" "x86_64-linux") doctor status logs images rollback backup restore set-secret;
  };
  darwinDoctorInputs = (opsScript (appScriptsFor "aarch64-darwin" "aarch64-linux").doctor).inputs;
  # On darwin the deploy app carries the images of the Linux system with the same CPU.
  darwinDeployEnv = {
    aarch64-darwin = (outputs.checks.aarch64-linux.deploy-script).stubArgs.runtimeEnv;
  };

  static = {
    x86_64-linux = staticArgs "x86_64-linux";
    aarch64-linux = staticArgs "aarch64-linux";
  };
  binaries = {
    backend = linux.backend.stubArgs.script;
    frontend = linux.frontend.stubArgs.script;
    backendMainProgram = linux.backend.meta.mainProgram;
    default = linux.default.name;
  };
  toolchain = {
    x86_64-linux = rustLinux.craneLib.stubToolchain.stubArgs;
    aarch64-linux = (rustFor "aarch64-linux").craneLib.stubToolchain.stubArgs;
    aarch64-darwin = (rustFor "aarch64-darwin").craneLib.stubToolchain.stubArgs;
  };
  src = { inherit (rustLinux.src) root fileset; };
  testSrc = { inherit (rustLinux.testSrc) root fileset; };
  checkArgs = {
    clippy = { inherit (checksLinux.clippy.stubArgs) cargoClippyExtraArgs CARGO_PROFILE; };
    deny = checksLinux.deny.stubArgs.cargoDenyChecks;
    nextest = {
      inherit (checksLinux.nextest.stubArgs) checkPhase CARGO_PROFILE;
      inputs = map (p: p.name) checksLinux.nextest.stubArgs.nativeBuildInputs;
    };
    images = checksLinux.images.stubArgs.script;
    chart = checksLinux.chart.stubArgs.script;
  };
  devShell = {
    packages = map (p: p.name) outputs.devShells.x86_64-linux.default.stubArgs.packages;
    shellHook = outputs.devShells.x86_64-linux.default.stubArgs.shellHook;
  };
  vmTest = linux.vm-test.name;
  chartPackage = linux.chart.stubArgs.script;
}
