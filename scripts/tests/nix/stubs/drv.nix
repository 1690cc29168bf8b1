# A stand-in derivation: what the flake needs of one (name, outPath, meta) plus the
# arguments it was made from, under stubArgs, for the tests to inspect.
name: args:
{
  type = "derivation";
  inherit name;
  outPath = "/nix/store/00000000000000000000000000000000-${name}";
  meta = args.meta or { };
  stubArgs = args;
}
