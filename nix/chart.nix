# The Helm chart in helm/: the packaged chart and its offline checks.
{ pkgs, tools }:
let
  inherit (pkgs) lib;

  # The chart directory alone in the store, so unrelated changes do not repackage it.
  src = lib.fileset.toSource {
    root = ../helm;
    fileset = ../helm;
  };

  # Every helm/ci/*-values.yaml, found at evaluation time: a new values file is checked
  # without touching this file.
  valuesFiles = lib.sort lib.lessThan (
    lib.filter (name: lib.hasSuffix "-values.yaml" name) (lib.attrNames (builtins.readDir ../helm/ci))
  );

  # `helm package` into $out, plus a stable name (taskflow.tgz) for the apps and the VM test.
  package = pkgs.runCommand "taskflow-chart" { nativeBuildInputs = [ tools.helm ]; } ''
    # Helm wants writable config and cache directories.
    export HOME="$TMPDIR"
    helm package ${src} --destination "$out"
    packaged=$(cd "$out" && echo taskflow-*.tgz)
    ln -s "$packaged" "$out/taskflow.tgz"
  '';

  # helm lint --strict, helm template and kubernetes-validate --strict for the default values
  # and each values file. kubernetes-validate carries its schemas, so this works offline; it
  # validates against the newest Kubernetes version it bundles.
  check =
    pkgs.runCommand "taskflow-chart-check"
      {
        nativeBuildInputs = [
          tools.helm
          tools.kubernetes-validate
        ];
      }
      ''
        export HOME="$TMPDIR"
        render() {
          local label=$1
          shift
          echo "==> $label: helm lint --strict"
          helm lint --strict ${src} "$@"
          echo "==> $label: helm template | kubernetes-validate --strict"
          helm template taskflow ${src} --namespace taskflow "$@" >"$TMPDIR/rendered.yaml"
          kubernetes-validate --strict --quiet "$TMPDIR/rendered.yaml"
        }
        render "default values"
        ${lib.concatMapStrings (name: ''
          render ${lib.escapeShellArg name} -f ${src}/ci/${name}
        '') valuesFiles}
        mkdir -p "$out"
        echo "checked: default values ${toString valuesFiles}" >"$out/summary"
      '';
in
{
  inherit src package check valuesFiles;
}
