#!/usr/bin/env bats
#
# The secrets survive upgrades because the chart reads the existing Secret back with
# `lookup`. Without a cluster `lookup` returns nothing, so these tests run helm
# against fake-apiserver.py: a read-only stand-in for the Kubernetes API on
# 127.0.0.1 that serves version and discovery answers plus the Secrets we give it.
# `helm template --dry-run=server` then renders exactly as `helm upgrade` would,
# with the same lookups. The same way, the provider's key that `set-secret` stores in
# the release's Secret (marked by an annotation) is wired to the backend and opens its
# egress only when it is there. What is NOT covered: a real API server's admission and
# storage (no cluster here).

# Variables such as chart_dir come from helpers.bash; jq programs are in single quotes.
# shellcheck disable=SC2154,SC2016
load helpers

# A Secret as the chart's first install left it (Helm's ownership labels included).
release_secret() {
    local name=$1 data=$2
    jq -n --arg name "$name" --argjson data "$data" '{
        apiVersion: "v1", kind: "Secret", type: "Opaque",
        metadata: {name: $name, namespace: "taskflow",
                   labels: {"app.kubernetes.io/managed-by": "Helm"},
                   annotations: {"meta.helm.sh/release-name": "taskflow", "meta.helm.sh/release-namespace": "taskflow"}},
        data: $data}'
}

# The release's Secret with an llm-api-key stored by set-secret (its annotation included).
stored_key_secret() {
    local data=$1
    release_secret taskflow "$data" | jq '.metadata.annotations["taskflow/llm-api-key"] = "stored"'
}

backend_filter='.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend")'
policy_filter='.[] | select(.kind == "NetworkPolicy" and .metadata.labels["app.kubernetes.io/component"] == "backend")'

# llm_ref FILE: "<Secret>/<key>" the backend reads LLM_API_KEY from, or nothing.
llm_ref() {
    q "$1" "$backend_filter"' | .spec.template.spec.containers[] | select(.name == "backend") | .env[]
        | select(.name == "LLM_API_KEY") | .valueFrom.secretKeyRef | "\(.name)/\(.key)"'
}

# egress_ports FILE: the TCP ports of the backend's egress rules other than DNS and PostgreSQL.
egress_ports() {
    q "$1" "[$policy_filter"' | .spec.egress[] | .ports[] | select(.port != 53 and .port != 5432) | .port] | map(tostring) | join(",")'
}

b64() {
    printf '%s' "$1" | base64 -w0
}

# start_fake SECRET-JSON...: starts the fake API server with these Secrets.
start_fake() {
    jq -s . <<<"$*" >"$BATS_TEST_TMPDIR/secrets.json"
    coproc FAKE { exec python3 "$BATS_TEST_DIRNAME/fake-apiserver.py" "$BATS_TEST_TMPDIR/secrets.json"; }
    read -r -t 10 fake_port <&"${FAKE[0]}" || fail_with "the fake API server did not start"
    # FAKE_PID is set by coproc.
    # shellcheck disable=SC2153
    fake_pid=$FAKE_PID
}

teardown() {
    if [[ -n ${fake_pid:-} ]]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
    fi
}

# render_against_fake OUT.json [helm arguments...]: renders as an upgrade would,
# with lookups answered by the fake API server.
render_against_fake() {
    local out=$1
    shift
    HOME=$BATS_TEST_TMPDIR KUBECONFIG=/dev/null helm template taskflow "$chart_dir" --namespace taskflow \
        --dry-run=server --kube-apiserver "http://127.0.0.1:$fake_port" --disable-openapi-validation \
        "$@" >"${out%.json}.yaml" || return 1
    yq -s 'map(select(. != null))' "${out%.json}.yaml" >"$out"
}

secret_value() {
    q "$1" ".[] | select(.kind == \"Secret\") | .data[\"$2\"] | @base64d"
}

@test "upgrade: the JWT key and database password of the existing Secret are kept, not regenerated" {
    local jwt=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef pw=KeptPassword0123456789abcdefABCD
    start_fake "$(release_secret taskflow "{\"jwt-secret\": \"$(b64 $jwt)\", \"postgres-password\": \"$(b64 $pw)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/up.json"
    [ "$(secret_value "$BATS_TEST_TMPDIR/up.json" jwt-secret)" = "$jwt" ]
    [ "$(secret_value "$BATS_TEST_TMPDIR/up.json" postgres-password)" = "$pw" ]
    # DATABASE_URL is rebuilt from the kept password.
    [ "$(secret_value "$BATS_TEST_TMPDIR/up.json" database-url)" = "postgres://taskflow:$pw@taskflow-postgresql:5432/taskflow" ]
}

@test "upgrade: rendering twice against the same Secret gives identical pods (no needless restart)" {
    start_fake "$(release_secret taskflow "{\"jwt-secret\": \"$(b64 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef)\", \"postgres-password\": \"$(b64 Abc123Abc123Abc123Abc123Abc123Ab)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/one.json"
    render_against_fake "$BATS_TEST_TMPDIR/two.json"
    local pods='[.[] | select(.kind == "Deployment" or .kind == "StatefulSet") | .spec.template]'
    [ "$(q "$BATS_TEST_TMPDIR/one.json" "$pods" -cS)" = "$(q "$BATS_TEST_TMPDIR/two.json" "$pods" -cS)" ]
}

@test "first install: with no Secret in the cluster, new values are generated" {
    start_fake
    render_against_fake "$BATS_TEST_TMPDIR/first.json"
    secret_value "$BATS_TEST_TMPDIR/first.json" jwt-secret | grep -Eqx '[0-9a-f]{64}'
    secret_value "$BATS_TEST_TMPDIR/first.json" postgres-password | grep -Eqx '[A-Za-z0-9]{32}'
}

@test "upgrade: a missing key is generated while the existing one is kept" {
    # For example a release first installed with an external database (JWT key only).
    local jwt=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
    start_fake "$(release_secret taskflow "{\"jwt-secret\": \"$(b64 $jwt)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/mixed.json"
    [ "$(secret_value "$BATS_TEST_TMPDIR/mixed.json" jwt-secret)" = "$jwt" ]
    secret_value "$BATS_TEST_TMPDIR/mixed.json" postgres-password | grep -Eqx '[A-Za-z0-9]{32}'
}

@test "existingSecret: changing its data changes checksum/secret, so the backend pods roll" {
    local sum='.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.template.metadata.annotations["checksum/secret"]'
    start_fake "$(release_secret mine "{\"jwt-secret\": \"$(b64 first-key-first-key-first-key-first-key)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/a.json" --set existingSecret=mine
    teardown
    start_fake "$(release_secret mine "{\"jwt-secret\": \"$(b64 second-key-second-key-second-key-second)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/b.json" --set existingSecret=mine
    [ "$(q "$BATS_TEST_TMPDIR/a.json" "$sum")" != "$(q "$BATS_TEST_TMPDIR/b.json" "$sum")" ]
}

@test "upgrade: the provider's key follows the values; without the set-secret mark it is not kept from the cluster, nor generated" {
    local jwt=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef pw=KeptPassword0123456789abcdefABCD
    start_fake "$(release_secret taskflow "{\"jwt-secret\": \"$(b64 $jwt)\", \"postgres-password\": \"$(b64 $pw)\", \"llm-api-key\": \"$(b64 sk-old-key)\"}")"
    # Given again, or replaced: the values win, the generated values stay.
    render_against_fake "$BATS_TEST_TMPDIR/new.json" --set llm.apiKey=sk-new-key
    [ "$(secret_value "$BATS_TEST_TMPDIR/new.json" llm-api-key)" = sk-new-key ]
    [ "$(secret_value "$BATS_TEST_TMPDIR/new.json" jwt-secret)" = "$jwt" ]
    [ "$(secret_value "$BATS_TEST_TMPDIR/new.json" postgres-password)" = "$pw" ]
    # Left out: removed from the Secret and from the pods (offline assistant).
    render_against_fake "$BATS_TEST_TMPDIR/none.json"
    [ "$(q "$BATS_TEST_TMPDIR/none.json" '.[] | select(.kind == "Secret") | .data | keys | join(",")')" = "database-url,jwt-secret,postgres-password" ]
    [ "$(q "$BATS_TEST_TMPDIR/none.json" '[.[] | select(.kind == "Deployment") | .spec.template.spec.containers[].env[]? | select(.name == "LLM_API_KEY")] | length')" = 0 ]
    [ "$(secret_value "$BATS_TEST_TMPDIR/none.json" jwt-secret)" = "$jwt" ]
}

@test "llm.existingSecret: changing the provider's key there changes checksum/secret, so the backend pods roll" {
    local sum='.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.template.metadata.annotations["checksum/secret"]'
    local jwt=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef pw=KeptPassword0123456789abcdefABCD
    local own
    own=$(release_secret taskflow "{\"jwt-secret\": \"$(b64 $jwt)\", \"postgres-password\": \"$(b64 $pw)\"}")
    start_fake "$own" "$(release_secret provider "{\"llm-api-key\": \"$(b64 sk-first-key)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/a.json" --set llm.existingSecret=provider
    render_against_fake "$BATS_TEST_TMPDIR/a2.json" --set llm.existingSecret=provider
    teardown
    start_fake "$own" "$(release_secret provider "{\"llm-api-key\": \"$(b64 sk-second-key)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/b.json" --set llm.existingSecret=provider
    [ "$(q "$BATS_TEST_TMPDIR/a.json" "$sum")" = "$(q "$BATS_TEST_TMPDIR/a2.json" "$sum")" ]
    [ "$(q "$BATS_TEST_TMPDIR/a.json" "$sum")" != "$(q "$BATS_TEST_TMPDIR/b.json" "$sum")" ]
    # The chart's own Secret is untouched by it.
    [ "$(q "$BATS_TEST_TMPDIR/b.json" '.[] | select(.kind == "Secret") | .data | has("llm-api-key")')" = false ]
}

@test "stored key: an llm-api-key that set-secret stored in the live Secret is kept and used, with the provider egress" {
    local jwt=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef pw=KeptPassword0123456789abcdefABCD
    start_fake "$(stored_key_secret "{\"jwt-secret\": \"$(b64 $jwt)\", \"postgres-password\": \"$(b64 $pw)\", \"llm-api-key\": \"$(b64 sk-stored-key)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/stored.json"
    [ "$(secret_value "$BATS_TEST_TMPDIR/stored.json" llm-api-key)" = sk-stored-key ]
    [ "$(q "$BATS_TEST_TMPDIR/stored.json" '.[] | select(.kind == "Secret") | .metadata.annotations["taskflow/llm-api-key"]')" = stored ]
    [ "$(secret_value "$BATS_TEST_TMPDIR/stored.json" jwt-secret)" = "$jwt" ]
    [ "$(llm_ref "$BATS_TEST_TMPDIR/stored.json")" = taskflow/llm-api-key ]
    [ "$(egress_ports "$BATS_TEST_TMPDIR/stored.json")" = 443 ]
    # Exactly what the same key given as llm.apiKey renders, but for the marking annotation.
    render_against_fake "$BATS_TEST_TMPDIR/values.json" --set llm.apiKey=sk-stored-key
    local policy="[$policy_filter]" pods='[.[] | select(.kind == "Deployment") | .spec.template]'
    [ "$(q "$BATS_TEST_TMPDIR/stored.json" "$policy" -cS)" = "$(q "$BATS_TEST_TMPDIR/values.json" "$policy" -cS)" ]
    [ "$(q "$BATS_TEST_TMPDIR/stored.json" "$pods" -cS)" = "$(q "$BATS_TEST_TMPDIR/values.json" "$pods" -cS)" ]
    [ "$(q "$BATS_TEST_TMPDIR/values.json" '.[] | select(.kind == "Secret") | .metadata.annotations | has("taskflow/llm-api-key")')" = false ]
    # A different stored key rolls the backend (checksum/secret).
    local sum="$backend_filter"' | .spec.template.metadata.annotations["checksum/secret"]'
    teardown
    start_fake "$(stored_key_secret "{\"jwt-secret\": \"$(b64 $jwt)\", \"postgres-password\": \"$(b64 $pw)\", \"llm-api-key\": \"$(b64 sk-rotated-key)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/rotated.json"
    [ "$(q "$BATS_TEST_TMPDIR/stored.json" "$sum")" != "$(q "$BATS_TEST_TMPDIR/rotated.json" "$sum")" ]
}

@test "stored key: absent, unmarked or empty, nothing is wired and the backend gets no provider egress" {
    local jwt=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    # No key (set-secret --delete removes key and annotation together).
    start_fake "$(release_secret taskflow "{\"jwt-secret\": \"$(b64 $jwt)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/none.json"
    [ -z "$(llm_ref "$BATS_TEST_TMPDIR/none.json")" ]
    [ -z "$(egress_ports "$BATS_TEST_TMPDIR/none.json")" ]
    [ "$(q "$BATS_TEST_TMPDIR/none.json" '.[] | select(.kind == "Secret") | .metadata.annotations | has("taskflow/llm-api-key")')" = false ]
    teardown
    # A key without the annotation (for example left by an llm.apiKey of an older chart).
    start_fake "$(release_secret taskflow "{\"jwt-secret\": \"$(b64 $jwt)\", \"llm-api-key\": \"$(b64 sk-unmarked)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/unmarked.json"
    [ -z "$(llm_ref "$BATS_TEST_TMPDIR/unmarked.json")" ]
    [ -z "$(egress_ports "$BATS_TEST_TMPDIR/unmarked.json")" ]
    [ "$(q "$BATS_TEST_TMPDIR/unmarked.json" '.[] | select(.kind == "Secret") | .data | has("llm-api-key")')" = false ]
    teardown
    # The annotation without a value.
    start_fake "$(stored_key_secret "{\"jwt-secret\": \"$(b64 $jwt)\", \"llm-api-key\": \"\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/empty.json"
    [ -z "$(llm_ref "$BATS_TEST_TMPDIR/empty.json")" ]
    [ -z "$(egress_ports "$BATS_TEST_TMPDIR/empty.json")" ]
}

@test "stored key: without a cluster (helm template) the no-key state renders" {
    render "$BATS_TEST_TMPDIR/offline.json"
    [ -z "$(llm_ref "$BATS_TEST_TMPDIR/offline.json")" ]
    [ -z "$(egress_ports "$BATS_TEST_TMPDIR/offline.json")" ]
}

@test "stored key: llm.apiKey wins over it, llm.existingSecret and existingSecret leave it alone" {
    local jwt=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    start_fake "$(stored_key_secret "{\"jwt-secret\": \"$(b64 $jwt)\", \"llm-api-key\": \"$(b64 sk-stored-key)\"}")" \
        "$(release_secret provider "{\"api-key\": \"$(b64 sk-provider-key)\"}")" \
        "$(release_secret mine "{\"jwt-secret\": \"$(b64 $jwt)\", \"database-url\": \"$(b64 postgres://u:p@db:5432/d)\"}")"
    render_against_fake "$BATS_TEST_TMPDIR/values.json" --set llm.apiKey=sk-values-key
    [ "$(secret_value "$BATS_TEST_TMPDIR/values.json" llm-api-key)" = sk-values-key ]
    [ "$(llm_ref "$BATS_TEST_TMPDIR/values.json")" = taskflow/llm-api-key ]
    [ "$(q "$BATS_TEST_TMPDIR/values.json" '.[] | select(.kind == "Secret") | .metadata.annotations | has("taskflow/llm-api-key")')" = false ]
    render_against_fake "$BATS_TEST_TMPDIR/own.json" --set llm.existingSecret=provider --set llm.existingSecretKey=api-key
    [ "$(llm_ref "$BATS_TEST_TMPDIR/own.json")" = provider/api-key ]
    [ "$(egress_ports "$BATS_TEST_TMPDIR/own.json")" = 443 ]
    [ "$(q "$BATS_TEST_TMPDIR/own.json" '.[] | select(.kind == "Secret") | .data | has("llm-api-key")')" = false ]
    render_against_fake "$BATS_TEST_TMPDIR/mine.json" --set existingSecret=mine
    [ -z "$(llm_ref "$BATS_TEST_TMPDIR/mine.json")" ]
    [ -z "$(egress_ports "$BATS_TEST_TMPDIR/mine.json")" ]
}

@test "stored key: one that breaks the backend's rule stops the upgrade with a message that names no value" {
    start_fake "$(stored_key_secret "{\"jwt-secret\": \"$(b64 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef)\", \"llm-api-key\": \"$(b64 'sk-with space')\"}")"
    run render_against_fake "$BATS_TEST_TMPDIR/bad.json"
    [ "$status" -ne 0 ]
    [[ $output == *'the llm-api-key stored in Secret "taskflow" is not printable ASCII'* ]]
    [[ $output != *sk-with* ]]
}

@test "stored key: set-secret writes the annotation and key the chart looks for" {
    local annotation
    annotation=$(sed -n 's/.*define "taskflow.storedLlmApiKeyAnnotation" -}}\([^{]*\){{- end.*/\1/p' "$chart_dir/templates/_helpers.tpl")
    [ "$annotation" = taskflow/llm-api-key ]
    grep -Fq "stored_mark=$annotation" "$repo_root/nix/apps/set-secret.sh"
}
