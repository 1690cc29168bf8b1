#!/usr/bin/env bats
#
# Tests of the flake's deploy and undeploy apps (nix/apps/deploy.sh, nix/apps/undeploy.sh)
# with fake minikube, helm and kubectl (fake-cluster.bash) that record their calls. PATH
# holds only the fakes and the few system tools the scripts use, so a missing tool can be
# simulated by leaving its fake out. Plain bats, no libraries: the flake's `app-tests`
# check runs this file in the Nix sandbox as well.
#
# Each test runs in its own subshell, so the settings it exports stay with it.
# shellcheck disable=SC2030,SC2031

setup() {
    apps="$BATS_TEST_DIRNAME/../../../nix/apps"
    deploy="$apps/deploy.sh"
    undeploy="$apps/undeploy.sh"
    t=$BATS_TEST_TMPDIR

    # System tools the scripts and the fake use, and nothing else.
    mkdir -p "$t/sys" "$t/fake"
    local tool
    for tool in bash env cat grep tee tr timeout mktemp rm mkdir touch sed ln; do
        ln -sf "$(command -v "$tool")" "$t/sys/$tool"
    done
    # taskflow-doctor: a stand-in that records its call (the doctor has its own tests in
    # ops-observe.bats, also together with deploy).
    for tool in minikube helm kubectl taskflow-doctor; do
        ln -sf "$BATS_TEST_DIRNAME/fake-cluster.bash" "$t/fake/$tool"
    done
    export PATH="$t/fake:$t/sys"

    export FAKE_LOG=$t/calls.log FAKE_STATE=$t/state
    : >"$FAKE_LOG"

    # The inputs the Nix wrapper sets: each archive holds its image reference, which the
    # fake minikube "loads".
    local component
    for component in backend frontend postgres; do
        echo "taskflow-$component:${component}0123abcd" >"$t/$component.tar"
    done
    export TASKFLOW_BACKEND_IMAGE=taskflow-backend:backend0123abcd
    export TASKFLOW_FRONTEND_IMAGE=taskflow-frontend:frontend0123abcd
    export TASKFLOW_POSTGRES_IMAGE=taskflow-postgres:postgres0123abcd
    export TASKFLOW_BACKEND_IMAGE_TAR=$t/backend.tar
    export TASKFLOW_FRONTEND_IMAGE_TAR=$t/frontend.tar
    export TASKFLOW_POSTGRES_IMAGE_TAR=$t/postgres.tar
    echo chart >"$t/taskflow.tgz"
    printf 'frontend:\n  service:\n    type: NodePort\n    nodePort: 30000\n' >"$t/minikube-values.yaml"
    export TASKFLOW_CHART=$t/taskflow.tgz TASKFLOW_VALUES=$t/minikube-values.yaml
    unset TASKFLOW_MINIKUBE_PROFILE TASKFLOW_MINIKUBE_DRIVER TASKFLOW_MINIKUBE_CPUS \
        TASKFLOW_MINIKUBE_MEMORY TASKFLOW_RELEASE TASKFLOW_NAMESPACE TASKFLOW_TIMEOUT
}

# Fails with both texts shown when they differ.
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

# Fails if the call log has a line containing the text. (A bare `! grep` would not fail a
# bats test: bash ignores errexit for negated commands.)
not_in_log() {
    if grep -Fq -- "$1" "$FAKE_LOG"; then
        echo "unexpected call matching '$1' in:" >&2
        cat "$FAKE_LOG" >&2
        return 1
    fi
}

# The helm upgrade call deploy makes with the default settings; $1 is the rollback flag.
upgrade_call() {
    echo "helm upgrade --install taskflow $t/taskflow.tgz --namespace taskflow --create-namespace --kube-context minikube --values $t/minikube-values.yaml --set backend.image.repository=taskflow-backend --set backend.image.tag=backend0123abcd --set frontend.image.repository=taskflow-frontend --set frontend.image.tag=frontend0123abcd --set postgresql.image.repository=taskflow-postgres --set postgresql.image.tag=postgres0123abcd --set-string frontend.publicOrigin=http://192.168.49.2:30000 --wait --timeout 10m $1"
}

# Every call after `helm status` on a successful deploy; $1 is the rollback flag.
deploy_tail() {
    echo "minikube ip --profile minikube"
    upgrade_call "$1"
    cat <<'EOF'
kubectl --context minikube --namespace taskflow get pods -o jsonpath={range .items[*]}{range .spec.containers[*]}{.image}{"\n"}{end}{end}
helm test taskflow --namespace taskflow --kube-context minikube --timeout 10m --logs
kubectl --context minikube --namespace taskflow get services --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=frontend -o jsonpath={.items[0].metadata.name}
minikube service taskflow-frontend --profile minikube --namespace taskflow --url
EOF
}

image_calls() {
    cat <<EOF
minikube image load --profile minikube $t/backend.tar
minikube image load --profile minikube $t/frontend.tar
minikube image load --profile minikube $t/postgres.tar
minikube image ls --profile minikube --format short
helm status taskflow --namespace taskflow --kube-context minikube
EOF
}

# --- deploy --------------------------------------------------------------------------------

@test "deploy --help prints the usage and the settings" {
    run "$deploy" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#deploy"
    assert_contains "$output" "TASKFLOW_MINIKUBE_DRIVER"
    assert_contains "$output" "TASKFLOW_MINIKUBE_MEMORY"
    [ ! -s "$FAKE_LOG" ]
}

@test "deploy tells the frontend its address (node IP and NodePort), and leaves it alone when the IP is unknown" {
    run "$deploy"
    [ "$status" -eq 0 ]
    grep -Fq -- "--set-string frontend.publicOrigin=http://192.168.49.2:30000" "$FAKE_LOG"
    rm -f "$FAKE_LOG"
    FAKE_IP=none run "$deploy"
    [ "$status" -eq 0 ]
    grep -Fq -- "helm upgrade --install" "$FAKE_LOG"
    not_in_log "frontend.publicOrigin"
}

@test "deploy rejects an unknown argument with status 2" {
    run "$deploy" --bogus
    [ "$status" -eq 2 ]
    assert_contains "$output" "unknown argument: --bogus"
}

@test "deploy on a fresh machine: starts Minikube, loads, installs, tests, prints the URL" {
    run "$deploy"
    [ "$status" -eq 0 ]
    expected="helm version --short
taskflow-doctor --skip-nix --quiet
minikube status --profile minikube
minikube start --profile minikube --cpus 2 --memory 4096
kubectl --context minikube get --raw /readyz
$(image_calls)
$(deploy_tail --rollback-on-failure)"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    assert_contains "$output" "==> [2/6] Minikube cluster (profile minikube)"
    assert_contains "$output" "not running: starting it (driver: minikube default, CPUs: 2, memory: 4096)"
    assert_contains "$output" "==> [4/6] Installing Helm release 'taskflow' in namespace 'taskflow'"
    assert_contains "$output" "TaskFlow is running: http://192.168.49.2:30000"
}

@test "deploy run again: no start, the release is upgraded in place with the same calls" {
    run "$deploy"
    [ "$status" -eq 0 ]
    : >"$FAKE_LOG"
    run "$deploy"
    [ "$status" -eq 0 ]
    expected="helm version --short
taskflow-doctor --skip-nix --quiet
minikube status --profile minikube
kubectl --context minikube get --raw /readyz
$(image_calls)
$(deploy_tail --rollback-on-failure)"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    assert_contains "$output" "    running"
    assert_contains "$output" "==> [4/6] Upgrading Helm release 'taskflow' in namespace 'taskflow'"
    assert_contains "$output" "TaskFlow is running: http://192.168.49.2:30000"
}

@test "deploy with Helm 3 rolls back with --atomic" {
    export FAKE_HELM_VERSION=v3.20.1+gabcdef FAKE_MINIKUBE_RUNNING=1
    run "$deploy"
    [ "$status" -eq 0 ]
    grep -Fxq -- "$(upgrade_call --atomic)" "$FAKE_LOG"
    assert_contains "$output" "rolls back on failure (--atomic)"
}

@test "deploy passes driver, CPUs, memory, profile, release, namespace and timeout through" {
    export TASKFLOW_MINIKUBE_DRIVER=kvm2 TASKFLOW_MINIKUBE_CPUS=4 TASKFLOW_MINIKUBE_MEMORY=6g \
        TASKFLOW_MINIKUBE_PROFILE=tf TASKFLOW_RELEASE=demo TASKFLOW_NAMESPACE=apps TASKFLOW_TIMEOUT=3m
    run "$deploy"
    [ "$status" -eq 0 ]
    grep -Fxq "minikube start --profile tf --cpus 4 --memory 6g --driver kvm2" "$FAKE_LOG"
    grep -Fxq "kubectl --context tf get --raw /readyz" "$FAKE_LOG"
    grep -Fxq "minikube image load --profile tf $t/backend.tar" "$FAKE_LOG"
    grep -Eq "^helm upgrade --install demo $t/taskflow.tgz --namespace apps --create-namespace --kube-context tf .* --wait --timeout 3m --rollback-on-failure\$" "$FAKE_LOG"
    grep -Fxq "helm test demo --namespace apps --kube-context tf --timeout 3m --logs" "$FAKE_LOG"
    grep -Fq -- "--selector app.kubernetes.io/instance=demo,app.kubernetes.io/component=frontend" "$FAKE_LOG"
}

@test "deploy without minikube on PATH: clear message, status 3, nothing run" {
    rm "$t/fake/minikube"
    run "$deploy"
    [ "$status" -eq 3 ]
    assert_contains "$output" "deploy: error: minikube not found on PATH"
    [ ! -s "$FAKE_LOG" ]
}

@test "deploy without helm or kubectl: status 3 naming the tool" {
    rm "$t/fake/helm"
    run "$deploy"
    [ "$status" -eq 3 ]
    assert_contains "$output" "helm not found on PATH"
    ln -s "$BATS_TEST_DIRNAME/fake-cluster.bash" "$t/fake/helm"
    rm "$t/fake/kubectl"
    run "$deploy"
    [ "$status" -eq 3 ]
    assert_contains "$output" "kubectl not found on PATH"
}

@test "deploy when the driver fails: status 4, names the driver and the setting" {
    export FAKE_START=fail TASKFLOW_MINIKUBE_DRIVER=docker
    run "$deploy"
    [ "$status" -eq 4 ]
    assert_contains "$output" "minikube could not start the cluster with driver 'docker'"
    assert_contains "$output" "TASKFLOW_MINIKUBE_DRIVER"
    not_in_log "image load"
}

@test "deploy when the Kubernetes API does not answer: status 4" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_API=fail
    run "$deploy"
    [ "$status" -eq 4 ]
    assert_contains "$output" "the Kubernetes API of Minikube profile 'minikube' does not answer"
    not_in_log "image load"
}

@test "deploy when an image cannot be loaded: status 5, no helm upgrade" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_LOAD_FAIL=$t/frontend.tar
    run "$deploy"
    [ "$status" -eq 5 ]
    assert_contains "$output" "minikube could not load taskflow-frontend:frontend0123abcd from $t/frontend.tar"
    not_in_log "helm upgrade"
}

@test "deploy when minikube silently skips an archive: status 5 from the image ls check" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_LOAD_SKIP=$t/postgres.tar
    run "$deploy"
    [ "$status" -eq 5 ]
    assert_contains "$output" "taskflow-postgres:postgres0123abcd is not in the cluster after 'minikube image load'"
    not_in_log "helm upgrade"
}

@test "deploy when helm fails: status 6, says it was rolled back, shows the pods" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_UPGRADE=fail
    run "$deploy"
    [ "$status" -eq 6 ]
    assert_contains "$output" "helm upgrade --install failed (messages above); Helm rolled the release back"
    grep -Fxq "kubectl --context minikube --namespace taskflow get pods" "$FAKE_LOG"
    not_in_log "helm test"
}

@test "deploy when helm times out: status 7 with the timeout and a hint" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_UPGRADE=timeout TASKFLOW_TIMEOUT=90s
    run "$deploy"
    [ "$status" -eq 7 ]
    assert_contains "$output" "timed out after 90s waiting for release 'taskflow' to become ready; Helm rolled it back"
    assert_contains "$output" "Raise TASKFLOW_TIMEOUT"
}

@test "deploy when the pods do not run the loaded images: status 6" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_POD_IMAGES="taskflow-backend:old taskflow-frontend:old taskflow-postgres:old"
    run "$deploy"
    [ "$status" -eq 6 ]
    assert_contains "$output" "no pod of release 'taskflow' runs taskflow-backend:backend0123abcd"
}

@test "deploy when helm test fails: status 8, release left installed" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_TEST=fail
    run "$deploy"
    [ "$status" -eq 8 ]
    assert_contains "$output" "helm test failed for release 'taskflow'"
    not_in_log "minikube service"
}

@test "deploy without a frontend Service or URL: status 9" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_SERVICE=none
    run "$deploy"
    [ "$status" -eq 9 ]
    assert_contains "$output" "no frontend Service of release 'taskflow' found"
    export FAKE_SERVICE="" FAKE_URL=none
    run "$deploy"
    [ "$status" -eq 9 ]
    assert_contains "$output" "TaskFlow is deployed, but 'minikube service taskflow-frontend --url' gave no URL"
}

@test "deploy runs the doctor's checks first and shows its summary" {
    run "$deploy"
    [ "$status" -eq 0 ]
    [ "$(sed -n 2p "$FAKE_LOG")" = "taskflow-doctor --skip-nix --quiet" ]
    assert_contains "$output" "    doctor: 9 OK, 0 warnings, 0 problems: deploy can run."
}

@test "deploy stops with the doctor's report when a check fails: status 4, cluster untouched" {
    export FAKE_DOCTOR=fail
    run "$deploy"
    [ "$status" -eq 4 ]
    assert_contains "$output" "FAIL  docker: the Docker daemon is not running. Fix: sudo systemctl start docker"
    assert_contains "$output" "deploy: error: the machine checks above found a problem that would stop the deployment"
    assert_contains "$output" "'nix run .#doctor' shows every check"
    assert_equal "$(cat "$FAKE_LOG")" "helm version --short
taskflow-doctor --skip-nix --quiet"
}

@test "deploy without taskflow-doctor on PATH nor next to it: status 3" {
    mkdir "$t/alone"
    cat "$deploy" >"$t/alone/deploy.sh"
    rm "$t/fake/taskflow-doctor"
    run bash "$t/alone/deploy.sh"
    [ "$status" -eq 3 ]
    assert_contains "$output" "taskflow-doctor not found on PATH"
}

@test "deploy with missing or bad inputs: status 1 before touching the cluster" {
    export TASKFLOW_CHART=$t/missing.tgz
    run "$deploy"
    [ "$status" -eq 1 ]
    assert_contains "$output" "TASKFLOW_CHART: chart '$t/missing.tgz' not found"
    export TASKFLOW_CHART=$t/taskflow.tgz TASKFLOW_BACKEND_IMAGE=taskflow-backend
    run "$deploy"
    [ "$status" -eq 1 ]
    assert_contains "$output" "TASKFLOW_BACKEND_IMAGE must be an image reference name:tag"
    export TASKFLOW_BACKEND_IMAGE=taskflow-backend:backend0123abcd TASKFLOW_POSTGRES_IMAGE_TAR=$t/none.tar
    run "$deploy"
    [ "$status" -eq 1 ]
    assert_contains "$output" "TASKFLOW_POSTGRES_IMAGE_TAR: image archive '$t/none.tar' not found"
    export TASKFLOW_POSTGRES_IMAGE_TAR=$t/postgres.tar TASKFLOW_MINIKUBE_CPUS=two
    run "$deploy"
    [ "$status" -eq 1 ]
    assert_contains "$output" "TASKFLOW_MINIKUBE_CPUS must be a positive whole number"
    [ ! -s "$FAKE_LOG" ]
}

# --- undeploy ------------------------------------------------------------------------------

@test "undeploy --help explains --purge" {
    run "$undeploy" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#undeploy [-- --purge | --help]"
    assert_contains "$output" "--purge"
    run "$undeploy" --bogus
    [ "$status" -eq 2 ]
}

@test "undeploy: uninstalls, keeps the volume claims and lists them" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1 FAKE_PVCS="data-taskflow-postgresql-0"
    run "$undeploy"
    [ "$status" -eq 0 ]
    expected="minikube status --profile minikube
helm status taskflow --namespace taskflow --kube-context minikube
helm uninstall taskflow --namespace taskflow --kube-context minikube --wait --timeout 10m
kubectl --context minikube --namespace taskflow get persistentvolumeclaims -o jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    assert_contains "$output" "kept these PersistentVolumeClaims (the database)"
    assert_contains "$output" "  data-taskflow-postgresql-0"
    assert_contains "$output" "nix run .#undeploy -- --purge"
}

@test "undeploy --purge: uninstalls and deletes the namespace with its data" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    run "$undeploy" --purge
    [ "$status" -eq 0 ]
    expected="minikube status --profile minikube
helm status taskflow --namespace taskflow --kube-context minikube
helm uninstall taskflow --namespace taskflow --kube-context minikube --wait --timeout 10m
kubectl --context minikube delete namespace taskflow --ignore-not-found --wait --timeout 10m"
    assert_equal "$(cat "$FAKE_LOG")" "$expected"
    assert_contains "$output" "namespace 'taskflow' deleted with its PersistentVolumeClaims: the database is gone"
}

@test "undeploy when nothing is installed: says so and succeeds; --purge still clears the namespace" {
    export FAKE_MINIKUBE_RUNNING=1
    run "$undeploy"
    [ "$status" -eq 0 ]
    assert_contains "$output" "release 'taskflow' is not installed in namespace 'taskflow'; nothing to uninstall"
    not_in_log "helm uninstall"
    run "$undeploy" --purge
    [ "$status" -eq 0 ]
    grep -Fq "kubectl --context minikube delete namespace taskflow" "$FAKE_LOG"
}

@test "undeploy after deploy: the release deployed is the one removed" {
    run "$deploy"
    [ "$status" -eq 0 ]
    : >"$FAKE_LOG"
    run "$undeploy"
    [ "$status" -eq 0 ]
    grep -Fxq "helm uninstall taskflow --namespace taskflow --kube-context minikube --wait --timeout 10m" "$FAKE_LOG"
}

@test "undeploy when the cluster is not running: status 4" {
    run "$undeploy"
    [ "$status" -eq 4 ]
    assert_contains "$output" "Minikube profile 'minikube' is not running"
    assert_equal "$(cat "$FAKE_LOG")" "minikube status --profile minikube"
}

@test "undeploy without minikube: status 3" {
    rm "$t/fake/minikube"
    run "$undeploy"
    [ "$status" -eq 3 ]
    assert_contains "$output" "minikube not found on PATH"
}

@test "undeploy failures: helm uninstall 6, its timeout 7, namespace deletion 6 and 7" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1 FAKE_UNINSTALL=fail
    run "$undeploy"
    [ "$status" -eq 6 ]
    assert_contains "$output" "helm uninstall failed for release 'taskflow'"

    export FAKE_UNINSTALL=timeout
    run "$undeploy"
    [ "$status" -eq 7 ]
    assert_contains "$output" "timed out after 10m while uninstalling release 'taskflow'"

    export FAKE_UNINSTALL="" FAKE_NS_DELETE=fail
    run "$undeploy" --purge
    [ "$status" -eq 6 ]
    assert_contains "$output" "could not delete namespace 'taskflow'"

    export FAKE_NS_DELETE=timeout
    run "$undeploy" --purge
    [ "$status" -eq 7 ]
    assert_contains "$output" "timed out after 10m while deleting namespace 'taskflow'"
}
