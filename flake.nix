{
  description = "TaskFlow: static Rust services, OCI images without Dockerfiles, a Helm chart and a one-command Minikube deployment";

  # Only wiring lives here; each concern is one file under nix/ (see docs/nix.md).
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    # crane declares no inputs of its own (it takes nixpkgs through mkLib), so no `follows`.
    crane.url = "github:ipetkov/crane";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    { nixpkgs, crane, rust-overlay, ... }:
    let
      inherit (nixpkgs) lib;

      linuxSystems = [ "x86_64-linux" "aarch64-linux" ];
      darwinSystems = [ "x86_64-darwin" "aarch64-darwin" ];
      systems = linuxSystems ++ darwinSystems;

      # Images are Linux artefacts: a darwin host deploys the images of the Linux system with
      # its CPU, built by a Linux builder (docs/nix.md, "darwin").
      linuxSystemFor = system: {
        x86_64-darwin = "x86_64-linux";
        aarch64-darwin = "aarch64-linux";
      }.${system} or system;

      # Everything for one system, evaluated once and shared by the outputs below.
      project = lib.genAttrs systems (
        system:
        let
          pkgs = import nixpkgs {
            inherit system;
            overlays = [ rust-overlay.overlays.default ];
          };
          isLinux = pkgs.stdenv.hostPlatform.isLinux;
          tools = import ./nix/tools.nix { inherit pkgs; };
          rust = import ./nix/crane.nix { inherit pkgs crane; };
          chart = import ./nix/chart.nix { inherit pkgs tools; };
          images = if isLinux then import ./nix/images.nix { inherit pkgs rust; } else linuxImages;
          linuxImages = project.${linuxSystemFor system}.images;
          apps = import ./nix/apps.nix { inherit pkgs tools images chart rust isLinux; };
        in
        {
          inherit pkgs images;
          apps = apps.apps;
          packages = {
            inherit (rust) backend frontend;
            inherit (images)
              backend-image frontend-image postgres-image
              backend-image-tar frontend-image-tar postgres-image-tar;
            chart = chart.package;
            default = rust.backend;
          };
          checks = import ./nix/checks.nix { inherit pkgs rust images chart apps; };
          devShell = import ./nix/devshell.nix { inherit pkgs tools rust; };
        }
      );
    in
    {
      # Build outputs exist for Linux systems only (static musl binaries and images).
      packages = lib.genAttrs linuxSystems (
        system:
        project.${system}.packages
        // {
          # The k3s NixOS VM test: outside `checks` because it needs KVM.
          # nix build .#vm-test -L
          vm-test = import ./nix/vm-test.nix {
            inherit (project.${system}) pkgs;
            inherit (project.${system}.packages) chart backend-image-tar frontend-image-tar postgres-image-tar;
          };
        }
      );

      apps = lib.genAttrs systems (system: project.${system}.apps);

      checks = lib.genAttrs systems (system: project.${system}.checks);

      devShells = lib.genAttrs systems (system: {
        default = project.${system}.devShell;
      });

      formatter = lib.genAttrs systems (system: project.${system}.pkgs.nixpkgs-fmt);
    };
}
