#!/usr/bin/env bash
#
# check-flake-lock.sh - check the hand-written flake.lock against flake.nix and the verified
# pins, without Nix being able to fetch anything.
#
# Usage:
#   scripts/check-flake-lock.sh [--flake DIR] [--pins FILE]
#   scripts/check-flake-lock.sh --help
#
# How the inputs are read: `nix-instantiate --eval --strict --json` evaluates only the
# `inputs` attribute of flake.nix (and the argument names of `outputs`). That is Nix's own
# parser and evaluator on a plain attribute set: nothing is fetched, and any way of writing
# the inputs (nested sets, `inputs.x.url = ...`, comments) gives the same result. It needs
# Debian's nix-bin (any version since 2.4).
#
# Checks, one "ok"/"not ok" line each:
#   - flake.lock is JSON with "version": 7, "root": "root" and a root node;
#   - the root node's inputs are exactly flake.nix's inputs, and every argument of
#     `outputs` (other than self) is one of them;
#   - for each input (only github:owner/repo[/ref] URLs are supported): its node's
#     "original" equals the URL; "locked" has type github, the same owner and repo, a
#     40-hex rev, a sha256 SRI narHash and an integer lastModified; `flake = false` agrees;
#     every `inputs.<name>.follows` of flake.nix is a path list in the node;
#   - rev, narHash, lastModified, original and the node's own inputs equal the verified
#     values in the pins file (default nix/pins.json: the revisions crane's CI tests together),
#     and the pins file names exactly the inputs of flake.nix;
#   - every node reference resolves (a name to a node, a follows path through the graph)
#     and every node is reachable from the root.
# Ends with "N passed, N failed"; exit status 0 only if nothing failed (2: usage or a
# missing tool).

# The jq programs are in single quotes on purpose: $names are jq variables.
# The helpers below are called through `check`, which shellcheck cannot follow.
# shellcheck disable=SC2016,SC2317,SC2329

set -euo pipefail

prog=${0##*/}

usage() {
    sed -n '3,30s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
flake_dir=$root
pins=""
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --flake)
            flake_dir=${2:?--flake needs a directory}
            shift
            ;;
        --pins)
            pins=${2:?--pins needs a file}
            shift
            ;;
        *)
            echo "$prog: unknown argument: $1 (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done
pins=${pins:-$flake_dir/nix/pins.json}
flake_nix=$flake_dir/flake.nix
lock=$flake_dir/flake.lock

for tool in nix-instantiate jq; do
    if ! command -v "$tool" >/dev/null; then
        case $tool in
            nix-instantiate) hint="apt-get install nix-bin" ;;
            *) hint="apt-get install jq" ;;
        esac
        echo "$prog: $tool not found; install it ($hint)" >&2
        exit 2
    fi
done
for file in "$flake_nix" "$lock" "$pins"; do
    [[ -f $file ]] || {
        echo "$prog: $file not found" >&2
        exit 2
    }
done

passed=0
failed=0
ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}
not_ok() {
    echo "not ok - $*"
    failed=$((failed + 1))
}
# check DESCRIPTION COMMAND...
check() {
    local description=$1
    shift
    if "$@"; then
        ok "$description"
    else
        not_ok "$description"
    fi
}
finish() {
    echo "$passed passed, $failed failed"
    if ((failed > 0)); then
        exit 1
    fi
    exit 0
}

# jq_true_file FILE FILTER [jq args...]: the filter, applied to FILE, yields true.
jq_true_file() {
    local file=$1 filter=$2
    shift 2
    [[ $(jq -r "$@" "$filter" "$file" 2>/dev/null) == true ]]
}

# jq_lock FILTER [jq args...]: the same for flake.lock.
jq_lock() {
    jq_true_file "$lock" "$@"
}

# jq_true_null FILTER [jq args...]: the filter, with no input, yields true.
jq_true_null() {
    local filter=$1
    shift
    [[ $(jq -rn "$@" "$filter" 2>/dev/null) == true ]]
}

# --- flake.nix -----------------------------------------------------------------------------
nix_expr_inputs="(import $(printf '%q' "$flake_nix")).inputs"
if ! inputs=$(nix-instantiate --readonly-mode --eval --strict --json -E "$nix_expr_inputs" 2>&1); then
    not_ok "flake.nix: evaluate its inputs ($inputs)"
    finish
fi
ok "flake.nix: inputs evaluate ($(jq -r 'keys | join(", ")' <<<"$inputs"))"
output_args=$(nix-instantiate --readonly-mode --eval --strict --json \
    -E "builtins.attrNames (builtins.functionArgs (import $(printf '%q' "$flake_nix")).outputs)" 2>/dev/null || echo '[]')

# --- flake.lock structure ------------------------------------------------------------------
if ! jq -e . "$lock" >/dev/null 2>&1; then
    not_ok "flake.lock: valid JSON"
    finish
fi
ok "flake.lock: valid JSON"
check "flake.lock: version 7" jq_lock '.version == 7'
check "flake.lock: root is \"root\" and names an existing node" jq_lock '.root == "root" and (.nodes.root | type) == "object"'
check "flake.lock: the root node's inputs are exactly flake.nix's inputs" \
    jq_lock '(.nodes[.root].inputs // {} | keys) == ($inputs | keys)' --argjson inputs "$inputs"
check "flake.nix: every argument of outputs is an input (or self)" \
    jq_true_null '$args - ["self"] - ($inputs | keys) == []' --argjson args "$output_args" --argjson inputs "$inputs"

# --- Each input ----------------------------------------------------------------------------
while IFS= read -r name; do
    spec=$(jq -c --arg n "$name" '.[$n]' <<<"$inputs")
    url=$(jq -r '.url // ""' <<<"$spec")
    node=$(jq -r --arg n "$name" '.nodes[.root].inputs[$n] // empty | select(type == "string")' "$lock")

    if [[ -z $node ]]; then
        not_ok "$name: the root node maps it to a node name"
        continue
    fi
    if ! jq -e --arg k "$node" '.nodes | has($k)' "$lock" >/dev/null; then
        not_ok "$name: node '$node' exists"
        continue
    fi

    if [[ $url =~ ^github:([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(/([^/?#]+))?$ ]]; then
        owner=${BASH_REMATCH[1]}
        repo=${BASH_REMATCH[2]}
        ref=${BASH_REMATCH[4]}
        expected_original=$(jq -cn --arg o "$owner" --arg r "$repo" --arg ref "$ref" \
            '{type: "github", owner: $o, repo: $r} + (if $ref == "" then {} else {ref: $ref} end)')
        check "$name: original equals the URL $url" \
            jq_lock '.nodes[$k].original == $want' --arg k "$node" --argjson want "$expected_original"
        check "$name: locked is github $owner/$repo with rev, narHash and lastModified" \
            jq_lock '.nodes[$k].locked as $l
                | $l.type == "github" and $l.owner == $o and $l.repo == $r
                and ($l.rev | type == "string" and test("^[0-9a-f]{40}$"))
                and ($l.narHash | type == "string" and test("^sha256-[A-Za-z0-9+/]{43}=$"))
                and ($l.lastModified | type == "number" and . == floor and . > 0)' \
            --arg k "$node" --arg o "$owner" --arg r "$repo"
    else
        not_ok "$name: URL '$url' has the form github:owner/repo[/ref] (the only form this checker knows)"
        continue
    fi

    flake_flag=$(jq -r 'if .flake == false then "false" else "true" end' <<<"$spec")
    check "$name: flake = $flake_flag agrees with the lock" \
        jq_lock '(.nodes[$k].flake // true | tostring) == $f' --arg k "$node" --arg f "$flake_flag"

    while IFS=$'\t' read -r sub follows; do
        [[ -n $sub ]] || continue
        check "$name: inputs.$sub follows \"$follows\" in the lock" \
            jq_lock '.nodes[$k].inputs[$s] == ($f | split("/"))' --arg k "$node" --arg s "$sub" --arg f "$follows"
    done < <(jq -r '.inputs // {} | to_entries[] | select(.value.follows) | "\(.key)\t\(.value.follows)"' <<<"$spec")

    if ! jq -e --arg n "$name" '.inputs | has($n)' "$pins" >/dev/null; then
        not_ok "$name: has verified pins in $(basename "$pins")"
        continue
    fi
    pin=$(jq -c --arg n "$name" '.inputs[$n]' "$pins")
    check "$name: rev, narHash, lastModified and original equal the verified pins" \
        jq_lock '.nodes[$k] as $n
            | $n.locked.rev == $p.rev and $n.locked.narHash == $p.narHash
            and $n.locked.lastModified == $p.lastModified and $n.original == $p.original' \
        --arg k "$node" --argjson p "$pin"
    check "$name: the node's inputs equal the verified ones $(jq -c '.inputs' <<<"$pin")" \
        jq_lock '(.nodes[$k].inputs // {}) == $p.inputs' --arg k "$node" --argjson p "$pin"
done < <(jq -r 'keys[]' <<<"$inputs")

check "$(basename "$pins"): names exactly the inputs of flake.nix" \
    jq_true_file "$pins" '(.inputs | keys) == ($inputs | keys)' --argjson inputs "$inputs"

# --- Graph -------------------------------------------------------------------------------
# resolve(path): follow a `follows` path from the root, node by node.
graph_lib='
def resolve($path):
  . as $lock
  | reduce $path[] as $step ($lock.root;
      if . == null then null
      else ($lock.nodes[.].inputs[$step] // null) as $ref
        | if $ref == null then null
          elif ($ref | type) == "array" then ($ref as $p | $lock | resolve($p))
          else $ref end
      end);
def targets:
  . as $lock
  | [.nodes[] | .inputs // {} | .[]
     | if type == "array" then (. as $p | $lock | resolve($p)) else . end];
def reachable:
  . as $lock
  | def walk($seen):
      ([$seen[] as $k | $lock.nodes[$k].inputs // {} | .[]
        | if type == "array" then (. as $p | $lock | resolve($p)) else . end]
        | map(select(. != null)) | unique) as $next
      | ($seen + $next | unique) as $all
      | if $all == $seen then $seen else walk($all) end;
    walk([$lock.root]);
'
check "graph: every node reference and follows path resolves to an existing node" \
    jq_lock "$graph_lib"' . as $lock | targets | all(. as $t | $t != null and ($lock.nodes | has($t)))'
check "graph: every node is reachable from the root" \
    jq_lock "$graph_lib"' (.nodes | keys) - reachable == []'

finish
