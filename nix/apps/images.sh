#!/usr/bin/env bash
#
# images.sh - build the three images and report their size (the `images` app of the flake).
#
# Usage:
#   nix run .#images
#   nix run .#images -- --help
#
# Nix builds the image archives before the script starts (the app depends on them, as
# deploy does). Steps, each announced with "==> [n/2] ...":
#   1. check that each archive exists and can be read;
#   2. read each docker-archive without unpacking it: manifest.json names the image (which
#      must be the name:tag the flake gives it) and its layers, and the archive's listing
#      gives each layer's size. Then print a table: image name, tag, uncompressed size
#      (the layers added up, 1 MB = 1,048,576 bytes, as scripts/image-test.sh counts) and
#      number of layers.
#
# Environment (inputs, set by the Nix wrapper in nix/apps.nix):
#   TASKFLOW_{BACKEND,FRONTEND,POSTGRES}_IMAGE      image references, name:tag
#   TASKFLOW_{BACKEND,FRONTEND,POSTGRES}_IMAGE_TAR  uncompressed docker-archive files
#
# Exit status: 0 all three read; 1 an input is missing, not a file or cannot be read;
# 2 usage error; 3 tar or jq not found; 4 an archive is not a valid docker-archive (not a
# tar, truncated, no or bad manifest.json, a layer missing) or holds another image than
# the one expected.

set -euo pipefail

prog=images

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

steps=2

usage() {
    cat <<'EOF'
Usage: nix run .#images [-- --help]

Builds the three TaskFlow images (taskflow-backend, taskflow-frontend, taskflow-postgres)
and prints a table of name, tag, uncompressed size and layer count, read from the image
archives that deploy loads into Minikube.

Exit status: 0 success, 1 missing or unreadable archive, 2 usage, 3 missing tool,
4 an archive is not a valid docker-archive or holds another image.
See docs/operations.md ("Images: images").
EOF
}

case "${1-}" in
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        usage_error "unknown argument: $1"
        ;;
esac

components=(backend frontend postgres)

# --- 1. Archives -------------------------------------------------------------------------
step 1 "Checking the image archives"

need_tools tar jq

declare -A image_ref image_tar
for component in "${components[@]}"; do
    upper=${component^^}
    ref_var=TASKFLOW_${upper}_IMAGE
    tar_var=TASKFLOW_${upper}_IMAGE_TAR
    ref=${!ref_var:-}
    tar=${!tar_var:-}
    [[ $ref =~ ^[a-z0-9._/-]+:[A-Za-z0-9_.-]+$ ]] ||
        fail 1 "$ref_var must be an image reference name:tag (set by the Nix wrapper), got '$ref'"
    [[ -n $tar ]] || fail 1 "$tar_var is not set (the Nix wrapper sets it to the image archive)"
    [[ -e $tar ]] || fail 1 "$tar_var: image archive '$tar' not found"
    [[ -f $tar ]] || fail 1 "$tar_var: '$tar' is not a file"
    [[ -r $tar ]] || fail 1 "$tar_var: image archive '$tar' cannot be read (permission denied)"
    image_ref[$component]=$ref
    image_tar[$component]=$tar
    say "$component: $tar"
done

# --- 2. Contents -------------------------------------------------------------------------
step 2 "Reading names, tags and layers"

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-images.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

# corrupt COMPONENT WHAT: the archive is not what it should be.
corrupt() {
    fail 4 "${image_tar[$1]} ($1 image) is not a valid docker-archive: $2"
}

rows=()
for component in "${components[@]}"; do
    archive=${image_tar[$component]}
    # One pass over the archive: every member with its size. GNU tar's verbose listing is
    # "mode owner/group size date time name[ -> target]".
    if ! LC_ALL=C tar --list --verbose --numeric-owner --file "$archive" >"$work/listing" 2>"$work/tar.err"; then
        corrupt "$component" "tar cannot list it ($(grep -m1 . "$work/tar.err" || echo "no message"))"
    fi
    # Member names are compared without a leading "./" (tar -C dir . writes one).
    declare -A size=() link=()
    manifest_member=""
    while read -r mode _ bytes _ _ name; do
        # Regular files and symbolic links; directories and the like do not count.
        if [[ $mode == l* && $name == *" -> "* ]]; then
            target=${name#* -> }
            name=${name%% -> *}
            link[${name#./}]=${target#./}
        elif [[ $mode == -* && $bytes =~ ^[0-9]+$ ]]; then
            [[ ${name#./} == manifest.json ]] && manifest_member=$name
            size[${name#./}]=$bytes
        fi
    done <"$work/listing"

    [[ -n $manifest_member ]] || corrupt "$component" "it has no manifest.json"
    tar --extract --to-stdout --file "$archive" "$manifest_member" >"$work/manifest.json" 2>/dev/null ||
        corrupt "$component" "manifest.json cannot be read"
    if ! jq -e 'type == "array" and length == 1 and (.[0].Layers | type == "array") and (.[0].RepoTags | type == "array")' \
        "$work/manifest.json" >/dev/null 2>&1; then
        corrupt "$component" "manifest.json does not describe one image with RepoTags and Layers"
    fi

    # dockerTools writes name:tag; other tools write docker.io/library/name:tag.
    tagged=$(jq -r '.[0].RepoTags[0] // ""' "$work/manifest.json")
    tagged=${tagged#docker.io/library/}
    if [[ $tagged != "${image_ref[$component]}" ]]; then
        fail 4 "$archive holds the image '${tagged:-(untagged)}', but ${component^^} should be ${image_ref[$component]}"
    fi

    layers=0
    bytes_total=0
    while IFS= read -r layer; do
        member=${layer#./}
        [[ -n ${link[$member]:-} ]] && member=${link[$member]}
        [[ -n ${size[$member]:-} ]] || corrupt "$component" "layer $layer is listed in manifest.json but not in the archive"
        layers=$((layers + 1))
        bytes_total=$((bytes_total + size[$member]))
    done < <(jq -r '.[0].Layers[]' "$work/manifest.json")
    unset size link

    # Megabytes with one decimal, in integer arithmetic.
    tenths=$(((bytes_total * 10 + 524288) / 1048576))
    rows+=("${tagged%:*}"$'\t'"${tagged##*:}"$'\t'"$((tenths / 10)).$((tenths % 10)) MB"$'\t'"$layers")
    if ((layers == 1)); then
        say "$component: 1 layer, $bytes_total bytes"
    else
        say "$component: $layers layers, $bytes_total bytes"
    fi
done

# The table, columns as wide as their longest value.
headers=(NAME TAG SIZE LAYERS)
column_widths
print_row() {
    # Name and tag left-aligned, size and layer count right-aligned.
    printf '%-*s  %-*s  %*s  %*s\n' "${widths[0]}" "$1" "${widths[1]}" "$2" "${widths[2]}" "$3" "${widths[3]}" "$4"
}
echo
print_row "${headers[@]}"
for row in "${rows[@]}"; do
    IFS=$'\t' read -r -a cells <<<"$row"
    print_row "${cells[@]}"
done
