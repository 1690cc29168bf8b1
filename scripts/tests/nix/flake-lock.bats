#!/usr/bin/env bats
#
# Tests of scripts/check-flake-lock.sh: the repository's flake.lock passes, and every kind
# of mistake in a copy of it (or of flake.nix, or of the pins) is reported.
#
# The jq programs are in single quotes on purpose: $names are jq variables.
# shellcheck disable=SC2016

setup() {
    root="$BATS_TEST_DIRNAME/../../.."
    checker="$root/scripts/check-flake-lock.sh"
    f=$BATS_TEST_TMPDIR/flake
    mkdir -p "$f/nix"
    cp "$root/flake.nix" "$root/flake.lock" "$f/"
    cp "$root/nix/pins.json" "$f/nix/"
}

# edit_lock JQ_PROGRAM: rewrites the copy of flake.lock.
edit_lock() {
    jq "$1" "$f/flake.lock" >"$f/flake.lock.new" && mv "$f/flake.lock.new" "$f/flake.lock"
}

edit_pins() {
    jq "$1" "$f/nix/pins.json" >"$f/pins.new" && mv "$f/pins.new" "$f/nix/pins.json"
}

check_copy() {
    run "$checker" --flake "$f"
}

# expect_failure TEXT: the check failed, reporting TEXT as "not ok".
expect_failure() {
    if [ "$status" -ne 1 ]; then
        echo "expected status 1, got $status; output:" >&2
        echo "$output" >&2
        return 1
    fi
    if [[ $output != *"not ok - $1"* ]]; then
        echo "expected 'not ok - $1' in:" >&2
        echo "$output" >&2
        return 1
    fi
    [[ ${lines[${#lines[@]} - 1]} =~ ^[0-9]+\ passed,\ [1-9][0-9]*\ failed$ ]]
}

@test "--help describes how the inputs are read" {
    run "$checker" --help
    [ "$status" -eq 0 ]
    [[ $output == *"nix-instantiate --eval --strict --json"* ]]
}

@test "the repository's flake.lock passes every check" {
    run "$checker"
    [ "$status" -eq 0 ]
    [[ $output != *"not ok"* ]]
    [[ ${lines[${#lines[@]} - 1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
}

@test "the pins are the verified revisions (nixos-26.05, crane and rust-overlay as crane's CI tests them)" {
    local pins="$root/nix/pins.json"
    [ "$(jq -r '.inputs.nixpkgs.rev' "$pins")" = 531670d871c0e29724a02f3cbcac170adc65b58c ]
    [ "$(jq -r '.inputs.nixpkgs.narHash' "$pins")" = "sha256-ODZkEK9Gy50yg6h98u7KkitZ3oc/uuTFK00bh1CRdNA=" ]
    [ "$(jq -r '.inputs.nixpkgs.lastModified' "$pins")" = 1785734586 ]
    [ "$(jq -r '.inputs.crane.rev' "$pins")" = b8d87f76ea4e4b6f30f2e6eaf3fbb60ff7d87167 ]
    [ "$(jq -r '.inputs.crane.narHash' "$pins")" = "sha256-H++/2dMt+5+tErKU+t5z6c4Xedvj9w+UPQYrpygwIPw=" ]
    [ "$(jq -r '.inputs.crane.lastModified' "$pins")" = 1785631643 ]
    [ "$(jq -r '.inputs["rust-overlay"].rev' "$pins")" = 292249772330735cb32b90dedf44feddec40e7d0 ]
    [ "$(jq -r '.inputs["rust-overlay"].narHash' "$pins")" = "sha256-DauSP0ACycrq3MEEmDz/Scsxhs9TPBTexwKbTuE8Bw8=" ]
    [ "$(jq -r '.inputs["rust-overlay"].lastModified' "$pins")" = 1785736145 ]
}

@test "not JSON" {
    echo '{ "nodes": ' >"$f/flake.lock"
    check_copy
    expect_failure "flake.lock: valid JSON"
}

@test "wrong lock version" {
    edit_lock '.version = 6'
    check_copy
    expect_failure "flake.lock: version 7"
}

@test "an input of flake.nix that is not locked" {
    sed -i 's|^  inputs = {$|  inputs = {\n    extra.url = "github:numtide/flake-utils";|' "$f/flake.nix"
    check_copy
    expect_failure "flake.lock: the root node's inputs are exactly flake.nix's inputs"
    [[ $output == *"not ok - extra: the root node maps it to a node name"* ]]
}

@test "an argument of outputs that is no input" {
    sed -i 's|{ nixpkgs, crane, rust-overlay, ... }:|{ nixpkgs, crane, rust-overlay, flake-utils, ... }:|' "$f/flake.nix"
    grep -q flake-utils "$f/flake.nix"
    check_copy
    expect_failure "flake.nix: every argument of outputs is an input (or self)"
}

@test "original differs from the URL (ref)" {
    edit_lock '.nodes.nixpkgs.original.ref = "nixos-25.11"'
    check_copy
    expect_failure "nixpkgs: original equals the URL github:NixOS/nixpkgs/nixos-26.05"
}

@test "owner spelt differently" {
    edit_lock '.nodes.nixpkgs.original.owner = "nixos"'
    check_copy
    expect_failure "nixpkgs: original equals the URL"
}

@test "a malformed narHash or rev" {
    edit_lock '.nodes.crane.locked.narHash = "sha256-short="'
    check_copy
    expect_failure "crane: locked is github ipetkov/crane with rev, narHash and lastModified"
    cp "$root/flake.lock" "$f/"
    edit_lock '.nodes.crane.locked.rev = "b8d87f76"'
    check_copy
    expect_failure "crane: locked is github ipetkov/crane"
}

@test "a pin that differs from the verified one" {
    edit_lock '.nodes["rust-overlay"].locked.lastModified = 1785736146'
    check_copy
    expect_failure "rust-overlay: rev, narHash, lastModified and original equal the verified pins"
}

@test "a follows that is not recorded in the lock" {
    edit_lock '.nodes["rust-overlay"].inputs.nixpkgs = "nixpkgs"'
    check_copy
    expect_failure 'rust-overlay: inputs.nixpkgs follows "nixpkgs" in the lock'
}

@test "a follows path that leads nowhere" {
    edit_lock '.nodes["rust-overlay"].inputs.nixpkgs = ["nosuch"]'
    check_copy
    expect_failure "graph: every node reference and follows path resolves to an existing node"
}

@test "a node nothing refers to" {
    edit_lock '.nodes.orphan = .nodes.crane'
    check_copy
    expect_failure "graph: every node is reachable from the root"
}

@test "a node's own inputs differ from the verified ones (e.g. a missing nixpkgs of rust-overlay)" {
    edit_lock 'del(.nodes["rust-overlay"].inputs)'
    check_copy
    expect_failure "rust-overlay: the node's inputs equal the verified ones"
}

@test "pins that name other inputs than flake.nix" {
    edit_pins '.inputs.extra = .inputs.crane'
    check_copy
    expect_failure "pins.json: names exactly the inputs of flake.nix"
}

@test "an unsupported URL form is reported, not guessed" {
    sed -i 's|crane.url = "github:ipetkov/crane";|crane.url = "git+https://github.com/ipetkov/crane";|' "$f/flake.nix"
    check_copy
    expect_failure "crane: URL 'git+https://github.com/ipetkov/crane' has the form github:owner/repo[/ref]"
}

@test "a flake.nix that does not evaluate" {
    echo "{ inputs = " >"$f/flake.nix"
    check_copy
    expect_failure "flake.nix: evaluate its inputs"
}
