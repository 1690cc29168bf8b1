# Rust with crane: the toolchain, the source filesets, the static service binaries and the
# arguments the Rust checks (nix/checks.nix) share.
{ pkgs, crane }:
let
  inherit (pkgs) lib;

  # `[workspace.package] version`; set explicitly (with pname) so crane does not look for a
  # crate name in the root Cargo.toml, which has none, and warn.
  version = (lib.importTOML ../Cargo.toml).workspace.package.version;

  # The static target of a package set's CPU: x86_64- or aarch64-unknown-linux-musl.
  muslTargetOf = p: "${p.stdenv.hostPlatform.parsed.cpu.name}-unknown-linux-musl";

  # rust-toolchain.toml pins Rust 1.95.0 with clippy and rustfmt (profile minimal); rust-overlay
  # reads it without a hash. On Linux the musl target of the host CPU replaces the file's
  # x86_64 one (`.override` keeps the file's components). A function of the package set, as
  # overrideToolchain asks, so the toolchain is spliced correctly.
  toolchainFor =
    p:
    let
      fromFile = p.rust-bin.fromRustupToolchainFile ../rust-toolchain.toml;
    in
    if p.stdenv.hostPlatform.isLinux then fromFile.override { targets = [ (muslTargetOf p) ]; } else fromFile;

  craneLib = (crane.mkLib pkgs).overrideToolchain toolchainFor;

  # What the binaries are compiled from. crane's commonCargoSources keeps only *.rs, *.toml
  # and Cargo.lock; the rest is read at compile time and must be listed, or the build fails:
  # migrations (embed_migrations!), askama templates, the CSS/JS (include_str!).
  # Files must be tracked by git before Nix sees them in a flake.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      (craneLib.fileset.commonCargoSources ../.)
      ../common
      ../backend/migrations
      ../backend/templates
      ../frontend/templates
      ../frontend/static
    ];
  };

  # The tests also read files outside the crates (README.md, docs/, .env.example,
  # scripts/check.sh, which they check against the code) and run scripts/with-postgres.sh:
  # give them the whole tracked tree.
  testSrc = lib.fileset.toSource {
    root = ../.;
    fileset = ../.;
  };

  commonArgs = {
    inherit src version;
    pname = "taskflow";
    strictDeps = true;
  };

  # --- Static binaries (Linux) -------------------------------------------------------------
  # The recipe of crane's examples/cross-musl: the musl target plus +crt-static; the normal
  # cc links with Rust's self-contained musl CRT. That is enough because no crate compiles C
  # for Linux today: the only `cc` user in Cargo.lock is iana-time-zone-haiku (Haiku only);
  # `cargo tree -i cc --target x86_64-unknown-linux-musl` prints nothing. A crate with C code
  # (ring, aws-lc-sys, ...) would need a musl C compiler here (pkgsCross.musl64's stdenv).
  #
  # Both binaries come from ONE cargo invocation, exactly
  #   cargo build --release --locked --target <musl> -p taskflow-backend -p taskflow-frontend
  # as scripts/image-test.sh and scripts/check.sh run it, so features unify the same way and
  # the dependencies are compiled once. `backend` and `frontend` then copy one binary each,
  # so each image holds only its own service.
  staticArgs = commonArgs // {
    pname = "taskflow-static";
    CARGO_BUILD_TARGET = muslTargetOf pkgs;
    CARGO_BUILD_RUSTFLAGS = "-C target-feature=+crt-static";
    # Setting cargoExtraArgs replaces crane's default "--locked": keep it.
    cargoExtraArgs = "--locked -p taskflow-backend -p taskflow-frontend";
    # The tests need PostgreSQL; they run in the `nextest` check instead.
    doCheck = false;
  };

  staticBinaries = craneLib.buildPackage (
    staticArgs
    // {
      cargoArtifacts = craneLib.buildDepsOnly staticArgs;
    }
  );

  binaryPackage =
    name: description:
    pkgs.runCommand "${name}-${version}"
      {
        meta = {
          inherit description;
          mainProgram = name;
          platforms = lib.platforms.linux;
        };
      }
      ''
        install -D -m 0555 ${staticBinaries}/bin/${name} "$out/bin/${name}"
      '';

  # --- Checks: host target, dev profile ------------------------------------------------------
  # The release profile has fat LTO, far too slow for test binaries; the dev profile is what
  # scripts/check.sh uses (with argon2 optimised, see Cargo.toml).
  checkArgs = commonArgs // {
    CARGO_PROFILE = "dev";
  };
in
{
  inherit
    craneLib
    src
    testSrc
    commonArgs
    checkArgs
    version
    staticBinaries
    ;

  # Built once, shared by clippy and nextest (same toolchain, profile and flags).
  checkDeps = craneLib.buildDepsOnly checkArgs;

  backend = binaryPackage "taskflow-backend" "TaskFlow REST API (static musl binary)";
  frontend = binaryPackage "taskflow-frontend" "TaskFlow web frontend (static musl binary)";
}
