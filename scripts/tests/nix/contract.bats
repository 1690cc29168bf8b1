#!/usr/bin/env bats
#
# nix/contract.json is the one source of the values the Nix images, the chart and the CI
# image test share. These tests check that nix/images.nix, scripts/image-test.sh and the
# PostgreSQL entrypoint read those values from it instead of repeating them, and that the
# few values outside it (the CA bundle path, PGDATA's default) agree between the files.
# (flake-eval.bats checks the evaluated image configurations against the contract too.)
#
# Single-quoted patterns are searched for literally, ${...} included.
# shellcheck disable=SC2016

setup() {
    root="$BATS_TEST_DIRNAME/../../.."
    contract="$root/nix/contract.json"
    images_nix="$root/nix/images.nix"
    image_test="$root/scripts/image-test.sh"
    entrypoint="$root/nix/postgres/entrypoint.sh"
}

# Fails, naming the value, if FILE contains it as a literal: quoted as a string, or as a
# bare number. Comments (from "#" to the end of a line) are ignored.
assert_no_literals() {
    local file=$1 value code found=0
    code=$(sed 's/[[:space:]]#.*$//; s/^#.*$//' "$file")
    while IFS= read -r value; do
        [[ -n $value ]] || continue
        if [[ $value =~ ^[0-9]+$ ]]; then
            if grep -Eq "(^|[^0-9A-Za-z_.])$value([^0-9A-Za-z_]|\$)" <<<"$code"; then
                echo "$file repeats the contract value $value" >&2
                found=1
            fi
        elif grep -Fq -- "\"$value\"" <<<"$code" || grep -Fq -- "'$value'" <<<"$code"; then
            echo "$file repeats the contract value \"$value\"" >&2
            found=1
        fi
    done < <(jq -r '[(.user, .labels, .images) | .. | scalars] + (.labels | keys) | unique[] | tostring' "$contract")
    return "$found"
}

@test "the contract has the values the images need" {
    jq -e '
        (.user.uid | type == "number") and (.user.gid | type == "number")
        and (.labels | type == "object")
        and ([.images.backend, .images.frontend] | all(.name and .binary and (.args | type == "array") and .port and .liveness and (.env | type == "object")))
        and (.images.postgres | .name and .port and .stopSignal and .pgdata and (.env | type == "object"))' \
        "$contract" >/dev/null
}

@test "nix/images.nix reads the contract and repeats none of its values" {
    grep -Fq 'builtins.fromJSON (builtins.readFile ./contract.json)' "$images_nix"
    assert_no_literals "$images_nix"
}

@test "nix/images.nix takes every image setting from the contract" {
    local access
    for access in 'contract.user.uid' 'contract.user.gid' 'contract.labels' \
        'contract.images.${key}' 'contract.images.postgres' \
        'inherit (image) name' 'image.binary' 'image.args' 'image.port' 'image.env' \
        'inherit (pg) name' 'pg.env' 'pg.port' 'pg.stopSignal'; do
        if ! grep -Fq -- "$access" "$images_nix"; then
            echo "nix/images.nix does not read $access" >&2
            return 1
        fi
    done
}

@test "scripts/image-test.sh reads the contract and repeats none of its values" {
    grep -Fq 'contract=$root/nix/contract.json' "$image_test"
    assert_no_literals "$image_test"
    local key
    for key in '.user.uid' '.user.gid' '.binary' '.args[]' '.port' '.liveness' '.env | to_entries[]' '.labels | to_entries[]' '.name'; do
        if ! grep -Fq -- "$key" "$image_test"; then
            echo "scripts/image-test.sh does not read $key from the contract" >&2
            return 1
        fi
    done
}

@test "the archive checker reads the contract and repeats none of its values" {
    assert_no_literals "$root/nix/checks/image-archive.sh"
}

@test "the deploy app repeats none of the contract's values" {
    assert_no_literals "$root/nix/apps/deploy.sh"
    assert_no_literals "$root/nix/apps.nix"
}

@test "the CA bundle path is the same in nix/images.nix and scripts/image-test.sh" {
    local nix_path script_path
    nix_path=$(sed -n 's/^ *caBundle = "\(.*\)";$/\1/p' "$images_nix")
    script_path=$(sed -n 's/^image_ca_path=\(.*\)$/\1/p' "$image_test")
    [ -n "$nix_path" ]
    [ "$nix_path" = "$script_path" ]
}

@test "the entrypoint's default PGDATA is the contract's" {
    local default
    default=$(sed -n 's/^export PGDATA=\${PGDATA:-\(.*\)}$/\1/p' "$entrypoint")
    [ -n "$default" ]
    [ "$default" = "$(jq -r '.images.postgres.pgdata' "$contract")" ]
    [ "$default" = "$(jq -r '.images.postgres.env.PGDATA' "$contract")" ]
}

@test "a literal contract value is caught (the check itself works)" {
    local fake="$BATS_TEST_TMPDIR/images.nix"
    printf '{ name = "%s"; }\n' "$(jq -r '.images.backend.name' "$contract")" >"$fake"
    ! assert_no_literals "$fake" 2>/dev/null || false
    printf '{ port = %s; }\n' "$(jq -r '.images.frontend.port' "$contract")" >"$fake"
    ! assert_no_literals "$fake" 2>/dev/null || false
    printf '{ x = "%s"; } # %s\n' "unrelated" "$(jq -r '.images.backend.name' "$contract")" >"$fake"
    assert_no_literals "$fake"
}
