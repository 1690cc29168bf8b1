#!/usr/bin/env bash
#
# restore.sh - load a dump made by `backup` into the database of TaskFlow on Minikube (the
# `restore` app of the flake).
#
# Usage:
#   nix run .#restore -- FILE            into a database without data (a fresh release)
#   nix run .#restore -- --force FILE    replace the data the database holds
#   nix run .#restore -- --help
#
# Steps, each announced with "==> [n/6] ...":
#   1. check that pg_restore is on PATH and reads FILE (a pg_dump custom-format archive),
#      and turn it into SQL (pg_restore --no-owner --no-privileges), before anything in
#      the cluster is touched;
#   2. check that minikube, kubectl and helm are on PATH, that the Minikube cluster runs,
#      that kubectl has its context and that the API answers;
#   3. find the release, its running PostgreSQL pod and its backend Deployment, and count
#      the rows of every table: if any table holds rows, refuse unless --force;
#   4. stop the backend (scale it to 0 and wait until its pods are gone), so that nobody
#      writes while the data is replaced;
#   5. replace the schema `public` with the dump's contents in ONE transaction: psql in the
#      pod (kubectl exec -i) runs `DROP SCHEMA public CASCADE`, creates an empty `public`
#      and runs the SQL of step 1; any error rolls everything back and the old data stays;
#   6. scale the backend back to its former number of pods and wait for them to be ready
#      (the backend applies any migration the dump is older than); show the rows per table.
# Whatever happens after step 4, the backend is scaled back before the app exits.
#
# Environment: TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE (taskflow),
# TASKFLOW_NAMESPACE (taskflow), TASKFLOW_TIMEOUT (10m: longest time of each wait and of
# the restore itself; a number with s, m or h).
#
# Exit status: 0 restored; 1 bad arguments or settings, FILE missing or not a dump;
# 2 usage error; 3 a tool is missing; 4 the cluster is not running, kubectl has no context
# for it, or its API does not answer; 5 the release, its PostgreSQL pod or its backend is
# missing; 6 the restore failed (the database is unchanged) or kubectl failed; 7 timed
# out; 8 refused: the database holds data and --force was not given.

set -euo pipefail

prog=restore

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

steps=6

usage() {
    cat <<'EOF'
Usage: nix run .#restore -- [--force] FILE
       nix run .#restore -- --help

Loads FILE, a dump written by `nix run .#backup`, into the PostgreSQL database of the
TaskFlow release. The backend is stopped meanwhile and started again afterwards. The
restore is one transaction: if it fails, the database keeps its former contents.

A database that holds any rows is not overwritten unless --force is given: restore into
a fresh release (nix run .#deploy), or replace the data on purpose.

Options:
  --force     replace the data the database holds
  -h, --help  show this help

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context      (default: minikube)
  TASKFLOW_RELEASE           Helm release name                      (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                   (default: taskflow)
  TASKFLOW_TIMEOUT           longest time of each wait, e.g. 90s, 10m, 1h (default: 10m)

Exit status: 0 success, 1 bad arguments or unreadable FILE, 2 usage, 3 missing tool,
4 cluster not running or wrong context, 5 release, database pod or backend missing,
6 restore failed (database unchanged), 7 timeout, 8 refused (the database holds data).
EOF
}

force=0
file=""
have_file=0
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
            if ((have_file)); then
                usage_error "only one FILE may be given"
            fi
            file=$1
            have_file=1
            ;;
    esac
    shift
done
if ((!have_file)); then
    usage_error "missing FILE, the dump to restore"
fi

release_settings
timeout=${TASKFLOW_TIMEOUT:-10m}

check_timeout "$timeout"

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-restore.XXXXXXXX")
backend=""
replicas=""
stopped=0

kube() {
    kubectl --context "$profile" --namespace "$namespace" "$@"
}

# Scales the backend back if this run stopped it (also on failure).
start_backend() {
    kube scale deployment "$backend" --replicas "$replicas" >/dev/null
}

# Called from the EXIT trap only.
# shellcheck disable=SC2317,SC2329
finish() {
    local status=$?
    if ((stopped)); then
        if start_backend 2>/dev/null; then
            echo "$prog: the backend was scaled back to $replicas pod(s)" >&2
        else
            echo "$prog: could not scale the backend back; run: kubectl --context $profile -n $namespace scale deployment $backend --replicas $replicas" >&2
        fi
    fi
    rm -rf -- "$work"
    exit "$status"
}
trap finish EXIT

# --- 1. The dump ---------------------------------------------------------------------------
step 1 "Checking the dump $file"
command -v pg_restore >/dev/null ||
    fail 3 "pg_restore not found on PATH. Run the app through Nix (nix run .#$prog), which provides it"
[[ -e $file ]] || fail 1 "$file does not exist"
[[ -f $file && -r $file ]] || fail 1 "$file is not a readable file"
if ! list=$(pg_restore --list "$file" 2>"$work/err"); then
    cat "$work/err" >&2
    fail 1 "$file is not a dump that pg_restore can read (make one with 'nix run .#backup')"
fi
tables=$(grep -c ' TABLE DATA ' <<<"$list" || true)
# The SQL that step 5 runs in one transaction: an empty schema public, then the dump.
{
    echo "BEGIN;"
    echo "DROP SCHEMA public CASCADE;"
    echo "CREATE SCHEMA public AUTHORIZATION pg_database_owner;"
    echo "GRANT USAGE ON SCHEMA public TO PUBLIC;"
    echo "COMMENT ON SCHEMA public IS 'standard public schema';"
} >"$work/restore.sql"
if ! pg_restore --no-owner --no-privileges --file=- "$file" >>"$work/restore.sql" 2>"$work/err"; then
    cat "$work/err" >&2
    fail 1 "pg_restore cannot read all of $file (messages above); is it complete?"
fi
echo "COMMIT;" >>"$work/restore.sql"
say "a pg_dump archive with $tables tables of data"

# --- 2. Tools and cluster ------------------------------------------------------------------
step 2 "Checking tools and the cluster (profile $profile)"
need_tools minikube kubectl helm
check_cluster "start it (and TaskFlow) with 'nix run .#deploy'"

# --- 3. Release, database, backend ---------------------------------------------------------
step 3 "Finding the database of release '$release' in namespace '$namespace'"
if ! helm status "$release" --namespace "$namespace" --kube-context "$profile" >/dev/null 2>&1; then
    fail 5 "release '$release' is not installed in namespace '$namespace'; install a fresh one with 'nix run .#deploy' first"
fi
selector="app.kubernetes.io/instance=$release,app.kubernetes.io/component"
pod_info=$(kube get pods --selector "$selector=postgresql" \
    -o 'jsonpath={range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}' 2>/dev/null) ||
    fail 6 "could not list the pods of namespace '$namespace'"
read -r pod phase <<<"$pod_info" || true
if [[ -z ${pod:-} ]]; then
    fail 5 "release '$release' has no PostgreSQL pod (with postgresql.enabled=false the database is external: restore it with its own tools)"
fi
if [[ $phase != Running ]]; then
    fail 5 "PostgreSQL pod $pod is $phase, not Running; see 'kubectl --context $profile -n $namespace describe pod $pod'"
fi
deploy_info=$(kube get deployments --selector "$selector=backend" \
    -o 'jsonpath={range .items[*]}{.metadata.name} {.spec.replicas}{"\n"}{end}' 2>/dev/null) ||
    fail 6 "could not list the Deployments of namespace '$namespace'"
read -r backend replicas <<<"$deploy_info" || true
[[ -n $backend && $replicas =~ ^[0-9]+$ ]] ||
    fail 5 "release '$release' has no backend Deployment in namespace '$namespace'"
say "PostgreSQL pod: $pod; backend: deployment/$backend ($replicas pod(s))"

# Runs in the pod (the image's /bin/sh is bash): psql with the password from the file the
# pod mounts (never on a command line), through the server's socket, SQL on stdin.
# shellcheck disable=SC2016
psql_cmd='export PGPASSWORD; PGPASSWORD=$(<"$POSTGRES_PASSWORD_FILE"); exec psql --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 --host="${PGHOST:-/tmp}" --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'

# One line "<table> <rows>" per table of the schema public, diesel's bookkeeping excepted.
count_sql="SELECT c.relname || ' ' || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I', c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '__diesel_schema_migrations'
ORDER BY c.relname;"

# row_counts: prints the table lines, or fails.
row_counts() {
    local status=0
    timeout "$timeout" kubectl --context "$profile" --namespace "$namespace" exec -i "$pod" \
        --container postgresql -- sh -c "$psql_cmd" <<<"$count_sql" >"$work/counts" 2>"$work/err" ||
        status=$?
    if ((status == 124)); then
        fail 7 "counting the rows took longer than $timeout"
    fi
    if ((status != 0)); then
        cat "$work/err" >&2
        fail 6 "could not query the database in pod $pod (messages above)"
    fi
    grep -v '^$' "$work/counts" || true
}

counts=$(row_counts)
filled=""
while read -r table rows; do
    if [[ -n $table && $rows != 0 ]]; then
        filled+="${filled:+, }$table ($rows rows)"
    fi
done <<<"$counts"
if [[ -n $filled ]]; then
    if ((!force)); then
        fail 8 "the database of release '$release' holds data: $filled. Restore into a fresh release, or replace that data with --force (take a backup first: nix run .#backup)"
    fi
    say "the database holds data ($filled); --force: it will be replaced"
else
    say "the database holds no data"
fi

# --- 4. Stop the backend -------------------------------------------------------------------
step 4 "Stopping the backend"
backend_pods=$(kube get pods --selector "$selector=backend" \
    -o 'jsonpath={range .items[*]}pod/{.metadata.name}{"\n"}{end}' 2>/dev/null) ||
    fail 6 "could not list the backend pods"
stopped=1
kube scale deployment "$backend" --replicas 0 >/dev/null ||
    fail 6 "could not scale deployment/$backend to 0"
if [[ -n $backend_pods ]]; then
    mapfile -t pods <<<"$backend_pods"
    status=0
    kube wait --for=delete "${pods[@]}" --timeout "$timeout" >"$work/wait" 2>&1 || status=$?
    if ((status != 0)); then
        cat "$work/wait" >&2
        fail 7 "the backend pods did not stop within $timeout; nothing was restored"
    fi
fi
say "backend stopped (0 pods)"

# --- 5. Restore ----------------------------------------------------------------------------
step 5 "Restoring $file (one transaction)"
status=0
timeout "$timeout" kubectl --context "$profile" --namespace "$namespace" exec -i "$pod" \
    --container postgresql -- sh -c "$psql_cmd" <"$work/restore.sql" >"$work/restore.out" 2>"$work/err" ||
    status=$?
if ((status == 124)); then
    fail 7 "the restore took longer than $timeout and was stopped; the transaction was rolled back. Raise TASKFLOW_TIMEOUT for a large dump"
fi
if ((status != 0)); then
    cat "$work/err" >&2
    fail 6 "the restore failed (messages above); it was rolled back, the database is unchanged"
fi
say "restored"

# --- 6. Start the backend ------------------------------------------------------------------
step 6 "Starting the backend ($replicas pod(s))"
stopped=0
start_backend || fail 6 "could not scale deployment/$backend back to $replicas; run: kubectl --context $profile -n $namespace scale deployment $backend --replicas $replicas"
status=0
kube rollout status deployment "$backend" --timeout "$timeout" >"$work/rollout" 2>&1 || status=$?
if ((status != 0)); then
    cat "$work/rollout" >&2
    fail 7 "the backend did not become ready within $timeout after the restore; see 'kubectl --context $profile -n $namespace logs deployment/$backend'"
fi
say "backend ready"
counts=$(row_counts)
while read -r table rows; do
    [[ -z $table ]] || say "$table: $rows rows"
done <<<"$counts"
echo
echo "Restored $file into release '$release'."
