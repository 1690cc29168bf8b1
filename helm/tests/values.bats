#!/usr/bin/env bats
#
# Tests of the chart's inputs: values.schema.json rejects mistakes with a clear
# message, the templates refuse impossible combinations, values.yaml documents
# every key and the README's table lists them all.

# Variables such as chart_dir come from helpers.bash; jq programs are in single quotes.
# shellcheck disable=SC2154,SC2016
load helpers

# template ARGS...: renders with the given arguments; sets $status and $output.
template() {
    run helm template taskflow "$chart_dir" --namespace taskflow "$@"
}

@test "schema: a misspelt key is refused, naming the key" {
    template --set backend.imagee.tag=x
    [ "$status" -ne 0 ]
    [[ $output == *"at '/backend': additional properties 'imagee' not allowed"* ]]
    template --set postgresql.persistance.size=1Gi
    [ "$status" -ne 0 ]
    [[ $output == *"additional properties 'persistance' not allowed"* ]]
    template --set replicaCount=3
    [ "$status" -ne 0 ]
    [[ $output == *"additional properties 'replicaCount' not allowed"* ]]
}

@test "schema: a value of the wrong type is refused, naming the key and the types" {
    template --set backend.replicaCount=two
    [ "$status" -ne 0 ]
    [[ $output == *"at '/backend/replicaCount': got string, want integer"* ]]
    template --set frontend.cookieSecure=maybe
    [ "$status" -ne 0 ]
    [[ $output == *"at '/frontend/cookieSecure': got string, want boolean"* ]]
    template --set backend.extraEnv.DB_POOL_SIZE=10
    [ "$status" -ne 0 ]
    [[ $output == *"at '/backend/extraEnv/DB_POOL_SIZE': got number, want string"* ]]
}

@test "schema: values outside their range or list are refused" {
    template --set frontend.service.type=Ingress
    [ "$status" -ne 0 ]
    [[ $output == *"at '/frontend/service/type': value must be one of 'ClusterIP', 'NodePort', 'LoadBalancer'"* ]]
    template --set backend.logFormat=xml
    [ "$status" -ne 0 ]
    [[ $output == *"at '/backend/logFormat': value must be one of 'json', 'text'"* ]]
    template --set backend.containerPort=70000
    [ "$status" -ne 0 ]
    [[ $output == *"at '/backend/containerPort': maximum"* ]]
    template --set frontend.publicOrigin=https://tasks.example.com/app
    [ "$status" -ne 0 ]
    [[ $output == *"at '/frontend/publicOrigin'"* ]]
}

@test "templates: the image tag latest is refused with a message naming the value to set" {
    template --set frontend.image.tag=latest
    [ "$status" -ne 0 ]
    [[ $output == *'frontend.image.tag: the image tag "latest" is not allowed'* ]]
}

@test "templates: an external database without its Secret fails, saying what to set" {
    template --set postgresql.enabled=false
    [ "$status" -ne 0 ]
    [[ $output == *"set externalDatabase.existingSecret to the name of a Secret holding its connection URL"* ]]
    template --set postgresql.enabled=false --set externalDatabase.existingSecret=db --set externalDatabase.existingSecretKey=
    [ "$status" -ne 0 ]
    [[ $output == *"set externalDatabase.existingSecretKey"* ]]
    template --set postgresql.enabled=false --set externalDatabase.existingSecret=db
    [ "$status" -eq 0 ]
}

@test "templates: a grace period shorter than the stop sequence is refused" {
    template --set backend.terminationGracePeriodSeconds=25
    [ "$status" -ne 0 ]
    [[ $output == *"backend.terminationGracePeriodSeconds (25) must be greater than backend.preStopSleepSeconds + backend.shutdownGraceSeconds (5 + 20)"* ]]
}

@test "templates: extraEnv cannot override a variable the chart sets" {
    template --set-string backend.extraEnv.JWT_SECRET=x
    [ "$status" -ne 0 ]
    [[ $output == *"backend.extraEnv.JWT_SECRET: the chart sets this variable itself"* ]]
    template --set-string frontend.extraEnv.BACKEND_URL=http://elsewhere:1
    [ "$status" -ne 0 ]
    [[ $output == *"frontend.extraEnv.BACKEND_URL: the chart sets this variable itself"* ]]
    template --set-string backend.extraEnv.DB_POOL_SIZE=5 --show-only templates/backend/configmap.yaml
    [ "$status" -eq 0 ]
    [[ $output == *'DB_POOL_SIZE: "5"'* ]]
}

@test "templates: an Ingress without a host is refused" {
    template --set ingress.enabled=true
    [ "$status" -ne 0 ]
    [[ $output == *"ingress.enabled is true: set ingress.host"* ]]
}

@test "templates: a release name too long for Kubernetes names is refused with advice" {
    run helm template this-release-name-is-far-too-long-for-names "$chart_dir"
    [ "$status" -ne 0 ]
    [[ $output == *"at most 41 fit Kubernetes' name limits"* ]]
    [[ $output == *"fullnameOverride"* ]]
}

@test "lint: helm lint --strict passes with every helm/ci values file" {
    local f
    for f in "$chart_dir"/ci/*-values.yaml; do
        run helm lint --strict "$chart_dir" -f "$f"
        [ "$status" -eq 0 ] || fail_with "$f: $output"
    done
}

@test "values.yaml: the schema line comes first and every key has a comment naming it" {
    [ "$(head -n 1 "$chart_dir/values.yaml")" = "# yaml-language-server: \$schema=values.schema.json" ]
    # Each "key:" line must follow a comment line that starts with the key's dotted path.
    run awk '
        /^[[:space:]]*#/ { if (!incomment) comment = $0; incomment = 1; sub(/^[[:space:]]*/, "", comment); next }
        { incomment = 0 }
        /^[[:space:]]*$/ { comment = ""; next }
        /^[[:space:]]*- / { next }
        /^[[:space:]]*[A-Za-z][A-Za-z0-9]*:/ {
            match($0, /^ */); depth = RLENGTH / 2
            key = $1; sub(/:.*/, "", key)
            path[depth] = key
            full = path[0]; for (i = 1; i <= depth; i++) full = full "." path[i]
            if (index(comment, "# " full " ") != 1 && index(comment, "# " full " --") != 1) print "line " NR ": " full
            comment = ""
        }' "$chart_dir/values.yaml"
    [ "$status" -eq 0 ]
    [ -z "$output" ] || fail_with "keys without a comment naming them:" "$output"
}

@test "values.yaml: every value passes the schema and every schema property exists in values.yaml" {
    # helm lint validates values.yaml against the schema; here the other direction.
    run jq -r '
        def walk_props($p): (.properties // {}) | to_entries[] | ($p + [.key]) as $k
            | ($k | join(".")), (.value | walk_props($k));
        walk_props([])' "$chart_dir/values.schema.json"
    local key missing=()
    for key in $output; do
        case $key in global) continue ;; esac
        # initialDelaySeconds and a few Kubernetes fields are optional by design.
        case $key in *.initialDelaySeconds | *.localhostProfile | *.supplementalGroups | *.capabilities.add) continue ;; esac
        yq -e "getpath(\"$key\" | split(\".\")) != null" "$chart_dir/values.yaml" >/dev/null 2>&1 || missing+=("$key")
    done
    [ ${#missing[@]} -eq 0 ] || fail_with "schema properties missing from values.yaml: ${missing[*]}"
}

@test "README: the values table lists every key of values.yaml with its default" {
    local leaves key missing=()
    [ -f "$chart_dir/README.md" ] || fail_with "helm/README.md is missing"
    leaves=$(yq -r 'paths(scalars or (type == "array" or type == "object") and length == 0) | map(tostring) | join(".")' "$chart_dir/values.yaml" |
        sed -E 's/\.[0-9]+$//' | sort -u)
    local default row stale=()
    for key in $leaves; do
        row=$(grep -F "| \`$key\` |" "$chart_dir/README.md") || {
            missing+=("$key")
            continue
        }
        # The Default column shows the value as JSON.
        default=$(yq -c "getpath(\"$key\" | split(\".\"))" "$chart_dir/values.yaml")
        [[ $row == *"| \`$default\` |"* ]] || stale+=("$key=$default")
    done
    [ ${#missing[@]} -eq 0 ] || fail_with "keys missing from helm/README.md: ${missing[*]}"
    [ ${#stale[@]} -eq 0 ] || fail_with "defaults in helm/README.md differ from values.yaml: ${stale[*]}"
}

@test "README: states the supported Kubernetes range that Chart.yaml and check-chart.sh use" {
    grep -q 'kubeVersion: ">=1.30.0-0"' "$chart_dir/Chart.yaml"
    grep -q 'Kubernetes 1.30 to 1.37' "$chart_dir/README.md"
    grep -q '^K8S_OLDEST=1.30$' "$repo_root/scripts/check-chart.sh"
    grep -q '^K8S_NEWEST=1.37$' "$repo_root/scripts/check-chart.sh"
}

@test "README: every skipped checkov check is justified" {
    local id skips
    skips=$(sed -n 's/^CHECKOV_SKIP=//p' "$repo_root/scripts/check-chart.sh" | tr -d '"' | tr ',' ' ')
    [ -n "$skips" ]
    for id in $skips; do
        grep -Eq "^\| \`$id\` \| .{20,}" "$chart_dir/README.md" || fail_with "$id has no justification row in helm/README.md"
    done
}

@test ".helmignore: editor backups and stray copies in templates/ are never rendered" {
    local copy=$BATS_TEST_TMPDIR/chart
    cp -r "$chart_dir" "$copy"
    rm -rf "$copy/tests"
    cp "$copy/templates/secret.yaml" "$copy/templates/secret.yaml.save"
    cp "$copy/templates/secret.yaml" "$copy/templates/secret.yaml.bak"
    cp "$copy/templates/secret.yaml" "$copy/templates/secret.yaml~"
    run helm template taskflow "$copy" --namespace taskflow
    [ "$status" -eq 0 ]
    [ "$(grep -c '^kind: Secret$' <<<"$output")" -eq 1 ]
    # And the chart's own tests are not packaged.
    run helm package "$chart_dir" -d "$BATS_TEST_TMPDIR/pkg"
    [ "$status" -eq 0 ]
    run tar -tzf "$BATS_TEST_TMPDIR"/pkg/taskflow-*.tgz
    [[ $output != *"taskflow/tests/"* ]]
    [[ $output == *"taskflow/templates/tests/test-connection.yaml"* ]]
}
