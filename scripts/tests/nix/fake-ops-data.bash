#!/usr/bin/env bash
#
# fake-ops-data.bash - stands in for minikube, helm, kubectl and pg_restore in the tests of
# the set-secret, rollback, backup and restore apps (scripts/tests/nix/ops-data.bats and
# backup-restore-pg.bats). Linked under those names; it appends every call, as
# "<tool> <args...>", to $FAKE_LOG, keeps a little state in $FAKE_STATE, and behaves as
# a running Minikube with an installed release "taskflow" unless told otherwise:
#
#   FAKE_MINIKUBE=stopped        `minikube status` says the cluster is stopped
#   FAKE_CONTEXT=missing         kubectl has no context for the profile
#   FAKE_API=fail                the Kubernetes API does not answer
#   FAKE_RELEASE=missing         the release is not installed (helm status/history fail)
#   FAKE_HISTORY="1:superseded 2:deployed"   revision:status pairs of `helm history`
#   FAKE_ROLLBACK=fail|timeout   `helm rollback` fails, or times out
#   FAKE_VALUES_JSON='{...}'     what `helm get values -o json` prints (default {})
#   FAKE_VALUES=fail             `helm get values` fails
#   FAKE_UPGRADE=fail|timeout|nowire   `helm upgrade` fails, times out, or succeeds without
#                                changing the backend's LLM_API_KEY; otherwise it wires
#                                LLM_API_KEY to taskflow/llm-api-key, or unwires it when
#                                the last patch removed that key
#   FAKE_BACKEND=none            the release has no backend Deployment
#   FAKE_JWT_REF=secret/key      where the backend reads JWT_SECRET (taskflow/jwt-secret)
#   FAKE_LLM_REF=secret/key      where it reads LLM_API_KEY (default: it does not), until
#                                a `helm upgrade` changes it
#   FAKE_STORED_KEY=1            the release's Secret holds an llm-api-key marked stored
#   FAKE_MANAGED_SECRETS="a b"   Secrets that Helm manages for release taskflow (taskflow);
#                                any other Secret exists but was created by hand
#   FAKE_PATCH=fail              `kubectl patch` fails; otherwise its stdin is kept in
#                                $FAKE_STATE/patch.json
#   FAKE_ROLLOUT=fail|timeout    `kubectl rollout status` fails, or times out
#   FAKE_PG_POD=none|Pending     no PostgreSQL pod, or one that is not running
#   FAKE_REPLICAS=N              replicas of the backend Deployment (1)
#   FAKE_WAIT=timeout            `kubectl wait --for=delete` times out
#   FAKE_DUMP=fail|hang|empty|garbage   what pg_dump in the pod does (default: a small
#                                archive starting with PGDMP)
#   FAKE_ROWS="users 2 tasks 5"  table/row pairs the row count query reports before the
#                                restore (default: every table empty)
#   FAKE_RESTORE=fail|hang       the restore in the pod fails, or hangs; otherwise its SQL
#                                is kept in $FAKE_STATE/restore.sql
# With FAKE_EXEC_LOCAL=1, `kubectl exec [-i] POD [--container C] -- sh -c CMD` instead runs
# CMD with bash (the image's /bin/sh is bash) on this machine, against a real PostgreSQL,
# with the environment the pod has: FAKE_PG_HOST (socket directory, as PGHOST),
# FAKE_PG_USER, FAKE_PG_DB, FAKE_PG_PASSWORD_FILE, and FAKE_PG_BIN put first on PATH;
# stdin and stdout pass through, and the row counts come from the real database. The
# pg_restore fake is only linked when the real one is not wanted.

set -euo pipefail

tool=${0##*/}
{
    printf '%s' "$tool"
    printf ' %s' "$@"
    echo
} >>"$FAKE_LOG"

state=$FAKE_STATE
mkdir -p "$state"
[[ -e $state/replicas ]] || echo "${FAKE_REPLICAS:-1}" >"$state/replicas"

tables=(conversations messages revoked_tokens tasks users)

# The row count lines "<table> <rows>" of the database before (or after) a restore.
row_counts() {
    local table rows
    if [[ -e $state/restored ]]; then
        printf '%s\n' "conversations 0" "messages 0" "revoked_tokens 0" "tasks 3" "users 1"
        return
    fi
    for table in "${tables[@]}"; do
        rows=0
        if [[ " ${FAKE_ROWS:-} " =~ \ $table\ ([0-9]+)\  ]]; then
            rows=${BASH_REMATCH[1]}
        fi
        echo "$table $rows"
    done
}

# `kubectl exec`: the command after "--".
kubectl_exec() {
    local -a command=()
    local seen=0 arg
    for arg in "$@"; do
        if ((seen)); then
            command+=("$arg")
        elif [[ $arg == -- ]]; then
            seen=1
        fi
    done
    if [[ -n ${FAKE_EXEC_LOCAL:-} ]]; then
        if [[ ${command[0]} == sh ]]; then
            command[0]=bash
        fi
        PATH="$FAKE_PG_BIN:$PATH" PGHOST=$FAKE_PG_HOST POSTGRES_USER=$FAKE_PG_USER \
            POSTGRES_DB=$FAKE_PG_DB POSTGRES_PASSWORD_FILE=$FAKE_PG_PASSWORD_FILE \
            exec "${command[@]}"
    fi
    local script=${command[*]}
    case $script in
        *pg_dump*)
            case ${FAKE_DUMP:-} in
                fail)
                    echo 'pg_dump: error: connection to server on socket "/tmp/.s.PGSQL.5432" failed: FATAL:  password authentication failed for user "taskflow"' >&2
                    exit 1
                    ;;
                hang) sleep 30 ;;
                empty) ;;
                garbage) echo "not a dump" ;;
                *) printf 'PGDMP\001\016\000fake archive\n' ;;
            esac
            ;;
        *psql*)
            local sql
            sql=$(cat)
            if [[ $sql == *"DROP SCHEMA public CASCADE"* ]]; then
                case ${FAKE_RESTORE:-} in
                    fail)
                        echo 'psql:<stdin>:42: ERROR:  relation "users" already exists' >&2
                        exit 3
                        ;;
                    hang) sleep 30 ;;
                esac
                printf '%s\n' "$sql" >"$state/restore.sql"
                touch "$state/restored"
            else
                row_counts
            fi
            ;;
    esac
}

# JSON of the backend Deployment list.
deployments_json() {
    if [[ ${FAKE_BACKEND:-} == none ]]; then
        echo '{"items":[]}'
        return
    fi
    local jwt=${FAKE_JWT_REF-taskflow/jwt-secret} llm=${FAKE_LLM_REF:-} env
    if [[ -e $state/llm_ref ]]; then
        llm=$(cat "$state/llm_ref")
    fi
    env="{\"name\":\"DATABASE_URL\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"taskflow\",\"key\":\"database-url\"}}}"
    if [[ -n $jwt ]]; then
        env+=",{\"name\":\"JWT_SECRET\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"${jwt%/*}\",\"key\":\"${jwt#*/}\"}}}"
    fi
    if [[ -n $llm ]]; then
        env+=",{\"name\":\"LLM_API_KEY\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"${llm%/*}\",\"key\":\"${llm#*/}\"}}}"
    fi
    cat <<EOF
{"items":[{"metadata":{"name":"taskflow-backend"},"spec":{"replicas":$(cat "$state/replicas"),
 "template":{"spec":{"containers":[{"name":"backend","env":[$env]}]}}}}]}
EOF
}

case "$tool:${1-}" in
    minikube:status)
        if [[ ${FAKE_MINIKUBE:-} == stopped ]]; then
            echo "host: Stopped"
            exit 7
        fi
        echo "host: Running"
        ;;
    helm:status)
        if [[ ${FAKE_RELEASE:-} == missing ]]; then
            echo "Error: release: not found" >&2
            exit 1
        fi
        echo "STATUS: deployed"
        ;;
    helm:history)
        if [[ ${FAKE_RELEASE:-} == missing ]]; then
            echo "Error: release: not found" >&2
            exit 1
        fi
        if [[ " $* " == *" -o json "* ]]; then
            entries=()
            for pair in ${FAKE_HISTORY:-1:superseded 2:deployed}; do
                entries+=("{\"revision\":${pair%%:*},\"updated\":\"2026-11-27T01:00:00Z\",\"status\":\"${pair#*:}\",\"chart\":\"taskflow-0.3.0\",\"app_version\":\"0.1.0\",\"description\":\"Upgrade complete\"}")
            done
            (
                IFS=,
                echo "[${entries[*]}]"
            )
        else
            echo "REVISION  STATUS      CHART           APP VERSION  DESCRIPTION"
            echo "3         deployed    taskflow-0.3.0  0.1.0        Rollback to 1"
        fi
        ;;
    helm:rollback)
        case ${FAKE_ROLLBACK:-} in
            fail)
                echo "Error: no ConfigMap with the name \"taskflow-backend\" found" >&2
                exit 1
                ;;
            timeout)
                echo "Error: context deadline exceeded" >&2
                exit 1
                ;;
        esac
        echo "Rollback was a success! Happy Helming!"
        ;;
    helm:get)
        if [[ ${FAKE_VALUES:-} == fail ]]; then
            echo "Error: Kubernetes cluster unreachable" >&2
            exit 1
        fi
        echo "${FAKE_VALUES_JSON:-{\}}"
        ;;
    helm:upgrade)
        case ${FAKE_UPGRADE:-} in
            fail)
                echo 'Error: UPGRADE FAILED: cannot patch "taskflow-backend" with kind Deployment: admission webhook denied the request' >&2
                exit 1
                ;;
            timeout)
                echo "Error: UPGRADE FAILED: context deadline exceeded" >&2
                exit 1
                ;;
            nowire) ;;
            *)
                if jq -e '.data["llm-api-key"] == null' "$state/patch.json" >/dev/null 2>&1; then
                    : >"$state/llm_ref"
                else
                    echo taskflow/llm-api-key >"$state/llm_ref"
                fi
                ;;
        esac
        echo 'Release "taskflow" has been upgraded. Happy Helming!'
        ;;
    pg_restore:*)
        file=${*: -1}
        if [[ $(head -c 5 "$file") != PGDMP ]]; then
            echo "pg_restore: error: input file does not appear to be a valid archive" >&2
            exit 1
        fi
        if [[ " $* " == *" --list "* ]]; then
            echo "; Archive created at 2026-11-27 01:00:00 UTC"
            for table in "${tables[@]}"; do
                echo "3400; 0 16400 TABLE DATA public $table taskflow"
            done
        else
            echo "-- restore of ${file##*/}"
            echo "COPY public.users (id, name) FROM stdin;"
        fi
        ;;
    kubectl:*)
        args=" $* "
        case $args in
            *" config get-contexts "*)
                if [[ ${FAKE_CONTEXT:-} == missing ]]; then
                    echo "error: context ${*: -1} not found" >&2
                    exit 1
                fi
                echo "CURRENT   NAME       CLUSTER    AUTHINFO   NAMESPACE"
                ;;
            *" get --raw /readyz "*)
                if [[ ${FAKE_API:-} == fail ]]; then
                    echo "The connection to the server 192.168.49.2:8443 was refused" >&2
                    exit 1
                fi
                echo ok
                ;;
            *" get deployments "*" -o json "*)
                deployments_json
                ;;
            *" get deployments "*)
                [[ ${FAKE_BACKEND:-} == none ]] || echo "taskflow-backend $(cat "$state/replicas")"
                ;;
            *" get secret "*)
                secret=${args#* get secret }
                secret=${secret%% *}
                if [[ " ${FAKE_MANAGED_SECRETS:-taskflow} " == *" $secret "* ]]; then
                    if [[ -n ${FAKE_STORED_KEY:-} ]]; then
                        echo "{\"metadata\":{\"name\":\"$secret\",\"annotations\":{\"meta.helm.sh/release-name\":\"taskflow\",\"meta.helm.sh/release-namespace\":\"taskflow\",\"taskflow/llm-api-key\":\"stored\"}},\"data\":{\"jwt-secret\":\"b2xk\",\"llm-api-key\":\"b2xk\"}}"
                    else
                        echo "{\"metadata\":{\"name\":\"$secret\",\"annotations\":{\"meta.helm.sh/release-name\":\"taskflow\",\"meta.helm.sh/release-namespace\":\"taskflow\"}},\"data\":{\"jwt-secret\":\"b2xk\"}}"
                    fi
                else
                    echo "{\"metadata\":{\"name\":\"$secret\"},\"data\":{\"llm-api-key\":\"b2xk\"}}"
                fi
                ;;
            *" patch secret "*)
                if [[ ${FAKE_PATCH:-} == fail ]]; then
                    echo 'Error from server (Forbidden): secrets "taskflow" is forbidden' >&2
                    exit 1
                fi
                cat >"$state/patch.json"
                echo "secret/taskflow patched"
                ;;
            *" rollout restart "*)
                echo "deployment.apps/taskflow-backend restarted"
                ;;
            *" rollout status "*)
                case ${FAKE_ROLLOUT:-} in
                    fail)
                        echo 'error: deployment "taskflow-backend" exceeded its progress deadline' >&2
                        exit 1
                        ;;
                    timeout)
                        echo "error: timed out waiting for the condition" >&2
                        exit 1
                        ;;
                esac
                echo 'deployment "taskflow-backend" successfully rolled out'
                ;;
            *"component=postgresql "*)
                case ${FAKE_PG_POD:-} in
                    none) ;;
                    Pending) echo "taskflow-postgresql-0 Pending" ;;
                    *) echo "taskflow-postgresql-0 Running" ;;
                esac
                ;;
            *"component=backend "*)
                [[ $(cat "$state/replicas") == 0 ]] || echo "pod/taskflow-backend-7d9f8-x2x4q"
                ;;
            *" get pods "*)
                echo "NAME                               READY   STATUS    RESTARTS   AGE"
                echo "taskflow-backend-7d9f8-x2x4q       1/1     Running   0          12s"
                echo "taskflow-frontend-5c6b7-q8w2n      1/1     Running   0          12s"
                echo "taskflow-postgresql-0              1/1     Running   0          3d"
                ;;
            *" scale deployment "*)
                echo "${*: -1}" >"$state/replicas"
                echo "deployment.apps/taskflow-backend scaled"
                ;;
            *" wait "*)
                if [[ ${FAKE_WAIT:-} == timeout ]]; then
                    echo "error: timed out waiting for the condition on pods/taskflow-backend-7d9f8-x2x4q" >&2
                    exit 1
                fi
                ;;
            *" exec "*)
                kubectl_exec "$@"
                ;;
        esac
        ;;
esac
