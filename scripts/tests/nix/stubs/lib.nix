# Stand-ins for the nixpkgs lib functions the flake uses, with the same names and meaning,
# so that flake.nix and nix/*.nix can be evaluated here without nixpkgs
# (scripts/tests/nix/flake-eval.nix). Paths are turned into strings, never copied to the store.
let
  show = x: if builtins.isPath x then toString x else x;

  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
  hasSuffix =
    suffix: s:
    let
      ls = builtins.stringLength s;
      lx = builtins.stringLength suffix;
    in
    ls >= lx && builtins.substring (ls - lx) lx s == suffix;
in
{
  inherit hasPrefix hasSuffix;
  inherit (builtins) attrNames filter lessThan sort concatStringsSep;

  genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
  optionalAttrs = condition: attrs: if condition then attrs else { };
  optional = condition: x: if condition then [ x ] else [ ];
  removePrefix =
    prefix: s:
    if hasPrefix prefix s then builtins.substring (builtins.stringLength prefix) (-1) s else s;
  concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
  escapeShellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";
  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
  importTOML = path: builtins.fromTOML (builtins.readFile path);
  platforms.linux = [ "x86_64-linux" "aarch64-linux" ];

  fileset = {
    toSource = { root, fileset }: {
      outPath = "/nix/store/00000000000000000000000000000000-source";
      root = show root;
      fileset = show fileset;
    };
    unions = list: { unions = map show list; };
    maybeMissing = path: { maybeMissing = show path; };
  };
}
