#!/usr/bin/env bash
#
# rollback.sh - roll TaskFlow on Minikube back to an earlier Helm revision (the `rollback`
# app of the flake).
#
# Usage:
#   nix run .#rollback                  back to the previous good revision
#   nix run .#rollback -- REVISION      back to that revision (see `helm history`)
#   nix run .#rollback -- --help
#
# Steps, each announced with "==> [n/4] ...":
#   1. check that minikube, kubectl, helm and jq are on PATH, that the Minikube cluster
#      runs, that kubectl has its context and that the API answers;
#   2. read the release's history (helm history -o json) and choose the target: REVISION,
#      which must exist and differ from the current one, or else the newest earlier
#      revision that was deployed successfully (status superseded or deployed);
#   3. helm rollback <release> <target> --wait --timeout: the manifests, images and settings
#      of the target become a new revision, and Helm waits until its pods are ready;
#   4. show the pods and the last revisions, and say what was not rolled back.
# The database schema is not rolled back: migrations only ever add to it, and the previous
# release's backend works on the newest schema (docs/development.md, "Schema changes stay
# backward compatible"). Data written since the upgrade stays.
#
# Environment: TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE (taskflow),
# TASKFLOW_NAMESPACE (taskflow), TASKFLOW_TIMEOUT (10m), as for deploy.
#
# Exit status: 0 rolled back; 1 no such revision, or nothing to roll back to; 2 usage
# error; 3 a tool is missing; 4 the cluster is not running, kubectl has no context for it,
# or its API does not answer; 5 the release is not installed; 6 helm rollback failed;
# 7 timed out waiting for the pods.

set -euo pipefail

prog=rollback

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

steps=4

usage() {
    cat <<'EOF'
Usage: nix run .#rollback [-- REVISION | --help]

Rolls the TaskFlow release back to REVISION (a number from `helm history`), or without
it to the previous revision that was deployed successfully, and waits until its pods are
ready. The rollback becomes a new revision; run it again with a higher number to undo it.

The database is not rolled back: migrations only add to the schema, and every release's
backend runs on the schema of the next one. Data written since the upgrade is kept.

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context     (default: minikube)
  TASKFLOW_RELEASE           Helm release name                     (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                  (default: taskflow)
  TASKFLOW_TIMEOUT           how long Helm waits for the pods      (default: 10m)

Exit status: 0 success, 1 unknown revision or nothing to roll back to, 2 usage,
3 missing tool, 4 cluster not running or wrong context, 5 release not installed,
6 Helm failure, 7 timeout.
EOF
}

revision=""
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        -*)
            usage_error "unknown argument: $1"
            ;;
        *)
            if [[ -n $revision ]]; then
                usage_error "only one REVISION may be given"
            fi
            if [[ ! $1 =~ ^[1-9][0-9]*$ ]]; then
                echo "$prog: REVISION must be a revision number such as 3 (see 'helm history'), got '$1'" >&2
                exit 2
            fi
            revision=$1
            ;;
    esac
    shift
done

release_settings
timeout=${TASKFLOW_TIMEOUT:-10m}

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-rollback.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

# --- 1. Tools and cluster ------------------------------------------------------------------
step 1 "Checking tools and the cluster (profile $profile)"
need_tools minikube kubectl helm jq
check_cluster "start it with 'minikube start --profile $profile' (the release and its history are kept in the cluster)"

# --- 2. History and target -----------------------------------------------------------------
step 2 "Reading the history of release '$release' in namespace '$namespace'"
if ! helm history "$release" --namespace "$namespace" --kube-context "$profile" \
    --max 256 -o json >"$work/history.json" 2>"$work/err"; then
    if grep -qi 'not found' "$work/err"; then
        fail 5 "release '$release' is not installed in namespace '$namespace'; there is nothing to roll back (install it with 'nix run .#deploy')"
    fi
    cat "$work/err" >&2
    fail 6 "helm history failed for release '$release' (messages above)"
fi
# "<revision> <status> <chart> <app version>", oldest first.
if ! jq -r 'sort_by(.revision)[] | "\(.revision) \(.status) \(.chart) \(.app_version)"' \
    "$work/history.json" >"$work/history" 2>"$work/err"; then
    cat "$work/err" >&2
    fail 6 "could not read the output of helm history"
fi
declare -A status_of=() chart_of=()
current=""
while read -r rev rev_status chart app_version; do
    status_of[$rev]=$rev_status
    chart_of[$rev]="$chart (app $app_version)"
    current=$rev
done <"$work/history"
[[ -n $current ]] || fail 5 "release '$release' has no revisions in namespace '$namespace'"
say "current revision: $current, ${status_of[$current]}, ${chart_of[$current]}"

if [[ -n $revision ]]; then
    [[ -n ${status_of[$revision]:-} ]] ||
        fail 1 "release '$release' has no revision $revision; its revisions are: $(cut -d' ' -f1 "$work/history" | tr '\n' ' ')(see 'helm history $release -n $namespace --kube-context $profile')"
    ((revision != current)) || fail 1 "revision $revision is the current one; nothing to roll back"
    target=$revision
else
    target=""
    while read -r rev rev_status _; do
        if ((rev < current)) && [[ $rev_status == superseded || $rev_status == deployed ]]; then
            target=$rev
        fi
    done <"$work/history"
    if [[ -z $target ]]; then
        if ((current == 1)); then
            fail 1 "release '$release' has only one revision; there is nothing to roll back to"
        fi
        fail 1 "release '$release' has no earlier revision that was deployed successfully; choose one explicitly (see 'helm history $release -n $namespace --kube-context $profile')"
    fi
fi
say "rolling back to revision $target: ${chart_of[$target]}"

# --- 3. Rollback ---------------------------------------------------------------------------
step 3 "Rolling back to revision $target (waiting up to $timeout for the pods)"
status=0
helm rollback "$release" "$target" --namespace "$namespace" --kube-context "$profile" \
    --wait --timeout "$timeout" 2>&1 | tee "$work/helm.log" || status=$?
if ((status != 0)); then
    kubectl --context "$profile" --namespace "$namespace" get pods \
        --selector "app.kubernetes.io/instance=$release" >&2 2>/dev/null || true
    if grep -Eqi 'timed out|deadline exceeded' "$work/helm.log"; then
        fail 7 "timed out after $timeout waiting for the pods of revision $target; pod states are above, 'kubectl --context $profile -n $namespace describe pods' tells why. Raise TASKFLOW_TIMEOUT for slow machines"
    fi
    fail 6 "helm rollback to revision $target failed (messages above)"
fi

# --- 4. Result -----------------------------------------------------------------------------
step 4 "Result"
kubectl --context "$profile" --namespace "$namespace" get pods \
    --selector "app.kubernetes.io/instance=$release" || true
echo
helm history "$release" --namespace "$namespace" --kube-context "$profile" --max 3 || true
echo
echo "Release '$release' now runs revision $target's chart, images and settings (as a new revision)."
echo "The database was not rolled back: migrations only add to the schema, and the older backend"
echo "works on the newer schema (docs/development.md). Data written since the upgrade is kept;"
echo "to return to the data of before the upgrade, restore a backup: nix run .#restore -- --force FILE"
