# Stand-in flake inputs for evaluating flake.nix without fetching anything: pass these to
# its `outputs` function (see ../flake-eval.nix).
{
  nixpkgs = {
    # `import nixpkgs { ... }` imports this directory.
    outPath = ./nixpkgs;
    lib = import ./lib.nix;
  };
  crane = import ./crane.nix;
  rust-overlay.overlays.default = "rust-overlay";
}
