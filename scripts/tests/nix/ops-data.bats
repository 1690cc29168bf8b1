#!/usr/bin/env bats
#
# Tests of the set-secret, rollback, backup and restore apps (nix/apps/*.sh) with fake
# minikube, helm, kubectl and pg_restore (fake-ops-data.bash) that record their calls.
# PATH holds only the fakes and the system tools the scripts use, so a missing tool can be
# simulated by leaving its fake out. Plain bats, no libraries.
#
# Each test runs in its own subshell, so the settings it exports stay with it.
# shellcheck disable=SC2030,SC2031

setup() {
    apps="$BATS_TEST_DIRNAME/../../../nix/apps"
    set_secret="$apps/set-secret.sh"
    rollback="$apps/rollback.sh"
    backup="$apps/backup.sh"
    restore="$apps/restore.sh"
    t=$BATS_TEST_TMPDIR

    mkdir -p "$t/sys" "$t/fake" "$t/out"
    local tool
    for tool in bash env cat grep tee tr timeout mktemp rm mkdir touch sed ln jq head od \
        base64 dirname date wc mv cut sleep find script; do
        ln -sf "$(command -v "$tool")" "$t/sys/$tool"
    done
    for tool in minikube helm kubectl pg_restore; do
        ln -sf "$BATS_TEST_DIRNAME/fake-ops-data.bash" "$t/fake/$tool"
    done
    export PATH="$t/fake:$t/sys"
    export FAKE_LOG=$t/calls.log FAKE_STATE=$t/state
    : >"$FAKE_LOG"
    unset TASKFLOW_MINIKUBE_PROFILE TASKFLOW_RELEASE TASKFLOW_NAMESPACE TASKFLOW_TIMEOUT
    # The chart the Nix wrapper gives set-secret; the fake helm only records its path.
    export TASKFLOW_CHART=$t/taskflow.tgz
    : >"$TASKFLOW_CHART"
    printf 'PGDMP\001\016\000an archive\n' >"$t/good.dump"
}

assert_equal() {
    if [[ $1 != "$2" ]]; then
        printf 'expected:\n%s\nactual:\n%s\n' "$2" "$1" >&2
        return 1
    fi
}

assert_contains() {
    if [[ $1 != *"$2"* ]]; then
        printf 'expected to find:\n%s\nin:\n%s\n' "$2" "$1" >&2
        return 1
    fi
}

not_in_log() {
    if grep -Fq -- "$1" "$FAKE_LOG"; then
        echo "unexpected call matching '$1' in:" >&2
        cat "$FAKE_LOG" >&2
        return 1
    fi
}

# The calls every app makes first, to check the cluster.
cluster_calls() {
    cat <<'EOF'
minikube status --profile minikube
kubectl config get-contexts minikube
kubectl --context minikube get --raw /readyz
EOF
}

# run_app SCRIPT ARGS...: runs an app with stdin from $STDIN (empty unless set).
run_app() {
    run bash -c '"$@" <<<"$STDIN_TEXT"' _ "$@"
}

# The cluster failures every app reports with status 4, before touching the release.
check_cluster_failures() {
    FAKE_MINIKUBE=stopped run "$@"
    [ "$status" -eq 4 ]
    assert_contains "$output" "Minikube profile 'minikube' is not running"
    FAKE_CONTEXT=missing run "$@"
    [ "$status" -eq 4 ]
    assert_contains "$output" "kubectl has no context named 'minikube'"
    assert_contains "$output" "minikube update-context --profile minikube"
    FAKE_API=fail run "$@"
    [ "$status" -eq 4 ]
    assert_contains "$output" "the Kubernetes API of Minikube profile 'minikube' does not answer"
    not_in_log "helm status"
    not_in_log "helm history"
}

# --- set-secret ----------------------------------------------------------------------------

jwt_calls() {
    cluster_calls
    cat <<'EOF'
helm status taskflow --namespace taskflow --kube-context minikube
kubectl --context minikube --namespace taskflow get deployments --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=backend -o json
kubectl --context minikube --namespace taskflow get secret taskflow -o json
kubectl --context minikube --namespace taskflow patch secret taskflow --type merge --patch-file /dev/stdin
kubectl --context minikube --namespace taskflow rollout restart deployment taskflow-backend
kubectl --context minikube --namespace taskflow rollout status deployment taskflow-backend --timeout 10m
EOF
}

@test "set-secret --help, and usage errors with status 2" {
    run "$set_secret" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#set-secret -- jwt-secret [--generate]"
    assert_contains "$output" "Changing it signs everybody out"
    run "$set_secret"
    [ "$status" -eq 2 ]
    assert_contains "$output" "missing NAME: jwt-secret or llm-api-key"
    run "$set_secret" password
    [ "$status" -eq 2 ]
    assert_contains "$output" "unknown argument: password"
    run "$set_secret" llm-api-key --generate
    [ "$status" -eq 2 ]
    assert_contains "$output" "--generate works for jwt-secret only"
    run "$set_secret" jwt-secret --delete
    [ "$status" -eq 2 ]
    assert_contains "$output" "--delete works for llm-api-key only"
    [ ! -s "$FAKE_LOG" ]
    run "$set_secret" --help
    assert_contains "$output" "nix run .#set-secret -- llm-api-key [--delete]"
}

@test "set-secret jwt-secret from stdin: patches the release's Secret through stdin, restarts the backend, says everyone is signed out" {
    secret="a-new-session-key-of-forty-bytes-long!!!"
    STDIN_TEXT=$secret run_app "$set_secret" jwt-secret
    [ "$status" -eq 0 ]
    assert_equal "$(cat "$FAKE_LOG")" "$(jwt_calls)"
    assert_equal "$(cat "$FAKE_STATE/patch.json")" "{\"data\":{\"jwt-secret\":\"$(printf '%s' "$secret" | base64 -w0)\"}}"
    not_in_log "$secret"
    not_in_log "$(printf '%s' "$secret" | base64 -w0)"
    [[ $output != *"$secret"* ]]
    assert_contains "$output" "==> [4/5] Storing it in Secret 'taskflow' (key 'jwt-secret')"
    assert_contains "$output" "accepted (40 bytes; not shown)"
    assert_contains "$output" "this signs everybody out"
    assert_contains "$output" "Rotated jwt-secret: everybody has been signed out and signs in again."
}

@test "set-secret jwt-secret --generate: 64 random hexadecimal digits, different each time" {
    run "$set_secret" jwt-secret --generate </dev/null
    [ "$status" -eq 0 ]
    assert_equal "$(cat "$FAKE_LOG")" "$(jwt_calls)"
    first=$(jq -r '.data["jwt-secret"]' "$FAKE_STATE/patch.json" | base64 -d)
    [[ $first =~ ^[0-9a-f]{64}$ ]]
    run "$set_secret" jwt-secret --generate </dev/null
    [ "$status" -eq 0 ]
    second=$(jq -r '.data["jwt-secret"]' "$FAKE_STATE/patch.json" | base64 -d)
    [[ $second =~ ^[0-9a-f]{64}$ && $second != "$first" ]]
    assert_contains "$output" "generated 32 random bytes"
}

@test "set-secret on a terminal asks twice without echo, and refuses two different entries" {
    # script(1) gives the app a terminal. Each answer is typed once its prompt is up, with
    # echo off (typed earlier, the terminal would still echo it).
    typed() {
        sleep 1
        printf '%s\n' "$1"
        sleep 0.5
        printf '%s\n' "$2"
    }
    run script -qec "bash $set_secret jwt-secret" /dev/null < <(typed typed-session-key-of-thirty-two-b typed-session-key-of-thirty-two-b)
    [ "$status" -eq 0 ]
    assert_contains "$output" "New jwt-secret (not shown):"
    assert_contains "$output" "Once more:"
    [[ $output != *"typed-session-key"* ]]
    [ "$(jq -r '.data["jwt-secret"]' "$FAKE_STATE/patch.json" | base64 -d)" = typed-session-key-of-thirty-two-b ]
    rm "$FAKE_STATE/patch.json"
    run script -qec "bash $set_secret jwt-secret" /dev/null < <(typed typed-session-key-of-thirty-two-b another-session-key-of-thirty-two)
    [ "$status" -eq 1 ]
    assert_contains "$output" "the two entries differ; nothing was changed"
    [ ! -e "$FAKE_STATE/patch.json" ]
}

@test "set-secret refuses empty, short, multi-line and non-ASCII values with status 1, before patching" {
    STDIN_TEXT="" run_app "$set_secret" jwt-secret
    [ "$status" -eq 1 ]
    assert_contains "$output" "no value given (the input was empty)"
    STDIN_TEXT="only-31-bytes-long-session-key!" run_app "$set_secret" jwt-secret
    [ "$status" -eq 1 ]
    assert_contains "$output" "jwt-secret must be at least 32 bytes, got 31"
    STDIN_TEXT=$'first-line-of-a-long-session-key\nsecond' run_app "$set_secret" jwt-secret
    [ "$status" -eq 1 ]
    assert_contains "$output" "the value must be one line"
    export FAKE_LLM_REF=taskflow/llm-api-key
    STDIN_TEXT="sk-with space" run_app "$set_secret" llm-api-key
    [ "$status" -eq 1 ]
    assert_contains "$output" "llm-api-key must consist of printable ASCII characters without spaces"
    STDIN_TEXT="sk-ünicode" run_app "$set_secret" llm-api-key
    [ "$status" -eq 1 ]
    not_in_log "patch secret"
    not_in_log "rollout"
}

@test "set-secret llm-api-key kept in the release's own Secret via llm.existingSecret: patched and rolled" {
    export FAKE_LLM_REF=taskflow/llm-api-key FAKE_VALUES_JSON='{"llm":{"existingSecret":"taskflow"}}'
    STDIN_TEXT="sk-new-key-123" run_app "$set_secret" llm-api-key
    [ "$status" -eq 0 ]
    expected="$(cluster_calls)
helm status taskflow --namespace taskflow --kube-context minikube
kubectl --context minikube --namespace taskflow get deployments --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=backend -o json
kubectl --context minikube --namespace taskflow get secret taskflow -o json
helm get values taskflow --namespace taskflow --kube-context minikube -o json
kubectl --context minikube --namespace taskflow patch secret taskflow --type merge --patch-file /dev/stdin
kubectl --context minikube --namespace taskflow rollout restart deployment taskflow-backend
kubectl --context minikube --namespace taskflow rollout status deployment taskflow-backend --timeout 10m"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    [ "$(jq -r '.data["llm-api-key"]' "$FAKE_STATE/patch.json" | base64 -d)" = sk-new-key-123 ]
    # Marked as well, so that the values file may drop llm.existingSecret later.
    [ "$(jq -r '.metadata.annotations["taskflow/llm-api-key"]' "$FAKE_STATE/patch.json")" = stored ]
    assert_contains "$output" "Revoke the old one at the provider now."
    [[ $output != *"signs everybody out"* ]]
    not_in_log "helm upgrade"
}

# The calls of set-secret llm-api-key up to the patch, on the default release.
llm_calls() {
    cluster_calls
    cat <<'EOF2'
helm status taskflow --namespace taskflow --kube-context minikube
kubectl --context minikube --namespace taskflow get deployments --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=backend -o json
kubectl --context minikube --namespace taskflow get secret taskflow -o json
helm get values taskflow --namespace taskflow --kube-context minikube -o json
kubectl --context minikube --namespace taskflow patch secret taskflow --type merge --patch-file /dev/stdin
EOF2
}

# no_key_anywhere KEY: neither the calls nor the output show the key or its base64 form.
no_key_anywhere() {
    not_in_log "$1"
    not_in_log "$(printf '%s' "$1" | base64 -w0)"
    [[ $output != *"$1"* && $output != *"$(printf '%s' "$1" | base64 -w0)"* ]]
}

@test "set-secret llm-api-key when no key is in use: stores and marks it, helm upgrade keeping the values, checks the wiring" {
    export TASKFLOW_TIMEOUT=4m
    STDIN_TEXT="sk-first-key" run_app "$set_secret" llm-api-key
    [ "$status" -eq 0 ]
    expected="$(llm_calls)
helm upgrade taskflow $TASKFLOW_CHART --namespace taskflow --kube-context minikube --reset-then-reuse-values --wait --timeout 4m
kubectl --context minikube --namespace taskflow get deployments --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=backend -o json"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    assert_equal "$(cat "$FAKE_STATE/patch.json")" "{\"metadata\":{\"annotations\":{\"taskflow/llm-api-key\":\"stored\"}},\"data\":{\"llm-api-key\":\"$(printf '%s' sk-first-key | base64 -w0)\"}}"
    no_key_anywhere sk-first-key
    assert_contains "$output" "reads no LLM_API_KEY: the assistant runs offline"
    assert_contains "$output" "==> [5/5] Applying it: helm upgrade of release 'taskflow' (waiting up to 4m)"
    assert_contains "$output" "the release's values kept (--reset-then-reuse-values)"
    assert_contains "$output" "backend ready, reading LLM_API_KEY from Secret 'taskflow'"
    assert_contains "$output" "keeps the key across deploys until 'nix run .#set-secret -- llm-api-key --delete'"
    not_in_log "rollout"
    [[ $output != *"minikube-values.yaml"* ]]
}

@test "set-secret llm-api-key already in use from the release's Secret: stores it and restarts, no upgrade" {
    export FAKE_LLM_REF=taskflow/llm-api-key FAKE_STORED_KEY=1
    STDIN_TEXT="sk-rotated-key" run_app "$set_secret" llm-api-key
    [ "$status" -eq 0 ]
    expected="$(llm_calls)
kubectl --context minikube --namespace taskflow rollout restart deployment taskflow-backend
kubectl --context minikube --namespace taskflow rollout status deployment taskflow-backend --timeout 10m"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    [ "$(jq -r '.data["llm-api-key"]' "$FAKE_STATE/patch.json" | base64 -d)" = sk-rotated-key ]
    no_key_anywhere sk-rotated-key
    assert_contains "$output" "Rotated llm-api-key: the backend uses the new key. Revoke the old one at the provider now."
}

@test "set-secret llm-api-key: a failed or timed-out upgrade says the key stays stored and how to apply it" {
    FAKE_UPGRADE=fail STDIN_TEXT="sk-kept-key" run_app "$set_secret" llm-api-key
    [ "$status" -eq 6 ]
    assert_contains "$output" "helm upgrade of release 'taskflow' failed (messages above); the key stays stored in Secret 'taskflow'"
    assert_contains "$output" "apply it with 'nix run .#deploy' once the cause is fixed"
    assert_contains "$output" "UPGRADE FAILED"
    [ "$(jq -r '.data["llm-api-key"]' "$FAKE_STATE/patch.json" | base64 -d)" = sk-kept-key ]
    [ "$(grep -c "patch secret" "$FAKE_LOG")" -eq 1 ]
    no_key_anywhere sk-kept-key
    : >"$FAKE_LOG"
    FAKE_UPGRADE=timeout TASKFLOW_TIMEOUT=90s STDIN_TEXT="sk-kept-key" run_app "$set_secret" llm-api-key
    [ "$status" -eq 7 ]
    assert_contains "$output" "release 'taskflow' was not ready within 90s after the upgrade that applies the key; the key stays stored in Secret 'taskflow'"
    assert_contains "$output" "raise TASKFLOW_TIMEOUT and run this app again"
    grep -Fq "kubectl --context minikube --namespace taskflow get pods" "$FAKE_LOG"
    not_in_log "rollout"
    no_key_anywhere sk-kept-key
    : >"$FAKE_LOG"
    FAKE_UPGRADE=nowire STDIN_TEXT="sk-kept-key" run_app "$set_secret" llm-api-key
    [ "$status" -eq 6 ]
    assert_contains "$output" "does not read LLM_API_KEY from Secret 'taskflow' (is the chart at TASKFLOW_CHART older than 0.3.0?); the key stays stored"
    no_key_anywhere sk-kept-key
}

@test "set-secret llm-api-key needs the chart and the release's values before it changes anything" {
    TASKFLOW_CHART=$t/missing.tgz STDIN_TEXT="sk-new" run_app "$set_secret" llm-api-key
    [ "$status" -eq 3 ]
    assert_contains "$output" "TASKFLOW_CHART: chart '$t/missing.tgz' not found. Run the app through Nix"
    [ ! -s "$FAKE_LOG" ]
    # jwt-secret does not need it.
    TASKFLOW_CHART="" run "$set_secret" jwt-secret --generate </dev/null
    [ "$status" -eq 0 ]
    FAKE_VALUES=fail STDIN_TEXT="sk-new" run_app "$set_secret" llm-api-key
    [ "$status" -eq 6 ]
    assert_contains "$output" "could not read the values of release 'taskflow'"
    [ "$(grep -c "patch secret" "$FAKE_LOG")" -eq 1 ]
}

@test "set-secret llm-api-key --delete while in use: removes key and mark, helm upgrade, checks it is gone" {
    export FAKE_LLM_REF=taskflow/llm-api-key FAKE_STORED_KEY=1
    run "$set_secret" llm-api-key --delete </dev/null
    [ "$status" -eq 0 ]
    expected="$(llm_calls)
helm upgrade taskflow $TASKFLOW_CHART --namespace taskflow --kube-context minikube --reset-then-reuse-values --wait --timeout 10m
kubectl --context minikube --namespace taskflow get deployments --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=backend -o json"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    assert_equal "$(cat "$FAKE_STATE/patch.json")" '{"metadata":{"annotations":{"taskflow/llm-api-key":null}},"data":{"llm-api-key":null}}'
    assert_contains "$output" "==> [3/4] Removing llm-api-key from Secret 'taskflow'"
    assert_contains "$output" "==> [4/4] Applying it: helm upgrade of release 'taskflow'"
    assert_contains "$output" "backend ready, without LLM_API_KEY"
    assert_contains "$output" "Removed llm-api-key: the assistant runs offline."
    [[ $output != *"New llm-api-key"* ]]
}

@test "set-secret llm-api-key --delete: a stored key not in use is removed without an upgrade; none stored, nothing is done" {
    FAKE_STORED_KEY=1 run "$set_secret" llm-api-key --delete </dev/null
    [ "$status" -eq 0 ]
    assert_equal "$(cat "$FAKE_LOG")" "$(llm_calls)"
    assert_contains "$output" "nothing to do, deployment/taskflow-backend did not read it"
    : >"$FAKE_LOG"
    rm "$FAKE_STATE/patch.json"
    run "$set_secret" llm-api-key --delete </dev/null
    [ "$status" -eq 0 ]
    assert_contains "$output" "Secret 'taskflow' holds no llm-api-key: nothing to remove"
    not_in_log "patch secret"
    not_in_log "helm upgrade"
}

@test "set-secret llm-api-key --delete refuses keys from the values or a Secret of your own, and reports a failed upgrade" {
    export FAKE_LLM_REF=taskflow/llm-api-key FAKE_STORED_KEY=1
    FAKE_VALUES_JSON='{"llm":{"existingSecret":"taskflow"}}' run "$set_secret" llm-api-key --delete </dev/null
    [ "$status" -eq 8 ]
    assert_contains "$output" "Remove llm.existingSecret and llm.existingSecretKey from the values"
    FAKE_VALUES_JSON='{"llm":{"apiKey":"sk-in-values"}}' run "$set_secret" llm-api-key --delete </dev/null
    [ "$status" -eq 8 ]
    assert_contains "$output" "the chart value llm.apiKey"
    [[ $output != *"sk-in-values"* ]]
    FAKE_LLM_REF=taskflow-llm/llm-api-key run "$set_secret" llm-api-key --delete </dev/null
    [ "$status" -eq 8 ]
    assert_contains "$output" "Secret 'taskflow-llm', which you manage yourself"
    not_in_log "patch secret"
    FAKE_UPGRADE=timeout run "$set_secret" llm-api-key --delete </dev/null
    [ "$status" -eq 7 ]
    assert_contains "$output" "after the upgrade that applies the removal; the key is gone from Secret 'taskflow', but pods of deployment/taskflow-backend that start before the upgrade goes through cannot"
    assert_contains "$output" "apply it with 'nix run .#deploy'"
}

@test "set-secret refuses (status 8) a key from llm.apiKey and Secrets the user manages" {
    export FAKE_LLM_REF=taskflow/llm-api-key FAKE_VALUES_JSON='{"llm":{"apiKey":"sk-in-values"}}'
    STDIN_TEXT="sk-new" run_app "$set_secret" llm-api-key
    [ "$status" -eq 8 ]
    assert_contains "$output" "the chart value llm.apiKey, and every helm upgrade writes that value back"
    [[ $output != *"sk-in-values"* ]]
    export FAKE_LLM_REF=taskflow-llm/llm-api-key FAKE_VALUES_JSON='{}'
    STDIN_TEXT="sk-new" run_app "$set_secret" llm-api-key
    [ "$status" -eq 8 ]
    assert_contains "$output" "Secret 'taskflow-llm', which you manage yourself"
    assert_contains "$output" "rollout restart deployment/taskflow-backend"
    export FAKE_JWT_REF=my-secrets/session-key
    STDIN_TEXT="a-new-session-key-of-forty-bytes-long!!!" run_app "$set_secret" jwt-secret
    [ "$status" -eq 8 ]
    assert_contains "$output" "Secret 'my-secrets', which you manage yourself"
    assert_contains "$output" "Change key 'session-key' there"
    # No LLM key in use, and the release's secrets in a Secret of your own (existingSecret).
    export FAKE_LLM_REF=""
    STDIN_TEXT="sk-new" run_app "$set_secret" llm-api-key
    [ "$status" -eq 8 ]
    assert_contains "$output" "keeps its secrets in Secret 'my-secrets', which you manage yourself (existingSecret)"
    assert_contains "$output" "set llm.existingSecret=my-secrets"
    not_in_log "patch secret"
    not_in_log "helm upgrade"
}

@test "set-secret failure paths: cluster (4), release or backend missing (5), patch (6), rollout (6, 7), tool (3)" {
    check_cluster_failures "$set_secret" jwt-secret --generate
    FAKE_RELEASE=missing run "$set_secret" jwt-secret --generate
    [ "$status" -eq 5 ]
    assert_contains "$output" "release 'taskflow' is not installed in namespace 'taskflow'"
    FAKE_BACKEND=none run "$set_secret" jwt-secret --generate
    [ "$status" -eq 5 ]
    assert_contains "$output" "has no backend Deployment"
    FAKE_PATCH=fail run "$set_secret" jwt-secret --generate
    [ "$status" -eq 6 ]
    assert_contains "$output" "could not patch Secret 'taskflow'"
    FAKE_ROLLOUT=timeout TASKFLOW_TIMEOUT=90s run "$set_secret" jwt-secret --generate
    [ "$status" -eq 7 ]
    assert_contains "$output" "deployment/taskflow-backend was not ready within 90s"
    FAKE_ROLLOUT=fail run "$set_secret" jwt-secret --generate
    [ "$status" -eq 6 ]
    assert_contains "$output" "did not roll out"
    rm "$t/sys/jq"
    run "$set_secret" jwt-secret --generate
    [ "$status" -eq 3 ]
    assert_contains "$output" "jq not found on PATH"
}

@test "set-secret passes profile, release, namespace and timeout through" {
    export TASKFLOW_MINIKUBE_PROFILE=tf TASKFLOW_RELEASE=demo TASKFLOW_NAMESPACE=apps TASKFLOW_TIMEOUT=3m
    export FAKE_MANAGED_SECRETS=taskflow
    run "$set_secret" jwt-secret --generate
    # The fake's Secret belongs to release taskflow/taskflow, not demo/apps: refused.
    [ "$status" -eq 8 ]
    grep -Fxq "kubectl config get-contexts tf" "$FAKE_LOG"
    grep -Fxq "helm status demo --namespace apps --kube-context tf" "$FAKE_LOG"
    grep -Fxq "kubectl --context tf --namespace apps get deployments --selector app.kubernetes.io/instance=demo,app.kubernetes.io/component=backend -o json" "$FAKE_LOG"
}

# --- rollback ------------------------------------------------------------------------------

rollback_calls() {
    cluster_calls
    cat <<EOF
helm history taskflow --namespace taskflow --kube-context minikube --max 256 -o json
helm rollback taskflow $1 --namespace taskflow --kube-context minikube --wait --timeout 10m
kubectl --context minikube --namespace taskflow get pods --selector app.kubernetes.io/instance=taskflow
helm history taskflow --namespace taskflow --kube-context minikube --max 3
EOF
}

@test "rollback --help and usage errors" {
    run "$rollback" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#rollback [-- REVISION | --help]"
    assert_contains "$output" "The database is not rolled back"
    run "$rollback" two
    [ "$status" -eq 2 ]
    assert_contains "$output" "REVISION must be a revision number"
    run "$rollback" 1 2
    [ "$status" -eq 2 ]
    run "$rollback" --bogus
    [ "$status" -eq 2 ]
    [ ! -s "$FAKE_LOG" ]
}

@test "rollback without a revision: back to the previous one, waits, shows the result and why the schema stays" {
    run "$rollback"
    [ "$status" -eq 0 ]
    assert_equal "$(cat "$FAKE_LOG")" "$(rollback_calls 1)"
    assert_contains "$output" "current revision: 2, deployed, taskflow-0.3.0 (app 0.1.0)"
    assert_contains "$output" "==> [3/4] Rolling back to revision 1 (waiting up to 10m for the pods)"
    assert_contains "$output" "Rollback was a success!"
    assert_contains "$output" "taskflow-postgresql-0"
    assert_contains "$output" "The database was not rolled back: migrations only add to the schema"
}

@test "rollback skips failed revisions when choosing the previous one; a given revision is used as is" {
    export FAKE_HISTORY="1:superseded 2:superseded 3:failed 4:deployed"
    run "$rollback"
    [ "$status" -eq 0 ]
    grep -Fxq "helm rollback taskflow 2 --namespace taskflow --kube-context minikube --wait --timeout 10m" "$FAKE_LOG"
    : >"$FAKE_LOG"
    run "$rollback" 1
    [ "$status" -eq 0 ]
    assert_equal "$(cat "$FAKE_LOG")" "$(rollback_calls 1)"
}

@test "rollback refuses an unknown or current revision, and a release with one revision (status 1)" {
    export FAKE_HISTORY="1:superseded 2:deployed"
    run "$rollback" 7
    [ "$status" -eq 1 ]
    assert_contains "$output" "release 'taskflow' has no revision 7; its revisions are: 1 2"
    run "$rollback" 2
    [ "$status" -eq 1 ]
    assert_contains "$output" "revision 2 is the current one"
    FAKE_HISTORY="1:deployed" run "$rollback"
    [ "$status" -eq 1 ]
    assert_contains "$output" "has only one revision; there is nothing to roll back to"
    FAKE_HISTORY="1:failed 2:deployed" run "$rollback"
    [ "$status" -eq 1 ]
    assert_contains "$output" "no earlier revision that was deployed successfully"
    not_in_log "helm rollback"
}

@test "rollback failure paths: cluster (4), release missing (5), Helm failure (6), timeout (7)" {
    check_cluster_failures "$rollback"
    FAKE_RELEASE=missing run "$rollback"
    [ "$status" -eq 5 ]
    assert_contains "$output" "release 'taskflow' is not installed in namespace 'taskflow'; there is nothing to roll back"
    FAKE_ROLLBACK=fail run "$rollback"
    [ "$status" -eq 6 ]
    assert_contains "$output" "helm rollback to revision 1 failed"
    FAKE_ROLLBACK=timeout TASKFLOW_TIMEOUT=2m run "$rollback"
    [ "$status" -eq 7 ]
    assert_contains "$output" "timed out after 2m waiting for the pods of revision 1"
    assert_contains "$output" "Raise TASKFLOW_TIMEOUT"
}

# --- backup --------------------------------------------------------------------------------

# The calls of a backup run, up to the dump.
backup_calls() {
    cluster_calls
    cat <<'EOF'
helm status taskflow --namespace taskflow --kube-context minikube
kubectl --context minikube --namespace taskflow get pods --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=postgresql -o jsonpath={range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}
EOF
    # shellcheck disable=SC2016
    echo 'kubectl --context minikube --namespace taskflow exec taskflow-postgresql-0 --container postgresql -- sh -c export PGPASSWORD; PGPASSWORD=$(<"$POSTGRES_PASSWORD_FILE"); exec pg_dump --format=custom --host="${PGHOST:-/tmp}" --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'
}

@test "backup --help and usage errors" {
    run "$backup" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#backup [-- [--force] [FILE] | --help]"
    run "$backup" a b
    [ "$status" -eq 2 ]
    run "$backup" --bogus
    [ "$status" -eq 2 ]
    [ ! -s "$FAKE_LOG" ]
}

@test "backup without FILE: <release>-<UTC time>.dump in the current directory, checked with pg_restore" {
    cd "$t/out"
    run "$backup"
    [ "$status" -eq 0 ]
    files=(taskflow-*.dump)
    [ "${#files[@]}" -eq 1 ]
    [[ ${files[0]} =~ ^taskflow-[0-9]{8}T[0-9]{6}Z\.dump$ ]]
    expected="$(backup_calls)
pg_restore --list ./.${files[0]}."
    [[ $(cat "$FAKE_LOG") == "$expected"* ]]
    [ "$(head -c 5 "${files[0]}")" = PGDMP ]
    assert_contains "$output" "readable by pg_restore: 5 tables with data"
    assert_contains "$output" "Backup written: ${files[0]}"
    assert_contains "$output" "nix run .#restore -- ${files[0]}"
    # No temporary file left behind.
    [ "$(find . -mindepth 1 | wc -l)" -eq 1 ]
}

@test "backup never replaces an existing file without --force" {
    echo keep >"$t/out/db.dump"
    run "$backup" "$t/out/db.dump"
    [ "$status" -eq 1 ]
    assert_contains "$output" "$t/out/db.dump exists; choose another name, or replace it with --force"
    [ "$(cat "$t/out/db.dump")" = keep ]
    [ ! -s "$FAKE_LOG" ]
    run "$backup" --force "$t/out/db.dump"
    [ "$status" -eq 0 ]
    [ "$(head -c 5 "$t/out/db.dump")" = PGDMP ]
}

@test "backup failure paths leave no file: pg_dump fails (6), empty or unreadable dump (6), timeout (7)" {
    FAKE_DUMP=fail run "$backup" "$t/out/a.dump"
    [ "$status" -eq 6 ]
    assert_contains "$output" "password authentication failed"
    assert_contains "$output" "pg_dump in pod taskflow-postgresql-0 failed (messages above); nothing was written"
    FAKE_DUMP=empty run "$backup" "$t/out/a.dump"
    [ "$status" -eq 6 ]
    assert_contains "$output" "the dump is empty"
    FAKE_DUMP=garbage run "$backup" "$t/out/a.dump"
    [ "$status" -eq 6 ]
    assert_contains "$output" "pg_restore cannot read the dump"
    FAKE_DUMP=hang TASKFLOW_TIMEOUT=1s run "$backup" "$t/out/a.dump"
    [ "$status" -eq 7 ]
    assert_contains "$output" "the dump took longer than 1s and was stopped"
    [ -z "$(ls -A "$t/out")" ]
}

@test "backup failure paths: cluster (4), release or database pod missing or not running (5), bad settings (1)" {
    check_cluster_failures "$backup" "$t/out/a.dump"
    FAKE_RELEASE=missing run "$backup" "$t/out/a.dump"
    [ "$status" -eq 5 ]
    assert_contains "$output" "release 'taskflow' is not installed in namespace 'taskflow'"
    FAKE_PG_POD=none run "$backup" "$t/out/a.dump"
    [ "$status" -eq 5 ]
    assert_contains "$output" "has no PostgreSQL pod (with postgresql.enabled=false the database is external"
    FAKE_PG_POD=Pending run "$backup" "$t/out/a.dump"
    [ "$status" -eq 5 ]
    assert_contains "$output" "PostgreSQL pod taskflow-postgresql-0 is Pending, not Running"
    run "$backup" "$t/missing-dir/a.dump"
    [ "$status" -eq 1 ]
    assert_contains "$output" "cannot write to directory '$t/missing-dir'"
    TASKFLOW_TIMEOUT=soon run "$backup" "$t/out/a.dump"
    [ "$status" -eq 1 ]
    assert_contains "$output" "TASKFLOW_TIMEOUT must be a number of seconds"
    rm "$t/fake/pg_restore"
    run "$backup" "$t/out/a.dump"
    [ "$status" -eq 3 ]
    assert_contains "$output" "pg_restore not found on PATH"
    [ -z "$(ls -A "$t/out")" ]
}

# --- restore -------------------------------------------------------------------------------

# shellcheck disable=SC2016
psql_exec='exec -i taskflow-postgresql-0 --container postgresql -- sh -c export PGPASSWORD; PGPASSWORD=$(<"$POSTGRES_PASSWORD_FILE"); exec psql --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 --host="${PGHOST:-/tmp}" --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'

restore_calls() {
    echo "pg_restore --list $t/good.dump"
    echo "pg_restore --no-owner --no-privileges --file=- $t/good.dump"
    cluster_calls
    cat <<EOF
helm status taskflow --namespace taskflow --kube-context minikube
kubectl --context minikube --namespace taskflow get pods --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=postgresql -o jsonpath={range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}
kubectl --context minikube --namespace taskflow get deployments --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=backend -o jsonpath={range .items[*]}{.metadata.name} {.spec.replicas}{"\n"}{end}
kubectl --context minikube --namespace taskflow $psql_exec
kubectl --context minikube --namespace taskflow get pods --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=backend -o jsonpath={range .items[*]}pod/{.metadata.name}{"\n"}{end}
kubectl --context minikube --namespace taskflow scale deployment taskflow-backend --replicas 0
kubectl --context minikube --namespace taskflow wait --for=delete pod/taskflow-backend-7d9f8-x2x4q --timeout 10m
kubectl --context minikube --namespace taskflow $psql_exec
kubectl --context minikube --namespace taskflow scale deployment taskflow-backend --replicas 1
kubectl --context minikube --namespace taskflow rollout status deployment taskflow-backend --timeout 10m
kubectl --context minikube --namespace taskflow $psql_exec
EOF
}

@test "restore --help and usage errors" {
    run "$restore" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#restore -- [--force] FILE"
    run "$restore"
    [ "$status" -eq 2 ]
    assert_contains "$output" "missing FILE, the dump to restore"
    run "$restore" a b
    [ "$status" -eq 2 ]
    run "$restore" --bogus x
    [ "$status" -eq 2 ]
    [ ! -s "$FAKE_LOG" ]
}

@test "restore into an empty database: stops the backend, one transaction that replaces public, starts it again" {
    run "$restore" "$t/good.dump"
    [ "$status" -eq 0 ]
    assert_equal "$(cat "$FAKE_LOG")" "$(restore_calls)"
    expected_sql="BEGIN;
DROP SCHEMA public CASCADE;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
COMMENT ON SCHEMA public IS 'standard public schema';
-- restore of good.dump
COPY public.users (id, name) FROM stdin;
COMMIT;"
    assert_equal "$(cat "$FAKE_STATE/restore.sql")" "$expected_sql"
    [ "$(cat "$FAKE_STATE/replicas")" = 1 ]
    assert_contains "$output" "the database holds no data"
    assert_contains "$output" "==> [4/6] Stopping the backend"
    assert_contains "$output" "users: 1 rows"
    assert_contains "$output" "Restored $t/good.dump into release 'taskflow'."
}

@test "restore refuses a database with data (status 8) unless --force" {
    export FAKE_ROWS="users 2 tasks 5"
    run "$restore" "$t/good.dump"
    [ "$status" -eq 8 ]
    assert_contains "$output" "the database of release 'taskflow' holds data: tasks (5 rows), users (2 rows). Restore into a fresh release, or replace that data with --force"
    not_in_log "scale"
    [ ! -e "$FAKE_STATE/restore.sql" ]
    run "$restore" --force "$t/good.dump"
    [ "$status" -eq 0 ]
    assert_contains "$output" "--force: it will be replaced"
    [ -e "$FAKE_STATE/restore.sql" ]
}

@test "restore refuses a missing, unreadable or foreign file (status 1) before touching the cluster" {
    run "$restore" "$t/none.dump"
    [ "$status" -eq 1 ]
    assert_contains "$output" "$t/none.dump does not exist"
    echo "SELECT 1;" >"$t/plain.sql"
    run "$restore" "$t/plain.sql"
    [ "$status" -eq 1 ]
    assert_contains "$output" "is not a dump that pg_restore can read"
    run "$restore" "$t"
    [ "$status" -eq 1 ]
    assert_contains "$output" "$t is not a readable file"
    not_in_log "minikube"
    not_in_log "kubectl"
}

@test "restore that fails or hangs is rolled back, and the backend is started again either way" {
    FAKE_RESTORE=fail run "$restore" "$t/good.dump"
    [ "$status" -eq 6 ]
    assert_contains "$output" 'relation "users" already exists'
    assert_contains "$output" "the restore failed (messages above); it was rolled back, the database is unchanged"
    assert_contains "$output" "the backend was scaled back to 1 pod(s)"
    [ "$(cat "$FAKE_STATE/replicas")" = 1 ]
    FAKE_RESTORE=hang TASKFLOW_TIMEOUT=1s run "$restore" "$t/good.dump"
    [ "$status" -eq 7 ]
    assert_contains "$output" "the restore took longer than 1s and was stopped; the transaction was rolled back"
    [ "$(cat "$FAKE_STATE/replicas")" = 1 ]
    FAKE_WAIT=timeout FAKE_REPLICAS=2 run "$restore" "$t/good.dump"
    [ "$status" -eq 7 ]
    assert_contains "$output" "the backend pods did not stop within 10m; nothing was restored"
    [ "$(cat "$FAKE_STATE/replicas")" = 1 ]
}

@test "restore keeps the backend's number of pods, and reports a backend that does not come back (7)" {
    export FAKE_REPLICAS=3
    FAKE_ROLLOUT=timeout run "$restore" "$t/good.dump"
    [ "$status" -eq 7 ]
    assert_contains "$output" "the backend did not become ready within 10m after the restore"
    grep -Fxq "kubectl --context minikube --namespace taskflow scale deployment taskflow-backend --replicas 3" "$FAKE_LOG"
    [ "$(cat "$FAKE_STATE/replicas")" = 3 ]
}

@test "restore failure paths: cluster (4), release, database pod or backend missing (5), tools (3)" {
    check_cluster_failures "$restore" "$t/good.dump"
    FAKE_RELEASE=missing run "$restore" "$t/good.dump"
    [ "$status" -eq 5 ]
    assert_contains "$output" "install a fresh one with 'nix run .#deploy' first"
    FAKE_PG_POD=none run "$restore" "$t/good.dump"
    [ "$status" -eq 5 ]
    FAKE_BACKEND=none run "$restore" "$t/good.dump"
    [ "$status" -eq 5 ]
    assert_contains "$output" "has no backend Deployment"
    rm "$t/fake/helm"
    run "$restore" "$t/good.dump"
    [ "$status" -eq 3 ]
    assert_contains "$output" "helm not found on PATH"
    not_in_log "scale"
}
