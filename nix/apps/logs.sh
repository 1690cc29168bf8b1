#!/usr/bin/env bash
#
# logs.sh - follow the logs of TaskFlow on Minikube (the `logs` app of the flake).
#
# Usage:
#   nix run .#logs [-- [backend|frontend|postgres|all] [--since DURATION] [--tail N] [--no-follow]]
#   nix run .#logs -- --help
#
# Steps, each announced with "==> [n/2] ...":
#   1. the cluster: kubectl and minikube on PATH, the Minikube profile runs, kubectl has
#      its context and the Kubernetes API answers; the release has pods of the component;
#   2. kubectl logs --follow on every pod of the component (selected by the chart's label
#      app.kubernetes.io/component, with postgres meaning its `postgresql` pods), each
#      line prefixed with [pod/<name>/<container>], until Ctrl-C. Pods started after
#      this point (a rollout) are not followed: run it again.
# The backend and the frontend log one JSON object per line.
#
# Options:
#   COMPONENT         backend, frontend, postgres or all (default: all)
#   --since DURATION  only lines newer than this, e.g. 30s, 10m, 2h (default: all kept)
#   --tail N          lines of the past to show per container first (default: 50)
#   --no-follow       print what is there and stop
#
# Environment: TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE (taskflow),
# TASKFLOW_NAMESPACE (taskflow), TASKFLOW_REQUEST_TIMEOUT (20 seconds per query before
# the logs start), as for deploy and status.
#
# Exit status: 0 stopped (Ctrl-C, or the end with --no-follow); 2 usage error (unknown
# component or option); 3 kubectl or minikube not found; 4 no cluster (the profile is not
# running), kubectl has no context for it or an outdated one, or the Kubernetes API does
# not answer (or not in time); 5 no pods of that component (is the release installed?);
# 6 kubectl logs failed.

set -euo pipefail

prog=logs

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

steps=2

usage() {
    cat <<'EOF'
Usage: nix run .#logs [-- [backend|frontend|postgres|all] [--since 10m] [--tail 50] [--no-follow]]

Follows the logs of one TaskFlow component on Minikube, or of all three (the default),
each line prefixed with its pod and container, until Ctrl-C.

Options:
  backend|frontend|postgres|all   whose logs (default: all)
  --since DURATION   only lines newer than this: 30s, 10m, 2h
  --tail N           earlier lines to show per container first (default: 50)
  --no-follow        print what is there and stop
  -h, --help         show this help

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context     (default: minikube)
  TASKFLOW_RELEASE           Helm release name                      (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                   (default: taskflow)
  TASKFLOW_REQUEST_TIMEOUT   seconds each query may take            (default: 20)

Exit status: 0 stopped, 2 usage, 3 missing tool, 4 no cluster, no or an outdated kubectl
context, or the API does not answer, 5 no pods, 6 kubectl logs failed.
See docs/operations.md ("Logs: logs").
EOF
}

# usage_error MESSAGE
component=""
since=""
tail_lines=50
follow=1
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --since)
            [[ $# -ge 2 ]] || usage_error "--since needs a duration such as 10m"
            since=$2
            [[ $since =~ ^[1-9][0-9]*[smh]$ ]] || usage_error "--since needs a duration such as 30s, 10m or 2h, got '$since'"
            shift
            ;;
        --tail)
            [[ $# -ge 2 ]] || usage_error "--tail needs a number of lines"
            tail_lines=$2
            [[ $tail_lines =~ ^[0-9]+$ ]] || usage_error "--tail needs a number of lines, got '$tail_lines'"
            shift
            ;;
        --no-follow)
            follow=0
            ;;
        backend | frontend | postgres | all)
            [[ -z $component ]] || usage_error "only one component, got '$component' and '$1'"
            component=$1
            ;;
        -*)
            usage_error "unknown option: $1"
            ;;
        *)
            usage_error "unknown component: $1 (backend, frontend, postgres or all)"
            ;;
    esac
    shift
done
component=${component:-all}

release_settings
request_timeout=${TASKFLOW_REQUEST_TIMEOUT:-20}
[[ $request_timeout =~ ^[1-9][0-9]*$ ]] ||
    usage_error "TASKFLOW_REQUEST_TIMEOUT must be a whole number of seconds, got '$request_timeout'"

# The chart's component labels.
case $component in
    postgres) labels=postgresql ;;
    all) labels=backend,frontend,postgresql ;;
    *) labels=$component ;;
esac
selector="app.kubernetes.io/instance=$release,app.kubernetes.io/component in ($labels)"

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-logs.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

# --- 1. Cluster --------------------------------------------------------------------------
step 1 "Cluster (Minikube profile $profile)"

need_tools minikube kubectl

status=0
minikube_status || status=$?
if ((status != 0)); then
    fail 4 "no cluster: Minikube profile '$profile' is not running, so there are no logs; start it with: nix run .#deploy"
fi
if ! kubectl config get-contexts "$profile" -o name >/dev/null 2>&1; then
    fail 4 "kubectl has no context '$profile'; fix it with: minikube update-context --profile $profile"
fi
if ! kubectl --context "$profile" get --raw /readyz --request-timeout="${request_timeout}s" >/dev/null 2>"$work/api.err"; then
    api_failed "$work/api.err"
fi
if ! kubectl --context "$profile" --namespace "$namespace" --request-timeout="${request_timeout}s" \
    get pods --selector "$selector" -o name >"$work/pods.txt" 2>"$work/pods.err"; then
    api_failed "$work/pods.err"
fi
pods=$(grep -c . "$work/pods.txt" || true)
if ((pods == 0)); then
    kind="$component "
    if [[ $component == all ]]; then
        kind=""
    fi
    fail 5 "no ${kind}pods of release '$release' in namespace '$namespace'; is it installed? 'nix run .#status' shows the release, 'nix run .#deploy' installs it"
fi
names=()
while IFS= read -r pod; do
    names+=("${pod#pod/}")
done <"$work/pods.txt"
say "$pods pod(s): ${names[*]}"

# --- 2. Logs -----------------------------------------------------------------------------
logs_args=(
    --context "$profile" --namespace "$namespace"
    logs --selector "$selector"
    --prefix --all-containers --max-log-requests 20 --tail "$tail_lines"
)
if [[ -n $since ]]; then
    logs_args+=(--since "$since")
fi
if [[ $component == all ]]; then
    whose="backend, frontend and postgres"
else
    whose=$component
fi
if ((follow)); then
    logs_args+=(--follow)
    step 2 "Following the logs of $whose (release '$release'; Ctrl-C stops)"
else
    step 2 "The logs of $whose (release '$release')"
fi

status=0
kubectl "${logs_args[@]}" || status=$?
# 130: stopped with Ctrl-C.
if ((status != 0 && status != 130)); then
    fail 6 "kubectl logs failed (its messages are above)"
fi
