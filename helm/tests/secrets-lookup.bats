#!/usr/bin/env bats
#
# The secrets survive upgrades because the chart reads the existing Secret back with
# `lookup`. Without a cluster `lookup` returns nothing, so these tests run helm
# against fake-apiserver.py: a read-only stand-in for the Kubernetes API on
# 127.0.0.1 that serves version and discovery answers plus the Secrets we give it.
# `helm template --dry-run=server` then renders exactly as `helm upgrade` would,
# with the same lookups. What is NOT covered: a real API server's admission and
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

@test "upgrade: the provider's key follows the values; it is never kept from the cluster or generated" {
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
