# `nix develop`: the pinned Rust toolchain plus everything the project's commands use.
{ pkgs, tools, rust }:
rust.craneLib.devShell {
  # crane's devShell adds rustc, cargo, clippy and rustfmt from the pinned toolchain.
  # kubectl is listed before minikube (see nix/tools.nix).
  packages = [
    tools.kubectl
    tools.helm
    tools.minikube
    tools.postgresql
    tools.kubernetes-validate
    pkgs.cargo-nextest
    pkgs.cargo-deny
    pkgs.diesel-cli
    pkgs.jq
    pkgs.shellcheck
    pkgs.bats
    pkgs.nixpkgs-fmt
  ];

  shellHook = ''
    cat <<'GREETING'
    TaskFlow development shell (Rust from rust-toolchain.toml; kubectl, helm, minikube,
    PostgreSQL, cargo-nextest, cargo-deny, diesel, kubernetes-validate from flake.lock).

      scripts/check.sh            every Rust check and test (fmt, clippy, deny, nextest, musl build)
      scripts/check-nix.sh        Nix syntax, deadnix, nixpkgs-fmt, flake.lock, app and entrypoint tests
      scripts/image-test.sh       build the static binaries, assemble and run the images with podman
      nix flake check             the same checks inside Nix
      nix run .#deploy            deploy to Minikube (starts it if needed) and print the URL
      nix run .#undeploy          remove it again (-- --purge also deletes the data)
      nix build .#backend-image-tar   an image archive, for `minikube image load` or `docker load`
    GREETING
  '';
}
