#!/usr/bin/env bats
#
# Tests of nix/checks/image-archive.sh, the checker the flake's `images` check runs on the
# Nix-built archives (and scripts/image-test.sh on the umoci-built ones), with small
# docker-archives laid out the way dockerTools' stream script writes them: manifest.json,
# <hash>.json (the configuration) and <hash>/layer.tar per layer.
#
# The jq programs are in single quotes on purpose: $names are jq variables.
# shellcheck disable=SC2016

setup() {
    root="$BATS_TEST_DIRNAME/../../.."
    checker="$root/nix/checks/image-archive.sh"
    contract="$root/nix/contract.json"
    t=$BATS_TEST_TMPDIR
}

# config_for COMPONENT: a configuration that follows the contract, as nix/images.nix makes it.
config_for() {
    jq --arg c "$1" '
        . as $k | $k.images[$c] as $s
        | {
            architecture: "amd64", os: "linux",
            config: ({
              User: "\($k.user.uid):\($k.user.gid)",
              Env: ([$s.env | to_entries[] | "\(.key)=\(.value)"]
                    + (if $s.binary then ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"] else ["PATH=/bin"] end)),
              ExposedPorts: {("\($s.port)/tcp"): {}},
              Labels: ($k.labels + {"org.opencontainers.image.title": $s.name, "org.opencontainers.image.version": "0.1.0"})
            }
            + (if $s.binary then {Entrypoint: ["/bin/" + $s.binary], Cmd: $s.args}
               else {Entrypoint: ["/bin/taskflow-postgres-entrypoint"], StopSignal: $s.stopSignal} end))
          }' "$contract"
}

# make_archive COMPONENT OUT [JQ_EDIT] [REPO_TAG] [EXTRA_PATH]: a docker-archive at OUT whose
# configuration is config_for COMPONENT edited by JQ_EDIT (default: unchanged), tagged
# REPO_TAG (default <name>:abc123), with two layers: a store path holding the binary, and
# the top layer with /bin, /etc and /tmp (plus EXTRA_PATH, a file path, if given).
make_archive() {
    local component=$1 out=$2 edit=${3:-.} repo_tag=${4:-} extra=${5:-}
    local name dir=$t/build-$RANDOM
    name=$(jq -r --arg c "$component" '.images[$c].name' "$contract")
    repo_tag=${repo_tag:-$name:abc123}
    mkdir -p "$dir/l1/nix/store/0000-app/bin" "$dir/l2/bin" "$dir/l2/etc" "$dir/l2/tmp" "$dir/out/aaaa" "$dir/out/bbbb"
    echo binary >"$dir/l1/nix/store/0000-app/bin/app"
    ln -s /nix/store/0000-app/bin/app "$dir/l2/bin/app"
    echo "taskflow:x:10001:10001::/var/empty:/bin/false" >"$dir/l2/etc/passwd"
    if [[ -n $extra ]]; then
        mkdir -p "$dir/l2/$(dirname "$extra")"
        echo "#!" >"$dir/l2/$extra"
    fi
    tar -C "$dir/l1" -cf "$dir/out/aaaa/layer.tar" .
    tar -C "$dir/l2" -cf "$dir/out/bbbb/layer.tar" .
    config_for "$component" | jq "$edit" >"$dir/out/cccc.json"
    jq -n --arg tag "$repo_tag" \
        '[{Config: "cccc.json", RepoTags: [$tag], Layers: ["aaaa/layer.tar", "bbbb/layer.tar"]}]' \
        >"$dir/out/manifest.json"
    tar -C "$dir/out" -cf "$out" manifest.json cccc.json aaaa/layer.tar bbbb/layer.tar
}

check() {
    run bash "$checker" --contract "$contract" --version 0.1.0 "$@"
}

@test "--help and usage errors" {
    run bash "$checker" --help
    [ "$status" -eq 0 ]
    [[ $output == *"Usage:"*"COMPONENT ARCHIVE"* ]]
    run bash "$checker" backend
    [ "$status" -eq 2 ]
    [[ $output == *"expected COMPONENT and ARCHIVE"* ]]
    make_archive backend "$t/a.tar"
    run bash "$checker" --contract "$contract" nosuch "$t/a.tar"
    [ "$status" -eq 2 ]
    [[ $output == *"has no image 'nosuch'"* ]]
}

@test "a backend archive that follows the contract passes every rule" {
    make_archive backend "$t/a.tar"
    check --tag abc123 backend "$t/a.tar"
    [ "$status" -eq 0 ]
    [[ $output == *"ok - backend: tagged taskflow-backend:abc123"* ]]
    [[ $output == *"ok - backend: no shell in any layer"* ]]
    [[ $output == *"# backend: 2 layers,"* ]]
    [[ ${lines[${#lines[@]} - 1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
    [[ $output != *"not ok"* ]]
}

@test "a frontend archive and a postgres archive (which may have a shell) pass" {
    make_archive frontend "$t/f.tar"
    check frontend "$t/f.tar"
    [ "$status" -eq 0 ]
    make_archive postgres "$t/p.tar" . "" bin/sh
    check postgres "$t/p.tar"
    [ "$status" -eq 0 ]
    [[ $output == *"ok - postgres: StopSignal is SIGINT"* ]]
}

@test "skopeo's normalised docker.io/library/ tag is the same reference" {
    make_archive backend "$t/a.tar" . docker.io/library/taskflow-backend:abc123
    check --tag abc123 backend "$t/a.tar"
    [ "$status" -eq 0 ]
}

@test "a wrong tag, or latest, fails" {
    make_archive backend "$t/a.tar"
    check --tag other backend "$t/a.tar"
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - backend: tagged taskflow-backend:other"* ]]
    make_archive backend "$t/l.tar" . taskflow-backend:latest
    check backend "$t/l.tar"
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - backend: tagged taskflow-backend:<tag>, not latest"* ]]
}

@test "a named (non-numeric) user fails" {
    make_archive backend "$t/a.tar" '.config.User = "taskflow"'
    check backend "$t/a.tar"
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - backend: User is numeric 10001:10001"* ]]
}

@test "a shell in a service image fails" {
    make_archive backend "$t/a.tar" . "" bin/sh
    check backend "$t/a.tar"
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - backend: no shell in any layer"* ]]
    make_archive frontend "$t/b.tar" . "" nix/store/1111-bash-5.2/bin/bash
    check frontend "$t/b.tar"
    [ "$status" -eq 1 ]
}

@test "a missing variable, port, label, argument or entrypoint fails" {
    local edit
    for edit in '.config.Env -= ["LOG_FORMAT=json"]' '.config.ExposedPorts = {"9999/tcp": {}}' \
        '.config.Labels |= del(.["org.opencontainers.image.source"])' '.config.Cmd = []' \
        '.config.Entrypoint = ["/nix/store/x/bin/taskflow-backend"]' \
        '.config.Env -= ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]' '.os = "windows"'; do
        make_archive backend "$t/a.tar" "$edit"
        check backend "$t/a.tar"
        if [ "$status" -ne 1 ]; then
            echo "not caught: $edit" >&2
            return 1
        fi
    done
}

@test "postgres without the contract's stop signal fails" {
    make_archive postgres "$t/p.tar" 'del(.config.StopSignal)'
    check postgres "$t/p.tar"
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - postgres: StopSignal is SIGINT"* ]]
}

@test "a missing layer, or a file that is not a docker-archive, fails" {
    make_archive backend "$t/a.tar"
    mkdir "$t/x" && tar -C "$t/x" -xf "$t/a.tar" && tar -C "$t/x" -cf "$t/broken.tar" manifest.json cccc.json aaaa/layer.tar
    check backend "$t/broken.tar"
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - backend: every layer is in the archive"* ]]
    echo "not a tar" >"$t/plain.tar"
    check backend "$t/plain.tar"
    [ "$status" -eq 1 ]
    [[ $output == *"has no manifest.json (not a docker-archive)"* ]]
}
