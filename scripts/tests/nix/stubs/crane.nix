# A stand-in for the crane flake: mkLib returns a craneLib whose builders are stub
# derivations that remember their arguments.
let
  drv = import ./drv.nix;
in
{
  mkLib =
    pkgs:
    let
      craneLib = {
        # The toolchain the flake asks for, evaluated with this package set.
        overrideToolchain = toolchainFor: craneLib // { stubToolchain = toolchainFor pkgs; };
        fileset.commonCargoSources = path: { commonCargoSources = toString path; };
        buildDepsOnly = args: drv "${args.pname}-deps" args;
        buildPackage = args: drv args.pname args;
        # Also records the overlays of the package set crane was given.
        cargoClippy = args: drv "${args.pname}-clippy" (args // { stubOverlays = pkgs.stubOverlays; });
        cargoFmt = args: drv "${args.pname}-fmt" args;
        cargoDeny = args: drv "${args.pname}-deny" args;
        cargoNextest = args: drv "${args.pname}-nextest" args;
        devShell = args: drv "devshell" args;
      };
    in
    craneLib;
}
