#!/usr/bin/env bash
#
# backup.sh - dump the database of TaskFlow on Minikube to a local file (the `backup` app).
#
# Usage:
#   nix run .#backup                          writes ./<release>-<UTC time>.dump
#   nix run .#backup -- FILE                  writes FILE
#   nix run .#backup -- --force FILE          replaces FILE if it exists
#   nix run .#backup -- --help
#
# Steps, each announced with "==> [n/4] ...":
#   1. check that minikube, kubectl, helm and pg_restore are on PATH, that the Minikube
#      cluster runs, that kubectl has its context and that the API answers;
#   2. find the release and its PostgreSQL pod (it must be running);
#   3. run pg_dump --format=custom inside that pod (kubectl exec; pg_dump reads the whole
#      database in one snapshot, so the dump is consistent while the app keeps serving),
#      writing to a temporary file next to FILE;
#   4. check the dump (not empty, `pg_restore --list` reads it), then move it to FILE. An
#      existing FILE is never replaced without --force; a failed run leaves no partial file.
# The dump holds the data and the schema, not the release's Secret: see docs/secrets.md.
#
# Environment: TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE (taskflow),
# TASKFLOW_NAMESPACE (taskflow), TASKFLOW_TIMEOUT (10m: longest time the dump may take;
# a number with s, m or h).
#
# Exit status: 0 written; 1 bad arguments or settings, or FILE exists; 2 usage error;
# 3 a tool is missing; 4 the cluster is not running, kubectl has no context for it, or
# its API does not answer; 5 the release or its PostgreSQL pod is missing or not running;
# 6 the dump failed or is unreadable; 7 timed out.

set -euo pipefail

prog=backup

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

steps=4

usage() {
    cat <<'EOF'
Usage: nix run .#backup [-- [--force] [FILE] | --help]

Dumps the PostgreSQL database of the TaskFlow release to a local file, in PostgreSQL's
custom format (pg_dump --format=custom, one consistent snapshot; the app keeps running).
Without FILE it writes ./<release>-<UTC time>.dump, e.g. ./taskflow-20261127T010203Z.dump.
Restore it with: nix run .#restore -- FILE

Options:
  --force     replace FILE if it exists (otherwise an existing file is an error)
  -h, --help  show this help

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context      (default: minikube)
  TASKFLOW_RELEASE           Helm release name                      (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                   (default: taskflow)
  TASKFLOW_TIMEOUT           longest time the dump may take, e.g. 90s, 10m, 1h (default: 10m)

Exit status: 0 success, 1 bad arguments or FILE exists, 2 usage, 3 missing tool,
4 cluster not running or wrong context, 5 release or database pod missing,
6 dump failed, 7 timeout.
EOF
}

force=0
file=""
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --force)
            force=1
            ;;
        -*)
            usage_error "unknown argument: $1"
            ;;
        *)
            if [[ -n $file ]]; then
                usage_error "only one FILE may be given"
            fi
            file=$1
            ;;
    esac
    shift
done

release_settings
timeout=${TASKFLOW_TIMEOUT:-10m}

check_timeout "$timeout"

if [[ -z $file ]]; then
    file="$release-$(date -u +%Y%m%dT%H%M%SZ).dump"
fi
dir=$(dirname -- "$file")
[[ -d $dir && -w $dir ]] || fail 1 "cannot write to directory '$dir' (for $file)"
if [[ -e $file && $force -eq 0 ]]; then
    fail 1 "$file exists; choose another name, or replace it with --force"
fi

# The temporary dump sits next to FILE, so that the final rename stays on one file system.
tmp=""
work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-backup.XXXXXXXX")
# Called from the EXIT trap only.
# shellcheck disable=SC2317,SC2329
cleanup() {
    rm -rf -- "$work"
    if [[ -n $tmp ]]; then
        rm -f -- "$tmp"
    fi
}
trap cleanup EXIT

# --- 1. Tools and cluster ------------------------------------------------------------------
step 1 "Checking tools and the cluster (profile $profile)"
need_tools minikube kubectl helm pg_restore
check_cluster "start it (and TaskFlow) with 'nix run .#deploy'"

# --- 2. Release and database pod -----------------------------------------------------------
step 2 "Finding the database of release '$release' in namespace '$namespace'"
if ! helm status "$release" --namespace "$namespace" --kube-context "$profile" >/dev/null 2>&1; then
    fail 5 "release '$release' is not installed in namespace '$namespace' (see 'helm list --all-namespaces --kube-context $profile')"
fi
pod_info=$(kubectl --context "$profile" --namespace "$namespace" get pods \
    --selector "app.kubernetes.io/instance=$release,app.kubernetes.io/component=postgresql" \
    -o 'jsonpath={range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}' 2>/dev/null) ||
    fail 6 "could not list the pods of namespace '$namespace'"
read -r pod phase <<<"$pod_info" || true
if [[ -z ${pod:-} ]]; then
    fail 5 "release '$release' has no PostgreSQL pod (with postgresql.enabled=false the database is external: back it up with its own tools)"
fi
if [[ $phase != Running ]]; then
    fail 5 "PostgreSQL pod $pod is $phase, not Running; see 'kubectl --context $profile -n $namespace describe pod $pod'"
fi
say "PostgreSQL pod: $pod"

# --- 3. Dump -------------------------------------------------------------------------------
step 3 "Dumping the database (pg_dump --format=custom, one snapshot)"
tmp=$(mktemp "$dir/.${file##*/}.XXXXXXXX")
# Runs in the pod: the image's /bin/sh is bash. The password comes from the file the pod
# mounts, so it never appears on a command line; the socket directory is the server's.
# shellcheck disable=SC2016
dump_cmd='export PGPASSWORD; PGPASSWORD=$(<"$POSTGRES_PASSWORD_FILE"); exec pg_dump --format=custom --host="${PGHOST:-/tmp}" --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'
status=0
timeout "$timeout" kubectl --context "$profile" --namespace "$namespace" exec "$pod" \
    --container postgresql -- sh -c "$dump_cmd" >"$tmp" 2>"$work/err" || status=$?
if ((status == 124)); then
    fail 7 "the dump took longer than $timeout and was stopped; raise TASKFLOW_TIMEOUT for a large database"
fi
if ((status != 0)); then
    cat "$work/err" >&2
    fail 6 "pg_dump in pod $pod failed (messages above); nothing was written"
fi

# --- 4. Check and keep ---------------------------------------------------------------------
step 4 "Checking the dump"
[[ -s $tmp ]] || fail 6 "the dump is empty; nothing was written"
if ! list=$(pg_restore --list "$tmp" 2>"$work/err"); then
    cat "$work/err" >&2
    fail 6 "pg_restore cannot read the dump (messages above); nothing was written"
fi
tables=$(grep -c ' TABLE DATA ' <<<"$list" || true)
size=$(wc -c <"$tmp")
size=${size//[[:space:]]/}
if ((force)); then
    mv -f -- "$tmp" "$file"
else
    # A hard link fails if FILE appeared meanwhile: never replace it.
    ln -- "$tmp" "$file" 2>/dev/null || fail 1 "$file appeared while the dump ran; it was not replaced"
    rm -f -- "$tmp"
fi
tmp=""
say "readable by pg_restore: $tables tables with data, $size bytes"
echo
echo "Backup written: $file"
echo "Keep the release's Secret with it (docs/secrets.md, \"Backup\"); restore with: nix run .#restore -- $file"
