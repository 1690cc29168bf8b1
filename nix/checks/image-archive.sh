#!/usr/bin/env bash
#
# image-archive.sh - check an uncompressed docker-archive image against nix/contract.json.
#
# Usage:
#   nix/checks/image-archive.sh [--contract FILE] [--version V] [--tag TAG] COMPONENT ARCHIVE
#   nix/checks/image-archive.sh --help
#
# COMPONENT is a key of .images in the contract (backend, frontend, postgres). ARCHIVE is a
# docker-archive (manifest.json + config + layer tars), as written by a dockerTools stream
# script or by `skopeo copy ... docker-archive:`. Used by the `images` check of the flake
# (on the Nix-built images) and by scripts/image-test.sh (on the umoci-built ones), so both
# are held to the same rules:
#   - one image, tagged <name>:<tag> (the given tag, or any tag but "latest");
#   - every layer and the configuration present;
#   - os linux; User "<uid>:<gid>" (numeric); ExposedPorts "<port>/tcp";
#   - Env holds every contract variable with its value, and SSL_CERT_FILE for the services;
#   - services: Entrypoint ["/bin/<binary>"], Cmd = args, and no shell in any layer;
#   - Labels hold every contract label (plus title = name and, with --version, version);
#   - StopSignal equal to the contract's, where it names one.
# Prints one "ok"/"not ok" line per rule, the layer count and the size, and ends with
# "N passed, N failed". Exit status 0 if all passed, 1 otherwise, 2 on usage errors.
#
# Needs: bash, jq, GNU tar, gzip, coreutils.

# The jq programs are in single quotes on purpose: $names are jq variables. The rule
# functions are called through `result`, which shellcheck cannot follow.
# shellcheck disable=SC2016,SC2317,SC2329

set -euo pipefail

prog=${0##*/}

usage() {
    sed -n '3,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

contract=$(dirname -- "${BASH_SOURCE[0]}")/../contract.json
version=""
tag=""
args=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --contract)
            contract=${2:?--contract needs a file}
            shift
            ;;
        --version)
            version=${2:?--version needs a value}
            shift
            ;;
        --tag)
            tag=${2:?--tag needs a value}
            shift
            ;;
        -*)
            echo "$prog: unknown option: $1" >&2
            exit 2
            ;;
        *)
            args+=("$1")
            ;;
    esac
    shift
done
if [[ ${#args[@]} -ne 2 ]]; then
    echo "$prog: expected COMPONENT and ARCHIVE (see --help)" >&2
    exit 2
fi
component=${args[0]}
archive=${args[1]}

for tool in jq tar gzip; do
    command -v "$tool" >/dev/null || {
        echo "$prog: $tool not found; install it (Debian: apt-get install $tool)" >&2
        exit 2
    }
done
[[ -f $contract ]] || {
    echo "$prog: contract file $contract not found" >&2
    exit 2
}
[[ -f $archive ]] || {
    echo "$prog: archive $archive not found" >&2
    exit 2
}
spec=$(jq -ce --arg c "$component" '.images[$c]' "$contract") || {
    echo "$prog: $contract has no image '$component'" >&2
    exit 2
}

passed=0
failed=0
# result DESCRIPTION COMMAND...: runs the command, reports ok / not ok.
result() {
    local description=$1
    shift
    if "$@"; then
        echo "ok - $component: $description"
        passed=$((passed + 1))
    else
        echo "not ok - $component: $description"
        failed=$((failed + 1))
    fi
}

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

tar -xf "$archive" -C "$work" manifest.json 2>/dev/null || {
    echo "not ok - $component: $archive has no manifest.json (not a docker-archive)"
    echo "0 passed, 1 failed"
    exit 1
}
manifest=$work/manifest.json
config_name=$(jq -r '.[0].Config' "$manifest")
tar -xf "$archive" -C "$work" "$config_name" 2>/dev/null || true
config=$work/$config_name

name=$(jq -r '.name' <<<"$spec")
uid=$(jq -r '.user.uid' "$contract")
gid=$(jq -r '.user.gid' "$contract")

# jq_true FILE FILTER [jq args...]: the filter yields true.
jq_true() {
    local file=$1 filter=$2
    shift 2
    [[ $(jq -r "$@" "$filter" "$file" 2>/dev/null) == true ]]
}

result "the archive holds exactly one image" jq_true "$manifest" 'length == 1'
# dockerTools writes name:tag; skopeo writes the normalised docker.io/library/name:tag, the
# same reference.
one_tag='(.[0].RepoTags | length) == 1'
repo_tag='(.[0].RepoTags[0] // "" | sub("^docker\\.io/library/"; ""))'
if [[ -n $tag ]]; then
    result "tagged $name:$tag" jq_true "$manifest" "$one_tag and $repo_tag == \$ref" --arg ref "$name:$tag"
else
    result "tagged $name:<tag>, not latest" jq_true "$manifest" \
        "$one_tag and ($repo_tag | startswith(\$n + \":\") and . != (\$n + \":latest\"))" --arg n "$name"
fi
result "the configuration is in the archive" test -s "$config"

layers_present() {
    local layer listing
    listing=$(tar -tf "$archive")
    while IFS= read -r layer; do
        grep -Fxq -- "$layer" <<<"$listing" || return 1
    done < <(jq -r '.[0].Layers[]' "$manifest")
}
result "every layer is in the archive" layers_present
result "os is linux" jq_true "$config" '.os == "linux"'
result "User is numeric $uid:$gid" jq_true "$config" '.config.User == $u' --arg u "$uid:$gid"
result "exposes $(jq -r '.port' <<<"$spec")/tcp" jq_true "$config" \
    '.config.ExposedPorts | has(($spec.port | tostring) + "/tcp")' --argjson spec "$spec"
result "Env holds every contract variable" jq_true "$config" \
    '(.config.Env // []) as $env | [$spec.env | to_entries[] | "\(.key)=\(.value)"] - $env == []' \
    --argjson spec "$spec"
result "Labels hold every contract label" jq_true "$config" \
    '(.config.Labels // {}) as $l | [$labels | to_entries[] | $l[.key] == .value] | all' \
    --argjson labels "$(jq -c '.labels' "$contract")"
result "label org.opencontainers.image.title is $name" jq_true "$config" \
    '.config.Labels["org.opencontainers.image.title"] == $n' --arg n "$name"
if [[ -n $version ]]; then
    result "label org.opencontainers.image.version is $version" jq_true "$config" \
        '.config.Labels["org.opencontainers.image.version"] == $v' --arg v "$version"
fi
if jq -e 'has("stopSignal")' <<<"$spec" >/dev/null; then
    result "StopSignal is $(jq -r '.stopSignal' <<<"$spec")" jq_true "$config" \
        '.config.StopSignal == $spec.stopSignal' --argjson spec "$spec"
fi

# Every path in every layer, for the no-shell rule.
all_paths() {
    local layer
    while IFS= read -r layer; do
        tar -xf "$archive" -C "$work" "$layer"
        tar -tf "$work/$layer"
        rm -f -- "$work/$layer"
    done < <(jq -r '.[0].Layers[]' "$manifest")
}
no_shell() {
    ! all_paths | grep -Eq '(^|/)bin/(sh|bash|dash|ash|zsh|busybox)$'
}

if jq -e 'has("binary")' <<<"$spec" >/dev/null; then
    binary=$(jq -r '.binary' <<<"$spec")
    result "Entrypoint is [\"/bin/$binary\"]" jq_true "$config" \
        '.config.Entrypoint == ["/bin/" + $spec.binary]' --argjson spec "$spec"
    result "Cmd is the contract's args $(jq -c '.args' <<<"$spec")" jq_true "$config" \
        '.config.Cmd == $spec.args' --argjson spec "$spec"
    result "SSL_CERT_FILE is set" jq_true "$config" \
        '[(.config.Env // [])[] | select(startswith("SSL_CERT_FILE=/"))] | length == 1'
    result "no shell in any layer" no_shell
fi

layer_count=$(jq -r '.[0].Layers | length' "$manifest")
bytes=$(stat -c %s "$archive")
size=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "# $component: $layer_count layers, $size MB uncompressed ($bytes bytes)"
echo "$passed passed, $failed failed"
((failed == 0))
