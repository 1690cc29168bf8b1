#!/usr/bin/env bats
#
# Tests of the rendered chart: names, labels, probes, security settings, secrets,
# checksums, NetworkPolicies and the values shared with nix/contract.json. Every
# test reads YAML that `helm template` produced; nothing here needs a cluster.

# Variables such as chart_dir come from helpers.bash; jq programs are in single quotes.
# shellcheck disable=SC2154,SC2016
load helpers

setup_file() {
    export R=$BATS_FILE_TMPDIR
    local f name
    for f in "$chart_dir"/ci/*-values.yaml; do
        name=$(basename "$f" -values.yaml)
        render "$R/$name.json" -f "$f"
    done
    # Two releases in one namespace.
    render_release "$R/rel-a.json" a
    render_release "$R/rel-b.json" b
}

all_renderings() {
    printf '%s\n' "$R"/default.json "$R"/minikube.json "$R"/external-db.json "$R"/ha.json "$R"/assistant.json
}

@test "every helm/ci values file renders" {
    local f
    for f in "$chart_dir"/ci/*-values.yaml; do
        [ -s "$R/$(basename "$f" -values.yaml).json" ] || fail_with "no rendering for $f"
    done
    [ "$(all_renderings | wc -l)" -eq "$(find "$chart_dir/ci" -name '*-values.yaml' | wc -l)" ]
}

@test "names: two releases in one namespace share no resource name" {
    local clashes
    clashes=$(comm -12 <(q "$R/rel-a.json" '.[] | "\(.kind)/\(.metadata.name)"' | sort) \
        <(q "$R/rel-b.json" '.[] | "\(.kind)/\(.metadata.name)"' | sort))
    [ -z "$clashes" ] || fail_with "names used by both releases: $clashes"
}

@test "names: every resource name starts with the release's name prefix" {
    local bad
    bad=$(q "$R/rel-a.json" '.[] | .metadata.name | select(startswith("a-taskflow") | not)')
    [ -z "$bad" ] || fail_with "names not derived from release 'a': $bad"
    bad=$(q "$R/default.json" '.[] | .metadata.name | select(startswith("taskflow") | not)')
    [ -z "$bad" ] || fail_with "names not derived from release 'taskflow': $bad"
}

@test "names: every selector (Services, workloads, PDBs, NetworkPolicies) includes the release" {
    local f bad
    for f in "$R/rel-a.json" "$R/rel-b.json"; do
        bad=$(q "$f" '.[] | select(.kind == "Service") | select(.spec.selector["app.kubernetes.io/instance"] != $rel) | .metadata.name' --arg rel "$(basename "$f" .json | sed 's/rel-//')")
        [ -z "$bad" ] || fail_with "Service selectors without the release: $bad"
        bad=$(q "$f" '.[] | select(.spec.selector.matchLabels? != null or .spec.podSelector? != null)
            | select(((.spec.selector.matchLabels // .spec.podSelector.matchLabels)["app.kubernetes.io/instance"]) != $rel)
            | "\(.kind)/\(.metadata.name)"' --arg rel "$(basename "$f" .json | sed 's/rel-//')")
        [ -z "$bad" ] || fail_with "selectors without the release: $bad"
    done
}

@test "names: the frontend's BACKEND_URL names the backend Service of the same release" {
    local f url svc port
    for f in "$R/rel-a.json" "$R/rel-b.json" "$R/default.json"; do
        url=$(q "$f" '.[] | select(.kind == "ConfigMap" and .metadata.labels["app.kubernetes.io/component"] == "frontend") | .data.BACKEND_URL')
        svc=$(q "$f" '.[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .metadata.name')
        port=$(q "$f" '.[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.ports[0].port')
        [ "$url" = "http://$svc:$port" ] || fail_with "$f: BACKEND_URL=$url, backend Service $svc:$port"
    done
}

@test "names: Services target container ports that exist" {
    local f bad
    while IFS= read -r f; do
        bad=$(q "$f" '. as $d | .[] | select(.kind == "Service") | . as $s
            | [$d[] | select(.kind == "Deployment" or .kind == "StatefulSet")
               | select(.spec.template.metadata.labels["app.kubernetes.io/component"] == $s.spec.selector["app.kubernetes.io/component"])
               | .spec.template.spec.containers[].ports[].name] as $names
            | $s.spec.ports[] | select((.targetPort | tostring) as $t | $names | index($t) | not) | "\($s.metadata.name) -> \(.targetPort)"')
        [ -z "$bad" ] || fail_with "$f: Service ports targeting no container port: $bad"
    done < <(all_renderings)
}

@test "probes: each long-running container has startup, liveness and readiness probes" {
    local f bad
    while IFS= read -r f; do
        bad=$(q "$f" "[$pods_filter] | .[] | select(.kind != \"Pod\") | . as \$p | .spec.containers[]
            | select(.startupProbe == null or .livenessProbe == null or .readinessProbe == null) | \"\(\$p.name)/\(.name)\"")
        [ -z "$bad" ] || fail_with "$f: containers missing a probe: $bad"
    done < <(all_renderings)
}

@test "probes: liveness and readiness use different paths, the ones in contract.json" {
    local c live ready
    for c in backend frontend; do
        live=$(q "$R/default.json" ".[] | select(.kind == \"Deployment\" and .metadata.labels[\"app.kubernetes.io/component\"] == \"$c\") | .spec.template.spec.containers[0].livenessProbe.httpGet.path")
        ready=$(q "$R/default.json" ".[] | select(.kind == \"Deployment\" and .metadata.labels[\"app.kubernetes.io/component\"] == \"$c\") | .spec.template.spec.containers[0].readinessProbe.httpGet.path")
        [ "$live" != "$ready" ] || fail_with "$c: liveness and readiness both use $live"
        [ "$live" = "$(jq -r ".images.$c.liveness" "$contract")" ]
        [ "$ready" = "$(jq -r ".images.$c.readiness" "$contract")" ]
        # The startup probe guards liveness, so it uses the liveness path.
        [ "$(q "$R/default.json" ".[] | select(.kind == \"Deployment\" and .metadata.labels[\"app.kubernetes.io/component\"] == \"$c\") | .spec.template.spec.containers[0].startupProbe.httpGet.path")" = "$live" ]
    done
}

@test "probes: PostgreSQL readiness runs pg_isready against 127.0.0.1:5432 as the database role" {
    local cmd
    cmd=$(q "$R/default.json" '.[] | select(.kind == "StatefulSet") | .spec.template.spec.containers[0].readinessProbe.exec.command | join(" ")')
    [ "$cmd" = "pg_isready -h 127.0.0.1 -p $(jq -r .images.postgres.port "$contract") -U taskflow" ]
}

@test "security: every pod and container meets the restricted Pod Security Standard" {
    local f bad
    while IFS= read -r f; do
        bad=$(q "$f" "[$pods_filter] | .[] | . as \$p | .spec as \$s
            | (if \$s.securityContext.runAsNonRoot != true then \"\(\$p.name): pod runAsNonRoot\" else empty end),
              (if \$s.securityContext.seccompProfile.type != \"RuntimeDefault\" then \"\(\$p.name): pod seccomp\" else empty end),
              (if \$s.automountServiceAccountToken != false then \"\(\$p.name): service account token mounted\" else empty end),
              (if (\$s.hostNetwork // false) or (\$s.hostPID // false) or (\$s.hostIPC // false) then \"\(\$p.name): host namespaces\" else empty end),
              (\$s.volumes // [] | .[] | select((keys - [\"name\"])[0] | IN(\"configMap\",\"csi\",\"downwardAPI\",\"emptyDir\",\"ephemeral\",\"persistentVolumeClaim\",\"projected\",\"secret\") | not) | \"\(\$p.name): volume \(.name) of a forbidden type\"),
              ((\$s.containers + (\$s.initContainers // []))[] | . as \$c | .securityContext as \$k
                | (if \$k.allowPrivilegeEscalation != false then \"\(\$p.name)/\(\$c.name): allowPrivilegeEscalation\" else empty end),
                  (if (\$k.privileged // false) then \"\(\$p.name)/\(\$c.name): privileged\" else empty end),
                  (if (\$k.capabilities.drop // [] | index(\"ALL\")) == null then \"\(\$p.name)/\(\$c.name): capabilities not dropped\" else empty end),
                  (if (\$k.capabilities.add // [] | map(select(. != \"NET_BIND_SERVICE\")) | length) > 0 then \"\(\$p.name)/\(\$c.name): capabilities added\" else empty end),
                  (if \$k.readOnlyRootFilesystem != true then \"\(\$p.name)/\(\$c.name): writable root filesystem\" else empty end),
                  (if ((\$k.runAsNonRoot // \$s.securityContext.runAsNonRoot) != true) then \"\(\$p.name)/\(\$c.name): runAsNonRoot\" else empty end),
                  (if ((\$k.runAsUser // \$s.securityContext.runAsUser // 0) == 0) then \"\(\$p.name)/\(\$c.name): uid 0\" else empty end),
                  (if ((\$k.seccompProfile.type // \$s.securityContext.seccompProfile.type) != \"RuntimeDefault\") then \"\(\$p.name)/\(\$c.name): seccomp\" else empty end),
                  (if ([\$c.volumeMounts[]? | select(.mountPath == \"/tmp\")] | length) != 1 then \"\(\$p.name)/\(\$c.name): no /tmp emptyDir\" else empty end))")
        [ -z "$bad" ] || fail_with "$f:" "$bad"
    done < <(all_renderings)
}

@test "security: the pods' uid, gid and fsGroup are the image user of contract.json" {
    local uid gid f bad
    uid=$(jq .user.uid "$contract")
    gid=$(jq .user.gid "$contract")
    # values.yaml itself ...
    [ "$(yq .podSecurityContext.runAsUser "$chart_dir/values.yaml")" = "$uid" ]
    [ "$(yq .podSecurityContext.runAsGroup "$chart_dir/values.yaml")" = "$gid" ]
    [ "$(yq .podSecurityContext.fsGroup "$chart_dir/values.yaml")" = "$gid" ]
    [ "$(yq .containerSecurityContext.runAsUser "$chart_dir/values.yaml")" = "$uid" ]
    [ "$(yq .containerSecurityContext.runAsGroup "$chart_dir/values.yaml")" = "$gid" ]
    # ... and every rendered pod.
    while IFS= read -r f; do
        bad=$(q "$f" "[$pods_filter] | .[] | select(.spec.securityContext.runAsUser != $uid or .spec.securityContext.runAsGroup != $gid or .spec.securityContext.fsGroup != $gid) | .name")
        [ -z "$bad" ] || fail_with "$f: pods with other ids: $bad"
    done < <(all_renderings)
}

@test "security: every container has CPU and memory requests and limits" {
    local f bad
    while IFS= read -r f; do
        bad=$(q "$f" "[$pods_filter] | .[] | . as \$p | .spec.containers[] | select(.resources.requests.cpu == null or .resources.requests.memory == null or .resources.limits.cpu == null or .resources.limits.memory == null) | \"\(\$p.name)/\(.name)\"")
        [ -z "$bad" ] || fail_with "$f: containers without resources: $bad"
    done < <(all_renderings)
}

@test "contract: images, ports, arguments and fixed environment match contract.json" {
    local c
    for c in backend frontend; do
        local d=".[] | select(.kind == \"Deployment\" and .metadata.labels[\"app.kubernetes.io/component\"] == \"$c\")"
        local cm=".[] | select(.kind == \"ConfigMap\" and .metadata.labels[\"app.kubernetes.io/component\"] == \"$c\")"
        [ "$(q "$R/default.json" "$d | .spec.template.spec.containers[0].image")" = "$(jq -r ".images.$c.name" "$contract"):0.1.0" ]
        [ "$(q "$R/default.json" "$d | .spec.template.spec.containers[0].ports[0].containerPort")" = "$(jq -r ".images.$c.port" "$contract")" ]
        [ "$(q "$R/default.json" "$d | .spec.template.spec.containers[0].args" -c)" = "$(jq -c ".images.$c.args" "$contract")" ]
        # Every variable of the contract's env appears in the ConfigMap with the same value.
        run jq -n --argjson want "$(jq ".images.$c.env" "$contract")" --argjson got "$(q "$R/default.json" "$cm | .data" -c)" \
            '$want | to_entries | map(select($got[.key] != .value)) | length'
        [ "$output" = 0 ] || fail_with "$c: ConfigMap differs from contract env"
    done
}

@test "contract: the PostgreSQL pod uses the contract's image, port, data directory and PGDATA" {
    local s='.[] | select(.kind == "StatefulSet") | .spec.template.spec.containers[0]'
    [ "$(q "$R/default.json" "$s | .image")" = "$(jq -r .images.postgres.name "$contract"):0.1.0" ]
    [ "$(q "$R/default.json" "$s | .ports[0].containerPort")" = "$(jq -r .images.postgres.port "$contract")" ]
    [ "$(q "$R/default.json" "$s | .env[] | select(.name == \"PGDATA\") | .value")" = "$(jq -r .images.postgres.pgdata "$contract")" ]
    [ "$(q "$R/default.json" "$s | .volumeMounts[] | select(.name == \"data\") | .mountPath")" = "$(jq -r .images.postgres.dataDir "$contract")" ]
    [ "$(q "$R/default.json" "$s | .env[] | select(.name == \"PGDATA\") | .value")" = "$(jq -r .images.postgres.env.PGDATA "$contract")" ]
}

@test "contract: image tags default to the appVersion with pull policy IfNotPresent, never latest" {
    local f bad
    while IFS= read -r f; do
        bad=$(q "$f" "[$pods_filter] | .[] | .spec.containers[] | select((.image | endswith(\":0.1.0\") | not) or .imagePullPolicy != \"IfNotPresent\") | .image")
        [ -z "$bad" ] || fail_with "$f: $bad"
    done < <(all_renderings)
    [ "$(yq -r .appVersion "$chart_dir/Chart.yaml")" = 0.1.0 ]
}

@test "config: the pods read their ConfigMap through envFrom" {
    local c name ref
    for c in backend frontend; do
        name=$(q "$R/default.json" ".[] | select(.kind == \"ConfigMap\" and .metadata.labels[\"app.kubernetes.io/component\"] == \"$c\") | .metadata.name")
        ref=$(q "$R/default.json" ".[] | select(.kind == \"Deployment\" and .metadata.labels[\"app.kubernetes.io/component\"] == \"$c\") | .spec.template.spec.containers[0].envFrom[].configMapRef.name")
        [ -n "$name" ] && [ "$ref" = "$name" ]
    done
}

@test "checksums: pods carry checksum/config (and the backend checksum/secret)" {
    local f
    while IFS= read -r f; do
        [ "$(q "$f" '[.[] | select(.kind == "Deployment") | .spec.template.metadata.annotations["checksum/config"] | select(test("^[0-9a-f]{64}$"))] | length')" = 2 ]
        q "$f" '.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.template.metadata.annotations["checksum/secret"]' | grep -Eq '^[0-9a-f]{64}$'
    done < <(all_renderings)
}

@test "checksums: a changed setting changes checksum/config of that component only" {
    local sum='.[] | select(.kind == "Deployment") | "\(.metadata.labels["app.kubernetes.io/component"])=\(.spec.template.metadata.annotations["checksum/config"])"'
    render "$BATS_TEST_TMPDIR/same.json"
    render "$BATS_TEST_TMPDIR/changed.json" --set frontend.cookieSecure=false
    [ "$(q "$R/default.json" "$sum" | sort)" = "$(q "$BATS_TEST_TMPDIR/same.json" "$sum" | sort)" ]
    run diff <(q "$R/default.json" "$sum" | sort) <(q "$BATS_TEST_TMPDIR/changed.json" "$sum" | sort)
    [[ $output == *"< frontend="* ]]
    [[ $output != *"backend="* ]]
}

@test "checksums: checksum/secret is computed from the very values in the rendered Secret" {
    local want got
    want=$(q "$R/default.json" '[.[] | select(.kind == "Secret") | .data | map_values(@base64d)]' -cS | tr -d '\n' | sha256sum | cut -d' ' -f1)
    got=$(q "$R/default.json" '.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.template.metadata.annotations["checksum/secret"]')
    [ "$want" = "$got" ]
}

@test "secrets: every secretKeyRef and Secret volume item names a key of the rendered Secret" {
    local f bad
    # With the provider's key in the values too (helm/ci/assistant-values.yaml).
    for f in "$R/default.json" "$R/minikube.json" "$R/rel-a.json" "$R/assistant.json"; do
        bad=$(q "$f" ". as \$d | [\$d[] | select(.kind == \"Secret\") | {(.metadata.name): (.data | keys)}] | add as \$secrets
            | [$pods_filter] | .[] | . as \$p
            | ([.spec.containers[].env[]?.valueFrom.secretKeyRef | select(. != null) | {name, key}]
               + [.spec.volumes[]?.secret | select(. != null) | .secretName as \$n | .items[] | {name: \$n, key}])[]
            | select((\$secrets[.name] // []) | index(.key) | not) | \"\(\$p.name): \(.name)/\(.key)\"")
        [ -z "$bad" ] || fail_with "$f: references to missing Secret keys: $bad"
    done
}

@test "secrets: the key names are the documented ones, defined once in _helpers.tpl" {
    [ "$(q "$R/default.json" '.[] | select(.kind == "Secret") | .data | keys | join(",")')" = "database-url,jwt-secret,postgres-password" ]
    # The provider's key only when llm.apiKey is set.
    [ "$(q "$R/assistant.json" '.[] | select(.kind == "Secret") | .data | keys | join(",")')" = "database-url,jwt-secret,llm-api-key,postgres-password" ]
    local key
    for key in database-url jwt-secret postgres-password llm-api-key; do
        [ "$(grep -rl -- "$key" "$chart_dir/templates" | xargs -n1 basename | sort -u | tr '\n' ' ')" = "_helpers.tpl " ] ||
            fail_with "$key is spelt outside _helpers.tpl"
        grep -q -- "\`$key\`" "$repo_root/docs/secrets.md" || fail_with "$key is not documented in docs/secrets.md"
    done
}

@test "secrets: DATABASE_URL holds postgres-password and names the PostgreSQL Service" {
    local url pw svc
    url=$(q "$R/default.json" '.[] | select(.kind == "Secret") | .data["database-url"] | @base64d')
    pw=$(q "$R/default.json" '.[] | select(.kind == "Secret") | .data["postgres-password"] | @base64d')
    svc=$(q "$R/default.json" '.[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == "postgresql" and .spec.clusterIP != "None") | .metadata.name')
    [ "$url" = "postgres://taskflow:$pw@$svc:5432/taskflow" ]
}

@test "secrets: generated values are a 64-hex-digit JWT key and a 32-character alphanumeric password" {
    q "$R/default.json" '.[] | select(.kind == "Secret") | .data["jwt-secret"] | @base64d' | grep -Eqx '[0-9a-f]{64}'
    q "$R/default.json" '.[] | select(.kind == "Secret") | .data["postgres-password"] | @base64d' | grep -Eqx '[A-Za-z0-9]{32}'
}

@test "secrets: without a cluster (helm template) every render generates new values" {
    # The reason secrets-lookup.bats tests the upgrade path against a fake API server.
    render "$BATS_TEST_TMPDIR/again.json"
    [ "$(q "$R/default.json" '.[] | select(.kind == "Secret") | .data["jwt-secret"]')" != \
        "$(q "$BATS_TEST_TMPDIR/again.json" '.[] | select(.kind == "Secret") | .data["jwt-secret"]')" ]
}

@test "secrets: the generated Secret is kept on uninstall, like the database volume" {
    [ "$(q "$R/default.json" '.[] | select(.kind == "Secret") | .metadata.annotations["helm.sh/resource-policy"]')" = keep ]
    [ "$(q "$R/default.json" '.[] | select(.kind == "StatefulSet") | .spec.persistentVolumeClaimRetentionPolicy.whenDeleted')" = Retain ]
}

@test "secrets: with existingSecret no Secret is rendered and every reference uses it" {
    render "$BATS_TEST_TMPDIR/existing.json" --set existingSecret=mine
    [ "$(q "$BATS_TEST_TMPDIR/existing.json" '[.[] | select(.kind == "Secret")] | length')" = 0 ]
    [ "$(q "$BATS_TEST_TMPDIR/existing.json" "[$pods_filter] | [.[] | .spec.containers[].env[]?.valueFrom.secretKeyRef | select(. != null) | \"\(.name)/\(.key)\"] | unique | join(\" \")")" = "mine/database-url mine/jwt-secret" ]
    [ "$(q "$BATS_TEST_TMPDIR/existing.json" '.[] | select(.kind == "StatefulSet") | .spec.template.spec.volumes[] | select(.secret) | "\(.secret.secretName)/\(.secret.items[0].key)"')" = "mine/postgres-password" ]
}

@test "secrets: an external database is read from externalDatabase.existingSecret" {
    [ "$(q "$R/external-db.json" '.[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == "backend") | .spec.template.spec.containers[0].env[] | select(.name == "DATABASE_URL") | "\(.valueFrom.secretKeyRef.name)/\(.valueFrom.secretKeyRef.key)"')" = "taskflow-database/database-url" ]
    # The chart's own Secret then holds only the JWT key, and nothing of PostgreSQL is rendered.
    [ "$(q "$R/external-db.json" '.[] | select(.kind == "Secret") | .data | keys | join(",")')" = "jwt-secret" ]
    [ "$(q "$R/external-db.json" '[.[] | select(.metadata.labels["app.kubernetes.io/component"] == "postgresql")] | length')" = 0 ]
}

@test "networkpolicy: every pod is selected by a NetworkPolicy of its component" {
    local f bad
    while IFS= read -r f; do
        bad=$(q "$f" ". as \$d | [$pods_filter] | .[] | . as \$p
            | select([\$d[] | select(.kind == \"NetworkPolicy\") | .spec.podSelector.matchLabels
                      | select(to_entries | all(\$p.labels[.key] == .value))] | length == 0) | .name")
        [ -z "$bad" ] || fail_with "$f: pods without a NetworkPolicy: $bad"
    done < <(all_renderings)
}

@test "networkpolicy: backend only from frontend and test pods, PostgreSQL only from the backend" {
    local np='.[] | select(.kind == "NetworkPolicy" and .metadata.labels["app.kubernetes.io/component"] == $c)'
    [ "$(q "$R/default.json" "$np | [.spec.ingress[].from[].podSelector.matchLabels[\"app.kubernetes.io/component\"]] | join(\",\")" --arg c backend)" = "frontend,test" ]
    [ "$(q "$R/default.json" "$np | [.spec.ingress[].from[].podSelector.matchLabels[\"app.kubernetes.io/component\"]] | join(\",\")" --arg c postgresql)" = "backend" ]
    # The frontend is open on its port only.
    [ "$(q "$R/default.json" "$np | .spec.ingress | length" --arg c frontend)" = 1 ]
    [ "$(q "$R/default.json" "$np | .spec.ingress[0] | has(\"from\")" --arg c frontend)" = false ]
    [ "$(q "$R/default.json" "$np | .spec.ingress[0].ports[0].port" --arg c frontend)" = 3000 ]
}

@test "networkpolicy: egress is DNS plus the next component only (and the provider with a key)" {
    local np='.[] | select(.kind == "NetworkPolicy" and .metadata.labels["app.kubernetes.io/component"] == $c)'
    local dests='[.spec.egress[] | if .to then (.to[] | .podSelector.matchLabels["app.kubernetes.io/component"] // .ipBlock.cidr) else "any" end + ":" + ([.ports[].port | tostring] | join("/"))] | join(" ")'
    [ "$(q "$R/default.json" "$np | $dests" --arg c backend)" = "any:53/53 postgresql:5432" ]
    [ "$(q "$R/default.json" "$np | $dests" --arg c frontend)" = "any:53/53 backend:8000" ]
    [ "$(q "$R/default.json" "$np | .spec.egress | length" --arg c postgresql)" = 0 ]
    [ "$(q "$R/external-db.json" "$np | $dests" --arg c backend)" = "any:53/53 10.20.0.0/16:5432" ]
    # With a provider key, one more rule for the provider (assistant.bats has the details).
    [ "$(q "$R/ha.json" "$np | $dests" --arg c backend)" = "any:53/53 postgresql:5432 0.0.0.0/0:443 ::/0:443" ]
    [ "$(q "$R/assistant.json" "$np | .spec.egress | length" --arg c backend)" = 3 ]
}

@test "networkpolicy: networkPolicy.enabled=false renders none" {
    render "$BATS_TEST_TMPDIR/nonp.json" --set networkPolicy.enabled=false
    [ "$(q "$BATS_TEST_TMPDIR/nonp.json" '[.[] | select(.kind == "NetworkPolicy")] | length')" = 0 ]
}

@test "availability: rolling updates keep every pod until its replacement is ready" {
    [ "$(q "$R/default.json" '[.[] | select(.kind == "Deployment") | .spec.strategy.rollingUpdate.maxUnavailable] | unique | join(",")')" = 0 ]
}

@test "availability: the grace period covers the preStop pause plus SHUTDOWN_GRACE_SECONDS" {
    local f bad
    while IFS= read -r f; do
        bad=$(q "$f" '. as $d | .[] | select(.kind == "Deployment") | . as $dep
            | ([$d[] | select(.kind == "ConfigMap" and .metadata.name == $dep.spec.template.spec.containers[0].envFrom[0].configMapRef.name)] | first | .data.SHUTDOWN_GRACE_SECONDS | tonumber) as $drain
            | ($dep.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds // 0) as $pause
            | select($dep.spec.template.spec.terminationGracePeriodSeconds <= $pause + $drain) | $dep.metadata.name')
        [ -z "$bad" ] || fail_with "$f: grace period too short: $bad"
        # The pause uses the kubelet's sleep action: the images have no shell.
        [ "$(q "$f" '[.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0].lifecycle.preStop | keys[0]] | unique | join(",")')" = sleep ]
    done < <(all_renderings)
}

@test "availability: PodDisruptionBudgets exist exactly when more than one pod runs" {
    [ "$(q "$R/default.json" '[.[] | select(.kind == "PodDisruptionBudget")] | length')" = 2 ]
    [ "$(q "$R/minikube.json" '[.[] | select(.kind == "PodDisruptionBudget")] | length')" = 0 ]
    [ "$(q "$R/ha.json" '[.[] | select(.kind == "PodDisruptionBudget")] | length')" = 2 ]
    render "$BATS_TEST_TMPDIR/hpa1.json" --set backend.autoscaling.enabled=true --set backend.autoscaling.minReplicas=1 --set frontend.replicaCount=1
    [ "$(q "$BATS_TEST_TMPDIR/hpa1.json" '[.[] | select(.kind == "PodDisruptionBudget")] | length')" = 0 ]
}

@test "availability: with autoscaling the HPA owns the replica count" {
    [ "$(q "$R/ha.json" '[.[] | select(.kind == "Deployment") | .spec | has("replicas")] | unique | join(",")')" = false ]
    [ "$(q "$R/ha.json" '. as $d | [.[] | select(.kind == "HorizontalPodAutoscaler") | .spec.scaleTargetRef.name as $n | $d[] | select(.kind == "Deployment" and .metadata.name == $n)] | length')" = 2 ]
    [ "$(q "$R/default.json" '[.[] | select(.kind == "HorizontalPodAutoscaler")] | length')" = 0 ]
}

@test "postgresql: the volume claim template carries no label that changes between chart versions" {
    [ "$(q "$R/default.json" '.[] | select(.kind == "StatefulSet") | .spec.volumeClaimTemplates[0].metadata.labels | keys | join(",")')" = \
        "app.kubernetes.io/component,app.kubernetes.io/instance,app.kubernetes.io/name" ]
}

@test "postgresql: the password is read from a file, and the database is reachable through a ClusterIP and a headless Service" {
    [ "$(q "$R/default.json" '.[] | select(.kind == "StatefulSet") | .spec.template.spec.containers[0].env[] | select(.name == "POSTGRES_PASSWORD_FILE") | .value')" = /run/secrets/taskflow/postgres-password ]
    [ "$(q "$R/default.json" '[.[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == "postgresql") | .spec.clusterIP // "ClusterIP"] | sort | join(",")')" = "ClusterIP,None" ]
    [ "$(q "$R/default.json" '.[] | select(.kind == "StatefulSet") | .spec.serviceName')" = taskflow-postgresql-hl ]
}

@test "helm test: a never-restarted hook pod probes the frontend's /healthz and the backend's /readyz through their Services" {
    local pod='.[] | select(.kind == "Pod")'
    [ "$(q "$R/default.json" "$pod | .metadata.annotations[\"helm.sh/hook\"]")" = test ]
    [ "$(q "$R/default.json" "$pod | .spec.restartPolicy")" = Never ]
    [ "$(q "$R/default.json" "$pod | [.spec.containers[].args | join(\" \")] | sort | join(\";\")")" = \
        "probe http://taskflow-backend:8000/readyz;probe http://taskflow-frontend:3000/healthz" ]
    [ "$(q "$R/default.json" "$pod | [.spec.containers[].image] | unique | join(\",\")")" = taskflow-backend:0.1.0 ]
}

@test "minikube values: NodePort 30000, plain-HTTP cookies, one pod each" {
    [ "$(q "$R/minikube.json" '.[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == "frontend") | "\(.spec.type):\(.spec.ports[0].nodePort)"')" = NodePort:30000 ]
    [ "$(q "$R/minikube.json" '.[] | select(.kind == "ConfigMap" and .metadata.labels["app.kubernetes.io/component"] == "frontend") | .data.COOKIE_SECURE')" = false ]
    [ "$(q "$R/minikube.json" '[.[] | select(.kind == "Deployment" or .kind == "StatefulSet") | .spec.replicas] | unique | join(",")')" = 1 ]
}

@test "ingress: host, class and TLS from values; PUBLIC_ORIGIN follows the Ingress" {
    [ "$(q "$R/ha.json" '.[] | select(.kind == "Ingress") | "\(.spec.ingressClassName) \(.spec.rules[0].host) \(.spec.tls[0].secretName)"')" = "nginx tasks.example.com taskflow-tls" ]
    [ "$(q "$R/ha.json" '.[] | select(.kind == "ConfigMap" and .metadata.labels["app.kubernetes.io/component"] == "frontend") | .data.PUBLIC_ORIGIN')" = https://tasks.example.com ]
    [ "$(q "$R/default.json" '.[] | select(.kind == "ConfigMap" and .metadata.labels["app.kubernetes.io/component"] == "frontend") | .data.PUBLIC_ORIGIN')" = http://localhost:3000 ]
}
