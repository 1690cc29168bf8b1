# Shared setup of the chart's bats tests: renders the chart with helm and turns the
# result into JSON, so that tests can ask jq about it.
# shellcheck shell=bash
# The variables below are used by the test files that load this one.
# shellcheck disable=SC2034

chart_dir=$(cd -- "$BATS_TEST_DIRNAME/.." && pwd)
repo_root=$(cd -- "$chart_dir/.." && pwd)
contract=$repo_root/nix/contract.json

# render OUT.json [helm template arguments...]: renders release "taskflow" in namespace
# "taskflow" (unless the arguments name others) into a JSON array of objects.
# Fails, printing helm's error, if the chart does not render.
render() {
    local out=$1
    shift
    local yaml=${out%.json}.yaml
    helm template taskflow "$chart_dir" --namespace taskflow "$@" >"$yaml" || return 1
    yq -s 'map(select(. != null))' "$yaml" >"$out"
}

# render_release OUT.json RELEASE [helm template arguments...]
render_release() {
    local out=$1 release=$2
    shift 2
    local yaml=${out%.json}.yaml
    helm template "$release" "$chart_dir" --namespace taskflow "$@" >"$yaml" || return 1
    yq -s 'map(select(. != null))' "$yaml" >"$out"
}

# q FILE FILTER [jq options...]: jq -r over a rendering.
q() {
    local file=$1 filter=$2
    shift 2
    jq -r "$@" "$filter" "$file"
}

# Every pod template of a rendering as {kind, name, spec}.
pods_filter='(.[] | select(.kind == "Deployment" or .kind == "StatefulSet") | {kind, name: .metadata.name, labels: .spec.template.metadata.labels, annotations: (.spec.template.metadata.annotations // {}), spec: .spec.template.spec}),
             (.[] | select(.kind == "Pod") | {kind, name: .metadata.name, labels: .metadata.labels, annotations: (.metadata.annotations // {}), spec: .spec})'

# fail_with MESSAGE: prints MESSAGE and fails the test.
fail_with() {
    echo "$*" >&2
    return 1
}
