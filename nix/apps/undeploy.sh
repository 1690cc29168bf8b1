#!/usr/bin/env bash
#
# undeploy.sh - remove TaskFlow from Minikube (the `undeploy` app of the flake).
#
# Usage:
#   nix run .#undeploy               uninstall the release, keep the database volume
#   nix run .#undeploy -- --purge    also delete the namespace with its volumes (all data)
#   nix run .#undeploy -- --help
#
# Steps, each announced with "==> [n/3] ...":
#   1. check that minikube, helm and kubectl are on PATH;
#   2. check that the Minikube cluster runs (nothing can be removed otherwise);
#   3. helm uninstall --wait (skipped when the release is not installed); then either list
#      the PersistentVolumeClaims that were kept (the PostgreSQL data, which the next
#      deploy picks up again) or, with --purge, delete the whole namespace, which deletes
#      them too.
# The cluster itself is left running: `minikube stop` or `minikube delete` end it.
#
# Environment: TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE (taskflow),
# TASKFLOW_NAMESPACE (taskflow), TASKFLOW_TIMEOUT (10m), as for deploy.
#
# Exit status: 0 done (also when nothing was installed); 2 usage error; 3 minikube, helm
# or kubectl not found; 4 the cluster is not running; 6 helm uninstall or the namespace
# deletion failed; 7 timed out.

set -euo pipefail

prog=undeploy

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

steps=3

usage() {
    cat <<'EOF'
Usage: nix run .#undeploy [-- --purge | --help]

Uninstalls the TaskFlow Helm release from Minikube. The PostgreSQL volume is kept, so a
later deploy finds the data again, unless --purge is given: then the whole namespace
is deleted, with every volume in it. The Minikube cluster keeps running.

Options:
  --purge     also delete the namespace and its PersistentVolumeClaims (all data)
  -h, --help  show this help

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context (default: minikube)
  TASKFLOW_RELEASE           Helm release name                 (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace              (default: taskflow)
  TASKFLOW_TIMEOUT           how long to wait for the removal  (default: 10m)

Exit status: 0 success, 2 usage, 3 missing tool, 4 cluster not running,
6 Helm or kubectl failure, 7 timeout.
EOF
}

purge=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --purge)
            purge=1
            ;;
        *)
            usage_error "unknown argument: $1"
            ;;
    esac
    shift
done

release_settings
timeout=${TASKFLOW_TIMEOUT:-10m}

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-undeploy.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

# helm/kubectl output that says it gave up waiting.
is_timeout() {
    grep -Eqi 'timed out|deadline exceeded' "$1"
}

step 1 "Checking tools"
need_tools minikube helm kubectl
say "minikube, helm, kubectl: found"

step 2 "Minikube cluster (profile $profile)"
if ! minikube status --profile "$profile" >/dev/null 2>&1; then
    fail 4 "Minikube profile '$profile' is not running, so there is nothing to remove from it; start it with 'minikube start --profile $profile' first"
fi
say "running"

if ((purge)); then
    step 3 "Removing release '$release' and namespace '$namespace' (--purge: all data)"
else
    step 3 "Removing release '$release' from namespace '$namespace' (keeping the data)"
fi

if helm status "$release" --namespace "$namespace" --kube-context "$profile" >/dev/null 2>&1; then
    status=0
    helm uninstall "$release" --namespace "$namespace" --kube-context "$profile" \
        --wait --timeout "$timeout" 2>&1 | tee "$work/helm.log" || status=$?
    if ((status != 0)); then
        is_timeout "$work/helm.log" &&
            fail 7 "timed out after $timeout while uninstalling release '$release'; see 'kubectl --context $profile -n $namespace get all'"
        fail 6 "helm uninstall failed for release '$release' (messages above)"
    fi
    say "release '$release' uninstalled"
else
    say "release '$release' is not installed in namespace '$namespace'; nothing to uninstall"
fi

if ((purge)); then
    status=0
    kubectl --context "$profile" delete namespace "$namespace" --ignore-not-found \
        --wait --timeout "$timeout" 2>&1 | tee "$work/kubectl.log" || status=$?
    if ((status != 0)); then
        is_timeout "$work/kubectl.log" &&
            fail 7 "timed out after $timeout while deleting namespace '$namespace'"
        fail 6 "could not delete namespace '$namespace' (messages above)"
    fi
    say "namespace '$namespace' deleted with its PersistentVolumeClaims: the database is gone"
else
    claims=$(kubectl --context "$profile" --namespace "$namespace" get persistentvolumeclaims \
        -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}' 2>/dev/null) || claims=""
    if [[ -n $claims ]]; then
        say "kept these PersistentVolumeClaims (the database); the next deploy uses them again:"
        while IFS= read -r claim; do
            say "  $claim"
        done <<<"$claims"
        say "delete them with: nix run .#undeploy -- --purge"
    else
        say "no PersistentVolumeClaims in namespace '$namespace'"
    fi
fi
echo
echo "TaskFlow is removed from Minikube profile '$profile'."
