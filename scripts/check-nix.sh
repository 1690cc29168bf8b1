#!/usr/bin/env bash
#
# check-nix.sh - every check of the Nix layer that runs without nixpkgs (no `nix build`).
#
# Usage:
#   scripts/check-nix.sh
#   scripts/check-nix.sh --help
#
# Steps, each announced with "==> name"; a failing step does not stop the run:
#   nix syntax      nix-instantiate --parse on every tracked-or-new *.nix file
#   deadnix         deadnix --fail (unused bindings; its parse errors count as failures)
#   nixpkgs-fmt     nixpkgs-fmt --check (the flake's `formatter`)
#   flake.lock      scripts/check-flake-lock.sh (version 7, inputs locked, graph, pins)
#   ShellCheck      the Nix apps, the PostgreSQL entrypoint, the archive checker, these
#                   scripts and their tests
#   bats            scripts/tests/nix/*.bats: the deploy/undeploy apps with fake
#                   minikube/helm/kubectl, the PostgreSQL entrypoint against Debian's
#                   PostgreSQL, the flake evaluated with stand-in inputs, the contract
#                   rules, the image-archive checker, the flake.lock checker
# The flake.lock checker and bats add their individual results to the totals; every other
# step counts each file (syntax) or itself (the rest) as one check. The last line is
# "N passed, N failed"; the exit status is 0 only if nothing failed.
#
# Needs: nix-instantiate (Debian: apt-get install nix-bin), deadnix and nixpkgs-fmt
# (cargo install --locked deadnix@1.3.1 nixpkgs-fmt@1.3.0), jq, shellcheck, bats, and
# PostgreSQL's server binaries with util-linux for the entrypoint tests
# (apt-get install jq shellcheck bats postgresql util-linux).

set -euo pipefail

prog=${0##*/}

case "${1-}" in
    -h | --help)
        sed -n '3,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    "") ;;
    *)
        echo "$prog: unknown argument: $1 (see --help)" >&2
        exit 2
        ;;
esac

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

passed=0
failed=0
names=()
results=()

# record NAME PASSED FAILED
record() {
    names+=("$1")
    passed=$((passed + $2))
    failed=$((failed + $3))
    if (($3 == 0)); then
        results+=("pass ($2 passed)")
    else
        results+=("FAIL ($2 passed, $3 failed)")
    fi
}

# need TOOL HOW-TO-INSTALL: true if the tool is there, else a message.
need() {
    if command -v "$1" >/dev/null; then
        return 0
    fi
    echo "$prog: $1 not found; install it: $2" >&2
    return 1
}

# Every .nix file of the repository (tracked or not yet added), without build outputs.
mapfile -t nix_files < <(
    find . \( -name .git -o -name target -o -name node_modules -o -name result \) -prune -o \
        -type f -name '*.nix' -print | sed 's|^\./||' | sort
)

echo "==> nix syntax (${#nix_files[@]} files)"
if need nix-instantiate "apt-get install nix-bin"; then
    ok=0 bad=0
    for file in "${nix_files[@]}"; do
        if nix-instantiate --parse "$file" >/dev/null; then
            ok=$((ok + 1))
        else
            echo "not ok - $file does not parse"
            bad=$((bad + 1))
        fi
    done
    echo "$ok of ${#nix_files[@]} files parse"
    record "nix syntax" "$ok" "$bad"
else
    record "nix syntax" 0 1
fi

echo
echo "==> deadnix"
if need deadnix "cargo install --locked deadnix@1.3.1"; then
    # deadnix exits 0 on a file it cannot parse, so its error output counts too.
    status=0
    output=$(deadnix --fail "${nix_files[@]}" 2>&1) || status=$?
    printf '%s\n' "$output"
    if ((status == 0)) && ! grep -q 'Error' <<<"$output"; then
        echo "no unused bindings"
        record deadnix 1 0
    else
        record deadnix 0 1
    fi
else
    record deadnix 0 1
fi

echo
echo "==> nixpkgs-fmt"
if need nixpkgs-fmt "cargo install --locked nixpkgs-fmt@1.3.0"; then
    if nixpkgs-fmt --check "${nix_files[@]}"; then
        record nixpkgs-fmt 1 0
    else
        echo "$prog: run 'nixpkgs-fmt ${nix_files[*]}' (or 'nix fmt') to format them" >&2
        record nixpkgs-fmt 0 1
    fi
else
    record nixpkgs-fmt 0 1
fi

# run_counted NAME COMMAND...: runs a command whose last line is "N passed, N failed".
run_counted() {
    local name=$1 log status=0
    shift
    log=$(mktemp)
    "$@" 2>&1 | tee "$log" || status=$?
    local last
    last=$(tail -n 1 "$log")
    rm -f -- "$log"
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        local p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
        if ((status != 0 && f == 0)); then
            f=1
        fi
        record "$name" "$p" "$f"
    else
        record "$name" 0 1
    fi
}

echo
echo "==> flake.lock"
run_counted flake.lock scripts/check-flake-lock.sh

echo
echo "==> shellcheck"
mapfile -t shell_files < <(
    {
        find nix -type f -name '*.sh'
        printf '%s\n' scripts/check-nix.sh scripts/check-flake-lock.sh scripts/image-test.sh
        find scripts/tests/nix -type f \( -name '*.bats' -o -name '*.bash' \)
    } | sort
)
if need shellcheck "apt-get install shellcheck"; then
    printf '%s\n' "${shell_files[@]}"
    if shellcheck "${shell_files[@]}"; then
        record shellcheck 1 0
    else
        record shellcheck 0 1
    fi
else
    record shellcheck 0 1
fi

# bats_counted: bats --tap, turned into "N passed, N failed".
bats_counted() {
    local log status=0
    log=$(mktemp)
    bats --tap scripts/tests/nix/ 2>&1 | tee "$log" || status=$?
    local p f
    p=$(grep -cE '^ok ' "$log" || true)
    f=$(grep -cE '^not ok ' "$log" || true)
    rm -f -- "$log"
    if ((status != 0 && f == 0)); then
        f=1
    fi
    echo "$p passed, $f failed"
    ((f == 0))
}

echo
echo "==> bats (scripts/tests/nix)"
if need bats "apt-get install bats"; then
    run_counted bats bats_counted
else
    record bats 0 1
fi

echo
echo "==> summary"
for i in "${!names[@]}"; do
    printf '%-14s %s\n' "${names[$i]}" "${results[$i]}"
done
echo "$passed passed, $failed failed"
((failed == 0))
