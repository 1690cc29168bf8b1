#!/usr/bin/env bats
#
# The assistant's settings: LLM_* and MCP_ALLOWED_HOSTS in the backend's ConfigMap,
# the provider's API key from the release's Secret or the user's own, the backend's
# NetworkPolicy egress to the provider, and the values' schema and template checks.
# Everything here reads `helm template` output; secrets-lookup.bats covers upgrades.

# Variables such as chart_dir come from helpers.bash; jq programs are in single quotes.
# shellcheck disable=SC2154,SC2016
load helpers

setup_file() {
    export R=$BATS_FILE_TMPDIR
    render "$R/offline.json"
    render "$R/key.json" --set llm.apiKey=sk-test-0123456789
    render "$R/own.json" --set llm.existingSecret=provider --set llm.existingSecretKey=token
}

backend_cm='.[] | select(.kind == "ConfigMap" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .data'
backend_env='.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.template.spec.containers[0].env'
backend_np='.[] | select(.kind == "NetworkPolicy" and .metadata.labels["app.kubernetes.io/component"] == "backend")'
# Egress rules of the backend as "destinations:ports", destinations being a component,
# a CIDR with its exceptions in brackets, a peer as JSON, or "any".
egress_rules='[.spec.egress[] | (if .to then [.to[] | if .podSelector and (.podSelector.matchLabels["app.kubernetes.io/component"] != null) and (.namespaceSelector == null) then .podSelector.matchLabels["app.kubernetes.io/component"] elif .ipBlock then .ipBlock.cidr + (if .ipBlock.except then "[" + (.ipBlock.except | join(",")) + "]" else "" end) else tojson end] | join("+") else "any" end) + ":" + ([.ports[].port | tostring] | join("/"))] | join(" ")'

# template ARGS...: renders with the given arguments; sets $status and $output.
template() {
    run helm template taskflow "$chart_dir" --namespace taskflow "$@"
}

@test "offline by default: no LLM_API_KEY anywhere, no Secret key, no egress beyond DNS and the database" {
    [ "$(q "$R/offline.json" "[${backend_env}[] | select(.name == \"LLM_API_KEY\")] | length")" = 0 ]
    [ "$(q "$R/offline.json" "$backend_cm | has(\"LLM_API_KEY\")")" = false ]
    [ "$(q "$R/offline.json" '.[] | select(.kind == "Secret") | .data | has("llm-api-key")')" = false ]
    [ "$(q "$R/offline.json" "$backend_np | $egress_rules")" = "any:53/53 postgresql:5432" ]
    # The same for every helm/ci values file that configures no key.
    local f
    for f in default minikube external-db; do
        render "$BATS_TEST_TMPDIR/$f.json" -f "$chart_dir/ci/$f-values.yaml"
        [ "$(q "$BATS_TEST_TMPDIR/$f.json" "[${backend_env}[] | select(.name == \"LLM_API_KEY\")] | length")" = 0 ] || fail_with "$f: LLM_API_KEY set"
        [ "$(q "$BATS_TEST_TMPDIR/$f.json" "$backend_np | [.spec.egress[] | select(.ports[0].port == 443)] | length")" = 0 ] || fail_with "$f: provider egress without a key"
    done
}

@test "settings: the backend's ConfigMap carries the LLM settings from values" {
    [ "$(q "$R/offline.json" "$backend_cm | [.LLM_BASE_URL, .LLM_MODEL, .LLM_TIMEOUT_SECONDS, .LLM_MAX_TOOL_ROUNDS, .CHAT_HISTORY_MESSAGES] | join(\" \")")" = \
        "https://api.openai.com/v1 gpt-4o-mini 30 5 20" ]
    render "$BATS_TEST_TMPDIR/set.json" --set llm.baseUrl=https://models.example/api/v1 --set llm.model=org/model-7b \
        --set llm.timeoutSeconds=90 --set llm.maxToolRounds=3 --set llm.historyMessages=0
    [ "$(q "$BATS_TEST_TMPDIR/set.json" "$backend_cm | [.LLM_BASE_URL, .LLM_MODEL, .LLM_TIMEOUT_SECONDS, .LLM_MAX_TOOL_ROUNDS, .CHAT_HISTORY_MESSAGES] | join(\" \")")" = \
        "https://models.example/api/v1 org/model-7b 90 3 0" ]
    # ConfigMap values are strings, as Kubernetes requires.
    [ "$(q "$BATS_TEST_TMPDIR/set.json" "$backend_cm | [.[] | type] | unique | join(\",\")")" = string ]
}

@test "settings: defaults and ranges agree with the backend's documented variables (docs/configuration.md)" {
    local doc=$repo_root/docs/configuration.md pair var key row want_default range min max
    for pair in LLM_BASE_URL=baseUrl LLM_MODEL=model LLM_TIMEOUT_SECONDS=timeoutSeconds \
        LLM_MAX_TOOL_ROUNDS=maxToolRounds CHAT_HISTORY_MESSAGES=historyMessages; do
        var=${pair%%=*} key=${pair#*=}
        row=$(grep -F "| \`$var\` |" "$doc") || fail_with "$var is not in docs/configuration.md"
        # Second column: the default in backticks.
        want_default=$(awk -F' [|] ' '{print $2}' <<<"$row" | sed -nE 's/^`([^`]*)`.*/\1/p')
        [ "$(yq -r ".llm.$key" "$chart_dir/values.yaml")" = "$want_default" ] ||
            fail_with "llm.$key defaults to $(yq -r ".llm.$key" "$chart_dir/values.yaml"), the backend to $want_default"
        # Last column of integer settings: "a – b".
        range=$(awk -F' [|] ' '{print $NF}' <<<"$row" | sed -nE 's/^([0-9]+) – ([0-9]+) [|]$/\1 \2/p')
        if [[ $key == timeoutSeconds || $key == maxToolRounds || $key == historyMessages ]]; then
            [ -n "$range" ] || fail_with "no range found for $var in docs/configuration.md"
            read -r min max <<<"$range"
            [ "$(jq ".properties.llm.properties.$key | \"\(.minimum) \(.maximum)\"" -r "$chart_dir/values.schema.json")" = "$min $max" ] ||
                fail_with "llm.$key: schema range differs from $var's $min – $max"
        fi
    done
    [ "$(jq '.properties.llm.properties.model | "\(.minLength) \(.maxLength)"' -r "$chart_dir/values.schema.json")" = "1 200" ]
}

@test "key from values: stored in the release's Secret and read through a secretKeyRef" {
    [ "$(q "$R/key.json" '.[] | select(.kind == "Secret") | .data["llm-api-key"] | @base64d')" = sk-test-0123456789 ]
    [ "$(q "$R/key.json" "${backend_env}[] | select(.name == \"LLM_API_KEY\") | \"\(.valueFrom.secretKeyRef.name)/\(.valueFrom.secretKeyRef.key)\"")" = taskflow/llm-api-key ]
    # Never in the ConfigMap, never as a literal value.
    [ "$(q "$R/key.json" "${backend_env}[] | select(.name == \"LLM_API_KEY\") | has(\"value\")")" = false ]
    run grep -c sk-test-0123456789 <(q "$R/key.json" '[.[] | select(.kind != "Secret")]' -c)
    [ "$output" = 0 ] || fail_with "the key appears outside the Secret"
    # The other generated values are still there, and no key is ever generated.
    [ "$(q "$R/key.json" '.[] | select(.kind == "Secret") | .data | keys | join(",")')" = "database-url,jwt-secret,llm-api-key,postgres-password" ]
    [ "$(q "$R/offline.json" '.[] | select(.kind == "Secret") | .data | keys | join(",")')" = "database-url,jwt-secret,postgres-password" ]
}

@test "key from values: llm.existingSecretKey's default is the key name the chart stores it under" {
    [ "$(yq -r .llm.existingSecretKey "$chart_dir/values.yaml")" = \
        "$(q "$R/key.json" "${backend_env}[] | select(.name == \"LLM_API_KEY\") | .valueFrom.secretKeyRef.key")" ]
}

@test "key from values: checksum/secret changes with the key, so the backend pods roll" {
    local sum='.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.template.metadata.annotations["checksum/secret"]'
    local want
    # The checksum covers exactly the rendered Secret's values, the key included.
    want=$(q "$R/key.json" '[.[] | select(.kind == "Secret") | .data | map_values(@base64d)]' -cS | tr -d '\n' | sha256sum | cut -d' ' -f1)
    [ "$(q "$R/key.json" "$sum")" = "$want" ]
}

@test "key from an existing Secret: llm.existingSecret and llm.existingSecretKey, nothing stored by the chart" {
    [ "$(q "$R/own.json" "${backend_env}[] | select(.name == \"LLM_API_KEY\") | \"\(.valueFrom.secretKeyRef.name)/\(.valueFrom.secretKeyRef.key)\"")" = provider/token ]
    [ "$(q "$R/own.json" '.[] | select(.kind == "Secret") | .data | has("llm-api-key")')" = false ]
    # With the chart's existingSecret as well (the same Secret may hold everything).
    render "$BATS_TEST_TMPDIR/both.json" --set existingSecret=mine --set llm.existingSecret=mine
    [ "$(q "$BATS_TEST_TMPDIR/both.json" "[$pods_filter] | [.[] | .spec.containers[].env[]?.valueFrom.secretKeyRef | select(. != null) | \"\(.name)/\(.key)\"] | unique | join(\" \")")" = \
        "mine/database-url mine/jwt-secret mine/llm-api-key" ]
    [ "$(q "$BATS_TEST_TMPDIR/both.json" '[.[] | select(.kind == "Secret")] | length')" = 0 ]
    # helm/ci/ha-values.yaml uses this path.
    render "$BATS_TEST_TMPDIR/ha.json" -f "$chart_dir/ci/ha-values.yaml"
    [ "$(q "$BATS_TEST_TMPDIR/ha.json" "${backend_env}[] | select(.name == \"LLM_API_KEY\") | \"\(.valueFrom.secretKeyRef.name)/\(.valueFrom.secretKeyRef.key)\"")" = taskflow-secrets/llm-api-key ]
}

@test "key: impossible combinations are refused with a message saying what to set" {
    template --set llm.apiKey=k --set llm.existingSecret=provider
    [ "$status" -ne 0 ]
    [[ $output == *"llm.apiKey and llm.existingSecret are both set"* ]]
    template --set llm.apiKey=k --set existingSecret=mine
    [ "$status" -ne 0 ]
    [[ $output == *'llm.apiKey is set, but with existingSecret ("mine") the chart creates no Secret to keep it in'* ]]
    [[ $output == *"set llm.existingSecret and llm.existingSecretKey instead"* ]]
    template --set llm.existingSecret=provider --set llm.existingSecretKey=
    [ "$status" -ne 0 ]
    [[ $output == *"set llm.existingSecretKey"* ]]
}

@test "key: a key with spaces or non-ASCII characters is refused without being printed" {
    template --set "llm.apiKey=sk-secret with-space"
    [ "$status" -ne 0 ]
    [[ $output == *"llm.apiKey must consist of printable ASCII characters without spaces"* ]]
    [[ $output != *"sk-secret"* ]]
    printf 'llm:\n  apiKey: "sk-secret\\n"\n' >"$BATS_TEST_TMPDIR/newline.yaml"
    template -f "$BATS_TEST_TMPDIR/newline.yaml"
    [ "$status" -ne 0 ]
    [[ $output == *"llm.apiKey must consist of printable ASCII"* ]]
    [[ $output != *"sk-secret"* ]]
    template --set "llm.apiKey=sk-ünicode"
    [ "$status" -ne 0 ]
    [[ $output != *"nicode"* ]]
}

@test "key: extraEnv cannot set LLM_API_KEY or the LLM settings the chart sets" {
    local var
    for var in LLM_API_KEY LLM_BASE_URL LLM_MODEL LLM_TIMEOUT_SECONDS LLM_MAX_TOOL_ROUNDS CHAT_HISTORY_MESSAGES MCP_ALLOWED_HOSTS; do
        template --set-string "backend.extraEnv.$var=x"
        [ "$status" -ne 0 ] || fail_with "backend.extraEnv.$var was accepted"
        [[ $output == *"backend.extraEnv.$var: the chart sets this variable itself"* ]]
    done
}

@test "egress: with a key, TCP 443 to every address outside the private, shared and link-local ranges" {
    local want="any:53/53 postgresql:5432 0.0.0.0/0[10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16]+::/0[fc00::/7,fe80::/10]:443"
    [ "$(q "$R/key.json" "$backend_np | $egress_rules")" = "$want" ]
    [ "$(q "$R/own.json" "$backend_np | $egress_rules")" = "$want" ]
    # DNS stays first and unchanged; nothing else changes in the other policies.
    [ "$(q "$R/key.json" '[.[] | select(.kind == "NetworkPolicy" and .metadata.labels["app.kubernetes.io/component"] != "backend")]' -cS)" = \
        "$(q "$R/offline.json" '[.[] | select(.kind == "NetworkPolicy" and .metadata.labels["app.kubernetes.io/component"] != "backend")]' -cS)" ]
}

@test "egress: the port comes from llm.baseUrl unless llm.egress.ports is set" {
    local url want
    for url in "http://ollama.models:11434/v1=11434" "http://models.internal/v1=80" "https://gw.example:8443/openai/v1=8443" \
        "https://api.openai.com/v1=443" "http://[fd00::12]:8000/v1=8000" "http://[fd00::12]/v1=80"; do
        want=${url##*=}
        render "$BATS_TEST_TMPDIR/p.json" --set llm.apiKey=k --set "llm.baseUrl=${url%=*}"
        [ "$(q "$BATS_TEST_TMPDIR/p.json" "$backend_np | .spec.egress[-1] | [.ports[] | \"\(.protocol)/\(.port)\"] | join(\",\")")" = "TCP/$want" ] ||
            fail_with "${url%=*}: $(q "$BATS_TEST_TMPDIR/p.json" "$backend_np | .spec.egress[-1]" -c)"
    done
    render "$BATS_TEST_TMPDIR/ports.json" --set llm.apiKey=k --set-json 'llm.egress.ports=[443,8443]'
    [ "$(q "$BATS_TEST_TMPDIR/ports.json" "$backend_np | .spec.egress[-1] | [.ports[].port] | join(\",\")")" = "443,8443" ]
}

@test "egress: cidrs, except and peers; narrower ranges get no exceptions; empty means any address" {
    render "$BATS_TEST_TMPDIR/c.json" --set llm.apiKey=k --set-json 'llm.egress.cidrs=["203.0.113.0/24","0.0.0.0/0"]' --set-json 'llm.egress.except=["10.0.0.0/8","fc00::/7"]'
    [ "$(q "$BATS_TEST_TMPDIR/c.json" "$backend_np | $egress_rules")" = "any:53/53 postgresql:5432 203.0.113.0/24+0.0.0.0/0[10.0.0.0/8]:443" ]
    render "$BATS_TEST_TMPDIR/any.json" --set llm.apiKey=k --set-json 'llm.egress.cidrs=[]'
    [ "$(q "$BATS_TEST_TMPDIR/any.json" "$backend_np | $egress_rules")" = "any:53/53 postgresql:5432 any:443" ]
    # helm/ci/assistant-values.yaml: a model server's pods in another namespace, no internet.
    render "$BATS_TEST_TMPDIR/local.json" -f "$chart_dir/ci/assistant-values.yaml"
    [ "$(q "$BATS_TEST_TMPDIR/local.json" "$backend_np | .spec.egress[-1] | [(.to | tojson), (.ports | tojson)] | join(\" \")")" = \
        '[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"models"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"ollama"}}}] [{"protocol":"TCP","port":11434}]' ]
}

@test "egress: llm.egress.enabled=false or networkPolicy.enabled=false adds no rule" {
    render "$BATS_TEST_TMPDIR/off.json" --set llm.apiKey=k --set llm.egress.enabled=false
    [ "$(q "$BATS_TEST_TMPDIR/off.json" "$backend_np | $egress_rules")" = "any:53/53 postgresql:5432" ]
    # The key is still passed.
    [ "$(q "$BATS_TEST_TMPDIR/off.json" "[${backend_env}[] | select(.name == \"LLM_API_KEY\")] | length")" = 1 ]
    render "$BATS_TEST_TMPDIR/nonp.json" --set llm.apiKey=k --set networkPolicy.enabled=false
    [ "$(q "$BATS_TEST_TMPDIR/nonp.json" '[.[] | select(.kind == "NetworkPolicy")] | length')" = 0 ]
}

@test "mcp: MCP_ALLOWED_HOSTS lists the backend Service's names in the cluster and the loopback names" {
    local svc
    svc=$(q "$R/offline.json" '.[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .metadata.name')
    [ "$(q "$R/offline.json" "$backend_cm | .MCP_ALLOWED_HOSTS")" = \
        "$svc,$svc.taskflow,$svc.taskflow.svc,$svc.taskflow.svc.cluster.local,localhost,127.0.0.1,::1" ]
    # Another release, namespace and cluster domain.
    helm template demo "$chart_dir" --namespace tasks --set clusterDomain=corp.local. >"$BATS_TEST_TMPDIR/demo.yaml"
    yq -s 'map(select(. != null))' "$BATS_TEST_TMPDIR/demo.yaml" >"$BATS_TEST_TMPDIR/demo.json"
    [ "$(q "$BATS_TEST_TMPDIR/demo.json" "$backend_cm | .MCP_ALLOWED_HOSTS")" = \
        "demo-taskflow-backend,demo-taskflow-backend.tasks,demo-taskflow-backend.tasks.svc,demo-taskflow-backend.tasks.svc.corp.local,localhost,127.0.0.1,::1" ]
    [ "$(q "$BATS_TEST_TMPDIR/demo.json" '.[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .metadata.name')" = demo-taskflow-backend ]
}

@test "mcp: backend.mcpAllowedHosts replaces the list; * turns the check off; bad entries are refused" {
    render "$BATS_TEST_TMPDIR/m.json" --set-json 'backend.mcpAllowedHosts=["mcp.example.com","taskflow-backend:8000"]'
    [ "$(q "$BATS_TEST_TMPDIR/m.json" "$backend_cm | .MCP_ALLOWED_HOSTS")" = "mcp.example.com,taskflow-backend:8000" ]
    render "$BATS_TEST_TMPDIR/any.json" --set-json 'backend.mcpAllowedHosts=["*"]'
    [ "$(q "$BATS_TEST_TMPDIR/any.json" "$backend_cm | .MCP_ALLOWED_HOSTS")" = "*" ]
    local bad
    for bad in https://mcp.example.com mcp.example.com/mcp '*.example.com' 'two words'; do
        template --set-json "backend.mcpAllowedHosts=[\"$bad\"]"
        [ "$status" -ne 0 ] || fail_with "$bad was accepted"
        [[ $output == *"at '/backend/mcpAllowedHosts/0'"* ]]
    done
}

@test "mcp: networkPolicy.backendIngressFrom admits further peers to the backend" {
    render "$BATS_TEST_TMPDIR/in.json" --set-json 'networkPolicy.backendIngressFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"agents"}}}]'
    [ "$(q "$BATS_TEST_TMPDIR/in.json" "$backend_np | .spec.ingress[0].from | length")" = 3 ]
    [ "$(q "$BATS_TEST_TMPDIR/in.json" "$backend_np | .spec.ingress[0].from[2].namespaceSelector.matchLabels[\"kubernetes.io/metadata.name\"]")" = agents ]
    [ "$(q "$BATS_TEST_TMPDIR/in.json" "$backend_np | .spec.ingress[0].ports[0].port")" = 8000 ]
}

@test "schema: bad assistant values are refused, naming the key" {
    local args want
    while IFS='|' read -r args want; do
        # shellcheck disable=SC2086
        template $args
        [ "$status" -ne 0 ] || fail_with "accepted: $args"
        [[ $output == *"$want"* ]] || fail_with "$args: $output"
    done <<'EOF'
--set llm.timeoutSeconds=0|at '/llm/timeoutSeconds': minimum: got 0, want 1
--set llm.timeoutSeconds=601|at '/llm/timeoutSeconds': maximum
--set llm.maxToolRounds=0|at '/llm/maxToolRounds': minimum
--set llm.maxToolRounds=21|at '/llm/maxToolRounds': maximum: got 21, want 20
--set llm.historyMessages=-1|at '/llm/historyMessages': minimum
--set llm.historyMessages=201|at '/llm/historyMessages': maximum: got 201, want 200
--set llm.timeoutSeconds=soon|at '/llm/timeoutSeconds': got string, want integer
--set llm.baseUrl=api.openai.com/v1|at '/llm/baseUrl'
--set llm.baseUrl=ftp://models.example/v1|at '/llm/baseUrl'
--set llm.baseUrl=https://api.openai.com/v1?x=1|at '/llm/baseUrl'
--set llm.baseUrl=https://api.openai.com/v1/chat/completions|must be the API base such as https://api.openai.com/v1, without /chat/completions
--set llm.egress.ports[0]=70000|at '/llm/egress/ports/0': maximum
--set llm.egress.cidrs[0]=example.com|at '/llm/egress/cidrs/0'
--set llm.egress.enabled=maybe|at '/llm/egress/enabled': got string, want boolean
--set llm.apikey=x|at '/llm': additional properties 'apikey' not allowed
--set clusterDomain=Cluster_Local|at '/clusterDomain'
EOF
    # A model name with a space (the line format above cannot hold one).
    template --set "llm.model=gpt 4"
    [ "$status" -ne 0 ]
    [[ $output == *"at '/llm/model'"* ]]
}
