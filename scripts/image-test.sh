#!/usr/bin/env bash
#
# image-test.sh - prove the image path without Nix: build the static binaries, assemble an
# OCI image per service from nix/contract.json (as nix/images.nix does), validate it, and
# run it with podman the way Kubernetes runs the chart's pods.
#
# Usage:
#   scripts/image-test.sh [--no-build] [--keep]
#   scripts/image-test.sh --help
#
# For each service (backend, frontend):
#   1. assemble with umoci: /bin/<binary> (the static musl build), the CA bundle at
#      /etc/ssl/certs/ca-certificates.crt (copied from the host, Debian's path), /etc/passwd
#      and /etc/group with the service user, /tmp (1777); configuration from contract.json:
#      Entrypoint ["/bin/<binary>"], Cmd = args, User "<uid>:<gid>", Env (+ SSL_CERT_FILE),
#      ExposedPorts, labels (+ title and version); one layer, no shell;
#   2. validate: oci-image-tool validate, then nix/checks/image-archive.sh on the
#      docker-archive (the same rules the flake's `images` check applies to the Nix images);
#      uncompressed size below IMAGE_SIZE_LIMIT_MB (20), layer count printed;
#   3. run with podman (runtime runc) --read-only --user <uid>:<gid> --cap-drop=ALL
#      --security-opt no-new-privileges --network host, listening on 127.0.0.1 only, the
#      backend with a DATABASE_URL that points nowhere: the liveness path answers 200, the
#      process runs as the uid with no capabilities, no_new_privs and a read-only root; no
#      shell can be started in the image; SIGTERM makes it exit 0 within 2 seconds.
# Ends with "N passed, N failed"; exit status 0 only if nothing failed.
#
# Options:
#   --no-build  use the binaries already in $CARGO_TARGET_DIR (skip cargo build)
#   --keep      keep the work directory (OCI layout, archives, logs) and print its path
#
# Environment:
#   CARGO_TARGET_DIR     cargo's build directory (default:
#                        ${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target)
#   CA_BUNDLE            CA certificates to copy (default: /etc/ssl/certs/ca-certificates.crt)
#   IMAGE_SIZE_LIMIT_MB  largest allowed uncompressed image (default: 20)
#
# podman runs with a generated containers.conf: runtime runc (crun fails on hosts with
# hybrid cgroups), cgroupfs, and ulimits no higher than the host's hard limits (podman's
# default open-files limit can exceed what even root may set in a container host). Run as
# root.
#
# Needs: cargo with the musl target, musl-tools, readelf, umoci, skopeo, oci-image-tool,
# podman, runc, jq, curl, GNU tar, gzip. Debian:
#   apt-get install umoci skopeo oci-image-tool podman runc jq curl binutils musl-tools

set -euo pipefail

prog=${0##*/}

usage() {
    sed -n '3,44s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

build=1
keep=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --no-build) build=0 ;;
        --keep) keep=1 ;;
        *)
            echo "$prog: unknown option: $1 (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
contract=$root/nix/contract.json
archive_check=$root/nix/checks/image-archive.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target}"
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
size_limit_mb=${IMAGE_SIZE_LIMIT_MB:-20}
# The path dockerTools.caCertificates uses in the Nix images (nix/images.nix); a test
# checks that both files name the same path.
image_ca_path=/etc/ssl/certs/ca-certificates.crt

case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *)
        echo "$prog: unsupported machine $(uname -m)" >&2
        exit 1
        ;;
esac
musl_target=$(uname -m)-unknown-linux-musl

missing=()
for tool in jq umoci skopeo oci-image-tool podman runc curl tar gzip readelf; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((build)) && ! command -v cargo >/dev/null; then
    missing+=(cargo)
fi
if ((${#missing[@]})); then
    echo "$prog: missing tools: ${missing[*]}" >&2
    echo "$prog: install them, e.g. apt-get install umoci skopeo oci-image-tool podman runc jq curl binutils (cargo: https://rustup.rs)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
if [[ ! -r $ca_bundle ]]; then
    echo "$prog: CA bundle $ca_bundle not found; install ca-certificates or set CA_BUNDLE" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-image-test.XXXXXXXX")
containers=()
images=()
cleanup() {
    local name
    for name in "${containers[@]}"; do
        podman rm --force --time 0 "$name" >/dev/null 2>&1 || true
    done
    for name in "${images[@]}"; do
        podman rmi --force "$name" >/dev/null 2>&1 || true
    done
    if ((keep)); then
        echo "work directory kept: $work"
    else
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT

# podman settings that work on this kind of machine (runc; ulimits root may set).
hard_nofile=$(ulimit -Hn)
[[ $hard_nofile == unlimited ]] && hard_nofile=1048576
nofile=$((hard_nofile < 4096 ? hard_nofile : 4096))
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$work/containers.conf

passed=0
failed=0
summary=()

pass() {
    echo "ok - $*"
    passed=$((passed + 1))
}

flunk() {
    echo "not ok - $*"
    failed=$((failed + 1))
}

# check DESCRIPTION COMMAND...
check() {
    local description=$1
    shift
    if "$@"; then
        pass "$description"
    else
        flunk "$description"
    fi
}

# A loopback port nothing listens on.
free_port() {
    local port
    for _ in {1..100}; do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

is_static() {
    local headers
    headers=$(readelf -lW "$1") || return 1
    ! grep -q INTERP <<<"$headers" && ! readelf -dW "$1" | grep -q '(NEEDED)'
}

# --- Build -------------------------------------------------------------------------------
echo "==> static musl binaries ($musl_target)"
# The services are the contract's images with a binary; each binary is the cargo package
# of the same name (design.md section 2).
mapfile -t services < <(jq -r '.images | to_entries[] | select(.value.binary) | .key' "$contract")
package_args=()
for component in "${services[@]}"; do
    package_args+=(-p "$(jq -r --arg c "$component" '.images[$c].binary' "$contract")")
done
if ((build)); then
    check "cargo build --release --locked --target $musl_target ${package_args[*]}" \
        cargo build --release --locked --target "$musl_target" "${package_args[@]}"
fi

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
uid=$(jq -r '.user.uid' "$contract")
gid=$(jq -r '.user.gid' "$contract")
layout=$work/oci
umoci init --layout "$layout"

# --- One service -------------------------------------------------------------------------
test_service() {
    local component=$1
    local spec name binary port liveness bin
    spec=$(jq -c --arg c "$component" '.images[$c]' "$contract")
    name=$(jq -r '.name' <<<"$spec")
    binary=$(jq -r '.binary' <<<"$spec")
    port=$(jq -r '.port' <<<"$spec")
    liveness=$(jq -r '.liveness' <<<"$spec")
    bin=$CARGO_TARGET_DIR/$musl_target/release/$binary

    echo
    echo "==> $component ($name)"
    if [[ ! -x $bin ]]; then
        flunk "$component: binary $bin exists (build it, or drop --no-build)"
        return
    fi
    check "$component: $binary is statically linked" is_static "$bin"

    # 1. Assemble.
    local ref=$layout:$component bundle=$work/bundle-$component
    local assemble_log=$work/assemble-$component.log
    if ! assemble "$component" "$spec" "$bin" "$ref" "$bundle" >"$assemble_log" 2>&1; then
        cat "$assemble_log"
        flunk "$component: assemble the OCI image with umoci"
        return
    fi
    pass "$component: assemble the OCI image with umoci"

    # 2. Validate.
    if oci-image-tool validate --type image --ref "name=$component" "$layout" \
        >"$work/validate-$component.log" 2>&1; then
        pass "$component: oci-image-tool validate"
    else
        sed 's/^/#   /' "$work/validate-$component.log"
        flunk "$component: oci-image-tool validate"
    fi
    local digest tag archive
    digest=$(skopeo inspect "oci:$ref" | jq -r '.Digest')
    tag=${digest#sha256:}
    tag=${tag:0:32}
    archive=$work/$component.tar
    if ! skopeo copy --quiet "oci:$ref" "docker-archive:$archive:$name:$tag" >/dev/null; then
        flunk "$component: skopeo copy to a docker-archive"
        return
    fi
    local checker_output status=0
    checker_output=$(bash "$archive_check" --contract "$contract" --version "$version" \
        --tag "$tag" "$component" "$archive") || status=$?
    printf '%s\n' "$checker_output" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
    local counts
    counts=$(tail -n 1 <<<"$checker_output")
    if [[ $counts =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    fi
    ((status == 0)) || [[ $counts =~ [1-9][0-9]*\ failed$ ]] || flunk "$component: image-archive.sh ran"

    local bytes size layers
    bytes=$(stat -c %s "$archive")
    size=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
    layers=$(tar -xOf "$archive" manifest.json | jq '.[0].Layers | length')
    check "$component: uncompressed image $size MB < $size_limit_mb MB" \
        test "$bytes" -lt $((size_limit_mb * 1048576))
    summary+=("$name: $size MB uncompressed, $layers layer(s), tag $tag")

    # 3. Run.
    local image
    if ! image=$(podman load --quiet --input "$archive" | sed -n 's/^Loaded image[^:]*: //p' | tail -n 1) || [[ -z $image ]]; then
        flunk "$component: podman load"
        return
    fi
    images+=("$image")
    pass "$component: podman load ($image)"
    run_container "$component" "$image" "$port" "$liveness" "$spec"
}

# assemble COMPONENT SPEC BINARY REF BUNDLE: the image at REF in the layout.
assemble() {
    local component=$1 spec=$2 bin=$3 ref=$4 bundle=$5
    local binary rootfs
    binary=$(jq -r '.binary' <<<"$spec")
    umoci new --image "$ref"
    umoci unpack --image "$ref" "$bundle"
    rootfs=$bundle/rootfs
    install -D -m 0555 "$bin" "$rootfs/bin/$binary"
    install -D -m 0444 "$ca_bundle" "$rootfs$image_ca_path"
    mkdir -p "$rootfs/etc" "$rootfs/var/empty"
    printf '%s\n' \
        "root:x:0:0:root:/var/empty:/bin/false" \
        "nobody:x:65534:65534:nobody:/var/empty:/bin/false" \
        "taskflow:x:$uid:$gid:TaskFlow:/var/empty:/bin/false" >"$rootfs/etc/passwd"
    printf '%s\n' "root:x:0:" "nogroup:x:65534:" "taskflow:x:$gid:" >"$rootfs/etc/group"
    echo "hosts: files dns" >"$rootfs/etc/nsswitch.conf"
    mkdir -m 1777 "$rootfs/tmp"
    umoci repack --image "$ref" "$bundle"

    local -a config=(
        --clear=config.env --clear=config.entrypoint --clear=config.cmd
        --clear=config.exposedports --clear=config.labels
        --os linux --architecture "$arch"
        --config.user "$uid:$gid"
        --config.entrypoint "/bin/$binary"
        --config.exposedports "$(jq -r '.port' <<<"$spec")/tcp"
        --config.env "SSL_CERT_FILE=$image_ca_path"
        --config.label "org.opencontainers.image.title=$(jq -r '.name' <<<"$spec")"
        --config.label "org.opencontainers.image.version=$version"
    )
    local item
    while IFS= read -r item; do
        config+=(--config.cmd "$item")
    done < <(jq -r '.args[]' <<<"$spec")
    while IFS= read -r item; do
        config+=(--config.env "$item")
    done < <(jq -r '.env | to_entries[] | "\(.key)=\(.value)"' <<<"$spec")
    while IFS= read -r item; do
        config+=(--config.label "$item")
    done < <(jq -r '.labels | to_entries[] | "\(.key)=\(.value)"' "$contract")
    umoci config --image "$ref" "${config[@]}"
    umoci gc --layout "${ref%:*}"
}

# run_container COMPONENT IMAGE PORT LIVENESS SPEC
run_container() {
    local component=$1 image=$2 contract_port=$3 liveness=$4
    local port cname=taskflow-image-test-$component-$$
    port=$(free_port) || {
        flunk "$component: find a free loopback port"
        return
    }
    local -a env=(-e HTTP_HOST=127.0.0.1 -e "HTTP_PORT=$port")
    case $component in
        backend)
            local dead_port
            dead_port=$(free_port)
            env+=(
                -e "DATABASE_URL=postgres://taskflow:unused@127.0.0.1:$dead_port/taskflow"
                -e "JWT_SECRET=$(printf '%064d' 0 | tr 0 a)"
            )
            ;;
        frontend)
            env+=(
                -e "BACKEND_URL=http://127.0.0.1:$(free_port)"
                -e "PUBLIC_ORIGIN=http://127.0.0.1:$port"
            )
            ;;
    esac
    echo "# $component: listening on 127.0.0.1:$port (the image's default port is $contract_port)"

    containers+=("$cname")
    if ! podman run --detach --pull=never --name "$cname" --runtime runc \
        --read-only --user "$uid:$gid" --cap-drop=ALL --security-opt no-new-privileges \
        --network host "${env[@]}" "$image" >"$work/run-$component.log" 2>&1; then
        cat "$work/run-$component.log"
        flunk "$component: podman run --read-only --user $uid:$gid --cap-drop=ALL"
        return
    fi
    pass "$component: podman run --read-only --user $uid:$gid --cap-drop=ALL --security-opt no-new-privileges"

    local url=http://127.0.0.1:$port$liveness ok=0
    for _ in {1..100}; do
        if curl -fsS --max-time 1 "$url" >/dev/null 2>&1; then
            ok=1
            break
        fi
        sleep 0.1
    done
    if ((ok)); then
        pass "$component: GET $liveness answers 200"
    else
        flunk "$component: GET $liveness answers 200 (within 10 s)"
        podman logs "$cname" 2>&1 | tail -n 20 | sed 's/^/#   /'
    fi

    local pid status_file
    pid=$(podman inspect --format '{{.State.Pid}}' "$cname")
    status_file=/proc/$pid/status
    check "$component: the process runs as uid $uid, gid $gid" \
        grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}\$" "$status_file"
    check "$component: the process has no capabilities" \
        grep -Eq '^CapEff:[[:space:]]+0+$' "$status_file"
    check "$component: no_new_privs is set" grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$status_file"
    check "$component: the root filesystem is read-only" root_is_read_only "$pid"
    check "$component: the image has no shell" no_shell "$image"

    local start end elapsed_ms code
    start=$(date +%s%N)
    podman kill --signal TERM "$cname" >/dev/null
    code=$(timeout 10 podman wait "$cname" 2>/dev/null) || code=timeout
    end=$(date +%s%N)
    elapsed_ms=$(((end - start) / 1000000))
    if [[ $code == 0 ]] && ((elapsed_ms <= 2000)); then
        pass "$component: SIGTERM: exit 0 after ${elapsed_ms} ms"
    else
        flunk "$component: SIGTERM: exit 0 within 2000 ms (got exit '$code' after ${elapsed_ms} ms)"
        podman logs "$cname" 2>&1 | tail -n 20 | sed 's/^/#   /'
    fi
}

root_is_read_only() {
    local options
    options=$(awk '$5 == "/" { print $6 }' "/proc/$1/mountinfo")
    [[ ,$options, == *,ro,* ]]
}

no_shell() {
    local shell
    for shell in /bin/sh /bin/bash /bin/busybox; do
        if podman run --rm --pull=never --runtime runc --entrypoint "$shell" "$1" -c true \
            >/dev/null 2>&1; then
            echo "# $1 runs $shell" >&2
            return 1
        fi
    done
}

for component in "${services[@]}"; do
    test_service "$component"
done

echo
echo "==> summary"
for line in "${summary[@]}"; do
    echo "$line"
done
echo "$passed passed, $failed failed"
((failed == 0))
