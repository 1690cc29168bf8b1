#!/usr/bin/env bats
#
# Tests of the flake's doctor, status, logs and images apps (nix/apps/{doctor,status,logs,
# images}.sh), and of deploy running the doctor's checks first. minikube, helm and kubectl
# are the recording fakes of fake-cluster.bash; the machine's tools that the doctor asks
# (nix, docker, podman, virsh, free, df, nproc, sysctl, qemu) those of fake-ops.bash. PATH
# holds only the fakes and the few system tools the scripts use, so a missing tool is a
# fake left out. The images app reads real docker-archives made here with tar.
#
# Each test runs in its own subshell, so the settings it exports stay with it.
# shellcheck disable=SC2030,SC2031

setup() {
    root="$BATS_TEST_DIRNAME/../../.."
    apps="$root/nix/apps"
    doctor="$apps/doctor.sh"
    status_app="$apps/status.sh"
    logs="$apps/logs.sh"
    images="$apps/images.sh"
    deploy="$apps/deploy.sh"
    t=$BATS_TEST_TMPDIR
    # The tests themselves may need more than the scripts: they call it with this PATH.
    host_path=$PATH

    mkdir -p "$t/sys" "$t/fake" "$t/home"
    local tool
    for tool in bash env cat grep tee tr timeout mktemp rm mkdir touch sed ln jq sleep tail tar uname; do
        ln -sf "$(command -v "$tool")" "$t/sys/$tool"
    done
    for tool in minikube helm kubectl; do
        ln -sf "$BATS_TEST_DIRNAME/fake-cluster.bash" "$t/fake/$tool"
    done
    for tool in nix docker podman virsh free df nproc; do
        ln -sf "$BATS_TEST_DIRNAME/fake-ops.bash" "$t/fake/$tool"
    done
    export PATH="$t/fake:$t/sys" HOME="$t/home"
    export FAKE_LOG=$t/calls.log FAKE_STATE=$t/state
    : >"$FAKE_LOG"
    unset TASKFLOW_MINIKUBE_PROFILE TASKFLOW_MINIKUBE_DRIVER TASKFLOW_MINIKUBE_CPUS \
        TASKFLOW_MINIKUBE_MEMORY TASKFLOW_RELEASE TASKFLOW_NAMESPACE TASKFLOW_TIMEOUT \
        TASKFLOW_REQUEST_TIMEOUT MINIKUBE_HOME
    # What this checkout builds (the Nix wrapper passes these to status, images and deploy).
    export TASKFLOW_BACKEND_IMAGE=taskflow-backend:backend0123abcd
    export TASKFLOW_FRONTEND_IMAGE=taskflow-frontend:frontend0123abcd
    export TASKFLOW_POSTGRES_IMAGE=taskflow-postgres:postgres0123abcd
}

teardown() {
    if [[ -n ${shared:-} ]]; then
        PATH=$host_path rm -rf -- "$shared"
    fi
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

assert_not_contains() {
    if [[ $1 == *"$2"* ]]; then
        printf 'did not expect:\n%s\nin:\n%s\n' "$2" "$1" >&2
        return 1
    fi
}

# Fails if the call log has a line containing the text.
not_in_log() {
    if grep -Fq -- "$1" "$FAKE_LOG"; then
        echo "unexpected call matching '$1' in:" >&2
        cat "$FAKE_LOG" >&2
        return 1
    fi
}

log_is() {
    assert_equal "$(cat "$FAKE_LOG")" "$1"
}

# --- doctor --------------------------------------------------------------------------------

@test "doctor --help prints the usage, the checks and the settings; an unknown argument is status 2" {
    run "$doctor" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#doctor [-- --skip-nix | --quiet | --help]"
    assert_contains "$output" "TASKFLOW_MINIKUBE_DRIVER"
    assert_contains "$output" "MINIKUBE_HOME"
    [ ! -s "$FAKE_LOG" ]
    run "$doctor" --bogus
    [ "$status" -eq 2 ]
    assert_contains "$output" "doctor: unknown argument: --bogus (see --help)"
    TASKFLOW_REQUEST_TIMEOUT=soon run "$doctor"
    [ "$status" -eq 2 ]
    assert_contains "$output" "TASKFLOW_REQUEST_TIMEOUT must be a whole number of seconds, got 'soon'"
}

@test "doctor on a fresh machine: every check, no cluster yet is only a warning, status 0" {
    export FAKE_MINIKUBE_PROFILE=none
    run "$doctor"
    [ "$status" -eq 0 ]
    log_is "nix --version
nix --extra-experimental-features nix-command config show experimental-features
minikube status --profile minikube
docker version --format {{.Server.Version}}
nproc
free -m
df -Pk $t/home"
    assert_equal "$output" "
==> [1/6] Nix
    OK    Nix 2.31.2 (2.31.2 or newer needed)
    OK    flakes enabled

==> [2/6] Tools
    OK    minikube, helm and kubectl found

==> [3/6] Minikube cluster (profile minikube)
    WARN  no cluster yet: deploy creates it (driver: any that works, CPUs: 2, memory: 4096); to do it now: minikube start --profile minikube

==> [4/6] Minikube driver
    OK    docker: Docker Engine 28.5.1 answers (TASKFLOW_MINIKUBE_DRIVER is not set: minikube picks a driver that works)

==> [5/6] CPUs, memory and disk for a new cluster
    OK    CPUs: 4 on this machine, 2 for a new cluster
    OK    memory: 12000 MB free of 16000 MB, 4096 MB for a new cluster
    OK    disk: 50000 MB free for $t/home/.minikube, 5120 MB needed for a new cluster

==> [6/6] kubectl context
    SKIP  context 'minikube': minikube writes it when deploy starts the cluster

doctor: 7 OK, 1 warning, 0 problems: deploy can run."
}

@test "doctor with the cluster running: checks the context and the API, not the driver or the resources" {
    export FAKE_MINIKUBE_RUNNING=1
    run "$doctor"
    [ "$status" -eq 0 ]
    log_is "nix --version
nix --extra-experimental-features nix-command config show experimental-features
minikube status --profile minikube
kubectl config get-contexts minikube -o name
kubectl --context minikube get --raw /readyz --request-timeout=20s
kubectl config current-context"
    assert_contains "$output" "    OK    running"
    assert_contains "$output" "    SKIP  driver: the cluster runs already (a driver is needed only to start one)"
    assert_contains "$output" "    SKIP  the cluster runs already and keeps its CPUs, memory and disk"
    assert_contains "$output" "    OK    context 'minikube': the Kubernetes API answers"
    assert_contains "$output" "    OK    plain kubectl commands use context 'minikube' too"
    assert_contains "$output" "doctor: 6 OK, 0 warnings, 0 problems: deploy can run."
}

@test "doctor with a stopped cluster: a warning naming its state; the disk is checked for the images only" {
    run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    WARN  not running (host: Stopped): deploy starts it; to do it now: minikube start --profile minikube"
    assert_contains "$output" "1024 MB needed for the images"
}

@test "doctor --quiet prints only warnings, problems and the summary; --skip-nix asks no Nix" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_CURRENT_CONTEXT=kind-other
    run "$doctor" --quiet --skip-nix
    [ "$status" -eq 0 ]
    assert_equal "$output" "    WARN  plain kubectl commands use context 'kind-other'; deploy and the other apps use 'minikube' anyway; to use it too: kubectl config use-context minikube
doctor: 3 OK, 1 warning, 0 problems: deploy can run."
    not_in_log "nix "
}

@test "doctor: Nix too old, flakes off, settings unreadable, Nix missing: FAIL lines with the fix, status 1" {
    FAKE_NIX_VERSION="nix (Nix) 2.18.1" run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  Nix 2.18.1 is older than 2.31.2, which building the flake needs. Fix: sudo -i nix upgrade-nix"
    assert_contains "$output" "doctor: 6 OK, 1 warning, 1 problem: deploy would stop; fix the FAIL lines above and run the doctor again (nix run .#doctor)."

    FAKE_NIX_FEATURES="nix-command" run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  flakes are not enabled, so 'nix run .#deploy' stops with \"experimental Nix feature 'flakes' is disabled\". Fix: mkdir -p ~/.config/nix && echo 'experimental-features = nix-command flakes' >> ~/.config/nix/nix.conf"

    FAKE_NIX_CONFIG=fail run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  could not read Nix's settings (error: unrecognised flag '--extra-experimental-features'). Fix: mkdir -p ~/.config/nix"

    rm "$t/fake/nix"
    run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  Nix is not installed (deploy is run with 'nix run .#deploy'). Fix: sh <(curl -L https://nixos.org/nix/install) --daemon"
}

@test "doctor: Determinate Nix has flakes without asking its settings" {
    FAKE_NIX_VERSION="nix (Determinate Nix 3.11.2) 2.31.2" run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    OK    Nix 2.31.2 (2.31.2 or newer needed)"
    assert_contains "$output" "    OK    flakes enabled (Determinate Nix always has them)"
    not_in_log "config show"
}

@test "doctor: the minimum Nix version is the one docs/nix.md and the README state" {
    local min
    min=$(grep -E '^nix_min=' "$doctor")
    min=${min#nix_min=}
    [ -n "$min" ]
    grep -Fq "**Nix $min or newer with flakes enabled.**" "$root/docs/nix.md"
    grep -Fq "**Nix $min or newer with flakes enabled**" "$root/README.md"
}

@test "doctor without helm on PATH: FAIL naming it" {
    rm "$t/fake/helm"
    run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  not found on PATH: helm. Fix: run the apps through Nix (nix run .#doctor, nix run .#deploy), which bring them"
}

@test "doctor: docker not running, refusing this user, or hanging (timeout): FAIL with the fix" {
    export TASKFLOW_MINIKUBE_DRIVER=docker
    FAKE_DOCKER=down run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  docker: the Docker daemon is not running (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?) (TASKFLOW_MINIKUBE_DRIVER=docker). Fix: sudo systemctl start docker (macOS: open -a Docker)"

    FAKE_DOCKER=denied run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  docker: permission denied on the Docker socket (TASKFLOW_MINIKUBE_DRIVER=docker). Fix: sudo usermod -aG docker \"\$USER\" && newgrp docker"

    FAKE_DOCKER=hang TASKFLOW_REQUEST_TIMEOUT=1 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  docker: the Docker daemon did not answer within 1s (TASKFLOW_MINIKUBE_DRIVER=docker). Fix: sudo systemctl restart docker"
    # The chosen driver only: no other is tried.
    not_in_log "podman"
}

@test "doctor with TASKFLOW_MINIKUBE_DRIVER=kvm2: libvirt and KVM, each failure with its fix" {
    export TASKFLOW_MINIKUBE_DRIVER=kvm2
    run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    OK    kvm2: libvirt answers and KVM is usable"
    grep -Fxq "virsh --connect qemu:///system domcapabilities --virttype kvm" "$FAKE_LOG"
    not_in_log "docker"

    FAKE_VIRSH=nokvm run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  kvm2: KVM is not usable (error: invalid argument: KVM is not supported by '/usr/bin/qemu-system-x86_64' on this host) (TASKFLOW_MINIKUBE_DRIVER=kvm2). Fix: enable virtualisation in the firmware settings, then: sudo modprobe kvm_intel (AMD: kvm_amd)"

    FAKE_VIRSH=denied run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "Fix: sudo usermod -aG libvirt \"\$USER\" && newgrp libvirt"

    FAKE_VIRSH=down run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  kvm2: libvirtd is not running"
    assert_contains "$output" "Fix: sudo systemctl start libvirtd"

    rm "$t/fake/virsh"
    run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  kvm2: libvirt (virsh) is not installed (TASKFLOW_MINIKUBE_DRIVER=kvm2). Fix: sudo apt-get install libvirt-daemon-system"
}

@test "doctor with podman, qemu or another driver" {
    TASKFLOW_MINIKUBE_DRIVER=podman run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    OK    podman: Podman 5.6.2 works"
    grep -Fxq "podman info --format {{.Version.Version}}" "$FAKE_LOG"

    TASKFLOW_MINIKUBE_DRIVER=podman FAKE_PODMAN=fail run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  podman: 'podman info' fails (Error: cannot connect to Podman."

    TASKFLOW_MINIKUBE_DRIVER=qemu run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  qemu: qemu-system-$(uname -m) is not installed (TASKFLOW_MINIKUBE_DRIVER=qemu). Fix: sudo apt-get install qemu-system"
    ln -s "$BATS_TEST_DIRNAME/fake-ops.bash" "$t/fake/qemu-system-$(uname -m)"
    TASKFLOW_MINIKUBE_DRIVER=qemu2 run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    OK    qemu: qemu-system-$(uname -m) found"

    TASKFLOW_MINIKUBE_DRIVER=vfkit run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    WARN  driver 'vfkit' is not checked here; minikube checks it when deploy starts the cluster"
}

@test "doctor without a driver set: takes the first that works, fails when none does" {
    FAKE_DOCKER=down run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    OK    podman: Podman 5.6.2 works (TASKFLOW_MINIKUBE_DRIVER is not set"

    rm "$t/fake/podman" "$t/fake/virsh"
    FAKE_DOCKER=down run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  no Minikube driver works: docker: the Docker daemon is not running (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?); podman: not installed; kvm2: libvirt (virsh) is not installed; qemu: qemu-system-$(uname -m) is not installed. Fix: sudo systemctl start docker (macOS: open -a Docker), then run deploy again (or set TASKFLOW_MINIKUBE_DRIVER to a driver that works)"
}

@test "doctor: CPUs asked for against the machine and minikube's minimum" {
    TASKFLOW_MINIKUBE_CPUS=8 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  a new cluster asks for 8 CPUs (TASKFLOW_MINIKUBE_CPUS), this machine has 4. Fix: export TASKFLOW_MINIKUBE_CPUS=4"

    TASKFLOW_MINIKUBE_CPUS=1 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  minikube needs at least 2 CPUs, TASKFLOW_MINIKUBE_CPUS is 1. Fix: export TASKFLOW_MINIKUBE_CPUS=2"

    TASKFLOW_MINIKUBE_CPUS=two run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  TASKFLOW_MINIKUBE_CPUS must be a positive whole number, got 'two'. Fix: export TASKFLOW_MINIKUBE_CPUS=2"

    FAKE_NPROC=1 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  this machine has 1 CPU(s); minikube needs at least 2. Fix: run deploy on a machine with 2 or more CPUs"
}

@test "doctor: memory asked for against the machine's total (FAIL) and free memory (WARN)" {
    TASKFLOW_MINIKUBE_MEMORY=6g FAKE_MEM="4000 3500" run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  a new cluster asks for 6144 MB (TASKFLOW_MINIKUBE_MEMORY), this machine has 4000 MB in all. Fix: export TASKFLOW_MINIKUBE_MEMORY=2816"

    FAKE_MEM="2000 1000" run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  this machine has 2000 MB of memory; minikube needs at least 1800 MB. Fix: run deploy on a machine with more memory"

    FAKE_MEM="16000 3000" run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    WARN  memory: only 3000 MB free of 16000 MB, a new cluster asks for 4096 MB: it starts, but may be slow; close programs, or: export TASKFLOW_MINIKUBE_MEMORY=2816"

    TASKFLOW_MINIKUBE_MEMORY=lots run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  TASKFLOW_MINIKUBE_MEMORY must be a size such as 4096, 4096mb or 6g, got 'lots'. Fix: export TASKFLOW_MINIKUBE_MEMORY=4096"

    TASKFLOW_MINIKUBE_MEMORY=1024mb run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  minikube needs at least 1800 MB, TASKFLOW_MINIKUBE_MEMORY is 1024mb"
}

@test "doctor on macOS: the installed memory from sysctl" {
    rm "$t/fake/free"
    ln -s "$BATS_TEST_DIRNAME/fake-ops.bash" "$t/fake/sysctl"
    run "$doctor"
    [ "$status" -eq 0 ]
    grep -Fxq "sysctl -n hw.memsize" "$FAKE_LOG"
    assert_contains "$output" "    OK    memory: 16384 MB installed, 4096 MB for a new cluster"
    FAKE_MEMSIZE=2147483648 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "this machine has 2048 MB of memory; minikube needs at least 1800 MB"
}

@test "doctor: free disk where Minikube keeps its data, MINIKUBE_HOME honoured" {
    FAKE_MINIKUBE_PROFILE=none FAKE_DISK_MB=2000 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  only 2000 MB free in $t/home, where Minikube keeps its data ($t/home/.minikube); a new cluster needs 5120 MB. Fix: free space there, or keep Minikube's data on a disk with room: export MINIKUBE_HOME=/path/with/space"

    mkdir -p "$t/data/.minikube"
    : >"$FAKE_LOG"
    MINIKUBE_HOME=$t/data run "$doctor"
    [ "$status" -eq 0 ]
    grep -Fxq "df -Pk $t/data/.minikube" "$FAKE_LOG"
    assert_contains "$output" "MB free for $t/data/.minikube"

    : >"$FAKE_LOG"
    MINIKUBE_HOME=$t/data/.minikube run "$doctor"
    grep -Fxq "df -Pk $t/data/.minikube" "$FAKE_LOG"
}

@test "doctor: kubectl without the profile's context (wrong context): FAIL with update-context" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_CONTEXT=missing
    run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  kubectl has no context 'minikube', which deploy uses. Fix: minikube update-context --profile minikube"
    not_in_log "get --raw /readyz"
}

@test "doctor: an outdated kubeconfig entry (minikube status says Misconfigured): a warning, deploy's start rewrites it" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_KUBECONFIG=misconfigured
    run "$doctor"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    WARN  the cluster runs, but kubectl's entry for it points to an old address: deploy's 'minikube start' rewrites it; to do it now: minikube update-context --profile minikube"
    assert_contains "$output" "    SKIP  context 'minikube': outdated (see above)"
    not_in_log "kubectl"
    not_in_log "docker"
}

@test "doctor: the API refuses or does not answer in time: FAIL, status 1" {
    export FAKE_MINIKUBE_RUNNING=1
    FAKE_API=fail run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  the Kubernetes API of Minikube profile 'minikube' does not answer (The connection to the server 192.168.49.2:8443 was refused). Fix: minikube update-context --profile minikube; if it still fails: minikube stop --profile minikube, then run deploy again"

    FAKE_API=timeout TASKFLOW_REQUEST_TIMEOUT=7 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "does not answer (no answer within 7s)"
    grep -Fxq "kubectl --context minikube get --raw /readyz --request-timeout=7s" "$FAKE_LOG"
}

@test "doctor: minikube status hangs (timeout): FAIL, status 1" {
    FAKE_MINIKUBE_STATUS=hang TASKFLOW_REQUEST_TIMEOUT=1 run "$doctor"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    FAIL  'minikube status' did not answer within 1s; its driver may hang. Fix: minikube stop --profile minikube (then run deploy again, which starts it)"
}

@test "doctor uses the profile from TASKFLOW_MINIKUBE_PROFILE everywhere" {
    export TASKFLOW_MINIKUBE_PROFILE=tf FAKE_MINIKUBE_RUNNING=1 FAKE_CURRENT_CONTEXT=tf
    run "$doctor" --skip-nix
    [ "$status" -eq 0 ]
    log_is "minikube status --profile tf
kubectl config get-contexts tf -o name
kubectl --context tf get --raw /readyz --request-timeout=20s
kubectl config current-context"
}

# --- deploy with the real doctor -----------------------------------------------------------

# The inputs the Nix wrapper gives deploy (see apps.bats).
deploy_inputs() {
    local component
    for component in backend frontend postgres; do
        echo "taskflow-$component:${component}0123abcd" >"$t/$component.tar"
    done
    export TASKFLOW_BACKEND_IMAGE_TAR=$t/backend.tar TASKFLOW_FRONTEND_IMAGE_TAR=$t/frontend.tar \
        TASKFLOW_POSTGRES_IMAGE_TAR=$t/postgres.tar
    echo chart >"$t/taskflow.tgz"
    printf 'frontend:\n  service:\n    type: NodePort\n    nodePort: 30000\n' >"$t/minikube-values.yaml"
    export TASKFLOW_CHART=$t/taskflow.tgz TASKFLOW_VALUES=$t/minikube-values.yaml
}

@test "deploy runs the doctor (on PATH as taskflow-doctor) before touching the cluster, and shows its warnings" {
    deploy_inputs
    ln -s "$doctor" "$t/fake/taskflow-doctor"
    run "$deploy"
    [ "$status" -eq 0 ]
    assert_equal "$(PATH=$host_path head -n 7 "$FAKE_LOG")" "helm version --short
minikube status --profile minikube
docker version --format {{.Server.Version}}
nproc
free -m
df -Pk $t/home
minikube status --profile minikube"
    [ "$(sed -n 8p "$FAKE_LOG")" = "minikube start --profile minikube --cpus 2 --memory 4096" ]
    assert_contains "$output" "==> [1/6] Checking tools and inputs"
    assert_contains "$output" "    WARN  not running (host: Stopped): deploy starts it; to do it now: minikube start --profile minikube
    doctor: 5 OK, 1 warning, 0 problems: deploy can run."
    assert_contains "$output" "TaskFlow is running: http://192.168.49.2:30000"
    not_in_log "nix "
}

@test "deploy stops with the doctor's report when no driver works (doctor next to deploy.sh): status 4, nothing started" {
    deploy_inputs
    rm "$t/fake/podman" "$t/fake/virsh"
    export FAKE_DOCKER=down
    run "$deploy"
    [ "$status" -eq 4 ]
    assert_contains "$output" "    FAIL  no Minikube driver works: docker: the Docker daemon is not running"
    assert_contains "$output" "doctor: 4 OK, 1 warning, 1 problem: deploy would stop"
    assert_contains "$output" "deploy: error: the machine checks above found a problem that would stop the deployment; fix each FAIL line, then run deploy again ('nix run .#doctor' shows every check)"
    not_in_log "minikube start"
    not_in_log "image load"
}

@test "deploy stops when the doctor finds too little memory for the cluster asked for: status 4" {
    deploy_inputs
    export TASKFLOW_MINIKUBE_MEMORY=8g FAKE_MEM="6000 5000"
    run "$deploy"
    [ "$status" -eq 4 ]
    assert_contains "$output" "    FAIL  a new cluster asks for 8192 MB (TASKFLOW_MINIKUBE_MEMORY), this machine has 6000 MB in all. Fix: export TASKFLOW_MINIKUBE_MEMORY=4352"
    not_in_log "minikube start"
}

# --- status --------------------------------------------------------------------------------

# pod COMPONENT NAME IMAGE READY RESTARTS [WAITING-REASON]: one pod, as kubectl shows it.
pod() {
    jq -n --arg c "$1" --arg n "$2" --arg i "$3" --argjson ready "$4" --argjson r "$5" --arg w "${6-}" '{
        metadata: {name: $n, labels: {"app.kubernetes.io/instance": "taskflow", "app.kubernetes.io/component": $c}},
        spec: {containers: [{name: $c, image: $i}]},
        status: {
            phase: "Running",
            conditions: [{type: "Ready", status: (if $ready then "True" else "False" end)}],
            containerStatuses: [{name: $c, ready: $ready, restartCount: $r,
                state: (if $w == "" then {running: {}} else {waiting: {reason: $w}} end)}]}}'
}

# pods POD-JSON...: the pods the fake kubectl lists.
pods() {
    printf '%s\n' "$@" | jq -s '{apiVersion: "v1", kind: "List", items: .}' >"$t/pods.json"
    export FAKE_PODS_JSON=$t/pods.json
}

healthy_pods() {
    pods "$(pod backend taskflow-backend-7c9d8f6b5-4xk2p docker.io/library/taskflow-backend:backend0123abcd true 0)" \
        "$(pod frontend taskflow-frontend-5f6d7c8b9-q8m3n taskflow-frontend:frontend0123abcd true 1)" \
        "$(pod postgresql taskflow-postgresql-0 taskflow-postgres:postgres0123abcd true 0)"
}

# event TIME OBJECT REASON MESSAGE [COUNT]: one Warning event.
event() {
    jq -n --arg at "$1" --arg o "$2" --arg r "$3" --arg m "$4" --argjson n "${5:-1}" '{
        type: "Warning", lastTimestamp: $at, reason: $r, message: $m, count: $n,
        involvedObject: {kind: ($o | split("/")[0]), name: ($o | split("/")[1])}}'
}

events() {
    printf '%s\n' "$@" | jq -s '{items: .}' >"$t/events.json"
    export FAKE_EVENTS_JSON=$t/events.json
}

@test "status --help; an unknown argument is status 2" {
    run "$status_app" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#status [-- --help]"
    assert_contains "$output" "TASKFLOW_REQUEST_TIMEOUT"
    run "$status_app" --bogus
    [ "$status" -eq 2 ]
    assert_contains "$output" "status: unknown argument: --bogus (see --help)"
    [ ! -s "$FAKE_LOG" ]
}

@test "status of a healthy release: the calls, the release, the pods with their tags, the URL, status 0" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1 FAKE_REVISION=3
    healthy_pods
    run "$status_app"
    [ "$status" -eq 0 ]
    log_is "minikube status --profile minikube
kubectl config get-contexts minikube -o name
kubectl --context minikube get --raw /readyz --request-timeout=20s
helm status taskflow --namespace taskflow --kube-context minikube --output json
kubectl --context minikube --namespace taskflow --request-timeout=20s get pods --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component in (backend,frontend,postgresql) -o json
kubectl --context minikube --namespace taskflow --request-timeout=20s get services --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component=frontend -o json
minikube ip --profile minikube
kubectl --context minikube --namespace taskflow --request-timeout=20s get events --field-selector type=Warning -o json"
    assert_equal "$output" "
==> [1/5] Cluster (Minikube profile minikube)
    running; context minikube; Kubernetes API ready

==> [2/5] Helm release 'taskflow' in namespace 'taskflow'
    status deployed, revision 3, chart taskflow-0.2.0, app version 0.1.0
    last deployed 2026-11-27T01:02:03.456789012Z

==> [3/5] Pods
    COMPONENT   POD                                STATE    READY  RESTARTS  IMAGE TAG         BUILT HERE
    backend     taskflow-backend-7c9d8f6b5-4xk2p   Running  1/1    0         backend0123abcd   yes
    frontend    taskflow-frontend-5f6d7c8b9-q8m3n  Running  1/1    1         frontend0123abcd  yes
    postgresql  taskflow-postgresql-0              Running  1/1    0         postgres0123abcd  yes

==> [4/5] URL
    http://192.168.49.2:30000

==> [5/5] Warning events (the last 5)
    none

TaskFlow is up: release 'taskflow' revision 3, 3 of 3 pods ready, at http://192.168.49.2:30000."
}

@test "status with a crashing pod: its state and restarts, the last five warnings in order, status 1" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    pods "$(pod backend taskflow-backend-7c9d8f6b5-4xk2p taskflow-backend:backend0123abcd false 6 CrashLoopBackOff)" \
        "$(pod frontend taskflow-frontend-5f6d7c8b9-q8m3n taskflow-frontend:frontend0123abcd true 0)" \
        "$(pod postgresql taskflow-postgresql-0 taskflow-postgres:postgres0123abcd true 0)"
    events "$(event 2026-11-27T01:00:06Z Pod/taskflow-backend-7c9d8f6b5-4xk2p BackOff 'Back-off restarting failed container backend' 6)" \
        "$(event 2026-11-27T01:00:01Z Pod/a Old1 one)" \
        "$(event 2026-11-27T01:00:02Z Pod/a Old2 two)" \
        "$(event 2026-11-27T01:00:03Z Pod/a Kept3 three)" \
        "$(event 2026-11-27T01:00:05Z Pod/taskflow-backend-7c9d8f6b5-4xk2p Unhealthy $'Readiness probe failed: HTTP probe failed with statuscode: 503\nsecond line')" \
        "$(event 2026-11-27T01:00:04Z Pod/a Kept4 four)" \
        "$(event 2026-11-27T00:59:00Z Pod/a Oldest zero)"
    run "$status_app"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    backend     taskflow-backend-7c9d8f6b5-4xk2p   CrashLoopBackOff  0/1    6         backend0123abcd   yes"
    assert_contains "$output" "==> [5/5] Warning events (the last 5)
    2026-11-27T01:00:02Z  Pod/a  Old2: two
    2026-11-27T01:00:03Z  Pod/a  Kept3: three
    2026-11-27T01:00:04Z  Pod/a  Kept4: four
    2026-11-27T01:00:05Z  Pod/taskflow-backend-7c9d8f6b5-4xk2p  Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503
    2026-11-27T01:00:06Z  Pod/taskflow-backend-7c9d8f6b5-4xk2p  BackOff (x6): Back-off restarting failed container backend
"
    assert_not_contains "$output" "Old1"
    assert_not_contains "$output" "second line"
    assert_contains "$output" "status: error: 1 of 3 pods not ready: taskflow-backend-7c9d8f6b5-4xk2p (CrashLoopBackOff); see the events above and 'nix run .#logs -- <component>'"
}

@test "status tells which pods run another build than this checkout, and 'unknown' outside Nix" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    pods "$(pod backend taskflow-backend-1 taskflow-backend:0ldb0ild true 0)" \
        "$(pod frontend taskflow-frontend-1 taskflow-frontend:frontend0123abcd true 0)"
    run "$status_app"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    backend    taskflow-backend-1   Running  1/1    0         0ldb0ild          no"
    assert_contains "$output" "    pods marked 'no' run another build than this checkout; 'nix run .#deploy' updates them"
    unset TASKFLOW_BACKEND_IMAGE
    run "$status_app"
    [ "$status" -eq 0 ]
    assert_contains "$output" "0ldb0ild          unknown"
}

@test "status when the release is not deployed or has no pods: status 1" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    healthy_pods
    FAKE_RELEASE_STATUS=failed run "$status_app"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    status failed, revision 1"
    assert_contains "$output" "status: error: release 'taskflow' is in state 'failed', not deployed; 'helm history taskflow --namespace taskflow --kube-context minikube' shows what happened"
    unset FAKE_PODS_JSON
    run "$status_app"
    [ "$status" -eq 1 ]
    assert_contains "$output" "    no pods of release 'taskflow' (label app.kubernetes.io/instance=taskflow)"
    assert_contains "$output" "status: error: release 'taskflow' has no pods"
}

@test "status: the URL for a ClusterIP Service, without a Service, or without a node address" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    healthy_pods
    FAKE_SERVICE_TYPE=ClusterIP run "$status_app"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    none outside the cluster: Service taskflow-frontend is of type ClusterIP; reach it with:
    kubectl --context minikube --namespace taskflow port-forward service/taskflow-frontend 8080:3000"
    FAKE_SERVICE=none run "$status_app"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    none: the release has no frontend Service"
    FAKE_IP=none run "$status_app"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    unknown: 'minikube ip --profile minikube' gave no address (the Service taskflow-frontend listens on NodePort 30000)"
}

@test "status when kubectl gives no valid list of pods (status 6) or of events (shown as unknown)" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    healthy_pods
    echo '{"items": [' >"$t/broken.json"
    FAKE_EVENTS_JSON=$t/broken.json run "$status_app"
    [ "$status" -eq 0 ]
    assert_contains "$output" "    unknown: 'kubectl get events -o json' did not give a list of events"
    FAKE_PODS_JSON=$t/broken.json run "$status_app"
    [ "$status" -eq 6 ]
    assert_contains "$output" "status: error: 'kubectl get pods -o json' did not give a list of pods"
}

@test "status with no cluster: status 4, says how to start it" {
    run "$status_app"
    [ "$status" -eq 4 ]
    assert_contains "$output" "status: error: no cluster: Minikube profile 'minikube' is not running (host: Stopped); start it with: minikube start --profile minikube (or nix run .#deploy)"
    log_is "minikube status --profile minikube"
    FAKE_MINIKUBE_PROFILE=none run "$status_app"
    [ "$status" -eq 4 ]
    assert_contains "$output" "status: error: no cluster: Minikube profile 'minikube' does not exist; create it and install TaskFlow with: nix run .#deploy"
    FAKE_MINIKUBE_STATUS=hang TASKFLOW_REQUEST_TIMEOUT=1 run "$status_app"
    [ "$status" -eq 4 ]
    assert_contains "$output" "status: error: 'minikube status --profile minikube' did not answer within 1s"
}

@test "status with a missing or outdated kubectl context (wrong context): status 4" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    FAKE_CONTEXT=missing run "$status_app"
    [ "$status" -eq 4 ]
    assert_contains "$output" "status: error: kubectl has no context 'minikube' (the cluster runs, but its kubeconfig entry is missing); fix it with: minikube update-context --profile minikube"
    not_in_log "helm"
    FAKE_KUBECONFIG=misconfigured run "$status_app"
    [ "$status" -eq 4 ]
    assert_contains "$output" "status: error: kubectl's context 'minikube' points to an old address of the cluster; fix it with: minikube update-context --profile minikube"
}

@test "status when the API refuses or times out: status 4; helm not answering in time: status 6" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    FAKE_API=fail run "$status_app"
    [ "$status" -eq 4 ]
    assert_contains "$output" "status: error: the Kubernetes API of Minikube profile 'minikube' does not answer (The connection to the server 192.168.49.2:8443 was refused); 'nix run .#doctor' checks the cluster"
    FAKE_API=timeout run "$status_app"
    [ "$status" -eq 4 ]
    assert_contains "$output" "status: error: the Kubernetes API of Minikube profile 'minikube' did not answer within 20s"
    not_in_log "helm"
    FAKE_HELM_STATUS=hang TASKFLOW_REQUEST_TIMEOUT=1 run "$status_app"
    [ "$status" -eq 6 ]
    assert_contains "$output" "status: error: 'helm status' did not answer within 1s"
}

@test "status when the release is not installed: status 5, says how to install it" {
    export FAKE_MINIKUBE_RUNNING=1
    run "$status_app"
    [ "$status" -eq 5 ]
    assert_contains "$output" "status: error: release 'taskflow' is not installed in namespace 'taskflow' (Minikube profile 'minikube'); install it with: nix run .#deploy"
    not_in_log "get pods"
}

@test "status with profile, release and namespace from the settings" {
    export TASKFLOW_MINIKUBE_PROFILE=tf TASKFLOW_RELEASE=demo TASKFLOW_NAMESPACE=apps FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    healthy_pods
    run "$status_app"
    [ "$status" -eq 0 ]
    grep -Fxq "helm status demo --namespace apps --kube-context tf --output json" "$FAKE_LOG"
    grep -Fxq "kubectl --context tf --namespace apps --request-timeout=20s get pods --selector app.kubernetes.io/instance=demo,app.kubernetes.io/component in (backend,frontend,postgresql) -o json" "$FAKE_LOG"
}

@test "status without kubectl: status 3" {
    rm "$t/fake/kubectl"
    run "$status_app"
    [ "$status" -eq 3 ]
    assert_contains "$output" "status: error: kubectl not found on PATH"
}

# --- logs ----------------------------------------------------------------------------------

@test "logs --help; unknown component, option or value: usage error, status 2, no calls" {
    run "$logs" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#logs [-- [backend|frontend|postgres|all]"
    run "$logs" database
    [ "$status" -eq 2 ]
    assert_contains "$output" "logs: unknown component: database (backend, frontend, postgres or all) (see --help)"
    run "$logs" --bogus
    [ "$status" -eq 2 ]
    assert_contains "$output" "logs: unknown option: --bogus"
    run "$logs" backend frontend
    [ "$status" -eq 2 ]
    assert_contains "$output" "only one component, got 'backend' and 'frontend'"
    run "$logs" --since yesterday
    [ "$status" -eq 2 ]
    assert_contains "$output" "--since needs a duration such as 30s, 10m or 2h, got 'yesterday'"
    run "$logs" --tail
    [ "$status" -eq 2 ]
    assert_contains "$output" "--tail needs a number of lines"
    [ ! -s "$FAKE_LOG" ]
}

@test "logs (all): the calls, the pods, each line prefixed with its pod" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    healthy_pods
    run "$logs"
    [ "$status" -eq 0 ]
    log_is "minikube status --profile minikube
kubectl config get-contexts minikube -o name
kubectl --context minikube get --raw /readyz --request-timeout=20s
kubectl --context minikube --namespace taskflow --request-timeout=20s get pods --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component in (backend,frontend,postgresql) -o name
kubectl --context minikube --namespace taskflow logs --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component in (backend,frontend,postgresql) --prefix --all-containers --max-log-requests 20 --tail 50 --follow"
    assert_equal "$output" "
==> [1/2] Cluster (Minikube profile minikube)
    3 pod(s): taskflow-backend-7c9d8f6b5-4xk2p taskflow-frontend-5f6d7c8b9-q8m3n taskflow-postgresql-0

==> [2/2] Following the logs of backend, frontend and postgres (release 'taskflow'; Ctrl-C stops)
[pod/taskflow-backend-7c9d8f6b5-4xk2p/backend] {\"level\":\"INFO\",\"message\":\"listening\"}
[pod/taskflow-frontend-5f6d7c8b9-q8m3n/frontend] {\"level\":\"INFO\",\"message\":\"listening\"}
[pod/taskflow-postgresql-0/postgresql] {\"level\":\"INFO\",\"message\":\"listening\"}"
}

@test "logs postgres --since 10m --tail 5 --no-follow: the postgresql label, no --follow" {
    export FAKE_MINIKUBE_RUNNING=1 FAKE_RELEASE=1
    healthy_pods
    run "$logs" postgres --since 10m --tail 5 --no-follow
    [ "$status" -eq 0 ]
    [ "$(tail -n 1 "$FAKE_LOG")" = "kubectl --context minikube --namespace taskflow logs --selector app.kubernetes.io/instance=taskflow,app.kubernetes.io/component in (postgresql) --prefix --all-containers --max-log-requests 20 --tail 5 --since 10m" ]
    assert_contains "$output" "==> [2/2] The logs of postgres (release 'taskflow')"
    assert_contains "$output" "[pod/taskflow-postgresql-0/postgresql]"
    assert_not_contains "$output" "taskflow-backend"
    run "$logs" backend
    [ "$status" -eq 0 ]
    assert_contains "$output" "    1 pod(s): taskflow-backend-7c9d8f6b5-4xk2p"
}

@test "logs failures: no cluster, no context, API refused or timed out 4; no pods 5; kubectl logs 6" {
    run "$logs"
    [ "$status" -eq 4 ]
    assert_contains "$output" "logs: error: no cluster: Minikube profile 'minikube' is not running, so there are no logs; start it with: nix run .#deploy"

    export FAKE_MINIKUBE_RUNNING=1
    FAKE_CONTEXT=missing run "$logs"
    [ "$status" -eq 4 ]
    assert_contains "$output" "logs: error: kubectl has no context 'minikube'; fix it with: minikube update-context --profile minikube"

    FAKE_API=fail run "$logs"
    [ "$status" -eq 4 ]
    assert_contains "$output" "logs: error: the Kubernetes API of Minikube profile 'minikube' does not answer (The connection to the server 192.168.49.2:8443 was refused)"
    FAKE_API=timeout TASKFLOW_REQUEST_TIMEOUT=5 run "$logs"
    [ "$status" -eq 4 ]
    assert_contains "$output" "did not answer within 5s"

    run "$logs" frontend
    [ "$status" -eq 5 ]
    assert_contains "$output" "logs: error: no frontend pods of release 'taskflow' in namespace 'taskflow'; is it installed? 'nix run .#status' shows the release, 'nix run .#deploy' installs it"

    healthy_pods
    FAKE_LOGS=fail run "$logs"
    [ "$status" -eq 6 ]
    assert_contains "$output" "logs: error: kubectl logs failed (its messages are above)"

    rm "$t/fake/kubectl"
    run "$logs"
    [ "$status" -eq 3 ]
    assert_contains "$output" "logs: error: kubectl not found on PATH"
}

# --- images --------------------------------------------------------------------------------

# archive COMPONENT TAG FILE-KB... [--dot]: a docker-archive $t/archives/COMPONENT.tar of
# the image taskflow-COMPONENT:TAG with one layer per size (a file of that many KiB of
# zeros); --dot writes the members as ./name, as `tar -C dir .` does. Run with the host's
# tools.
archive() {
    local component=$1 tag=$2 dot=0
    shift 2
    local d=$t/build/$component n=0 layers=() kb
    mkdir -p "$d/image" "$t/archives"
    for kb in "$@"; do
        if [[ $kb == --dot ]]; then
            dot=1
            continue
        fi
        n=$((n + 1))
        mkdir -p "$d/layer$n/bin" "$d/image/$n"
        head -c $((kb * 1024)) /dev/zero >"$d/layer$n/bin/file$n"
        tar --format=gnu --blocking-factor=20 -cf "$d/image/$n/layer.tar" -C "$d/layer$n" bin
        layers+=("$n/layer.tar")
    done
    echo '{"architecture": "amd64", "os": "linux"}' >"$d/image/config.json"
    jq -n --arg ref "taskflow-$component:$tag" --args '[{Config: "config.json", RepoTags: [$ref], Layers: $ARGS.positional}]' \
        "${layers[@]}" >"$d/image/manifest.json"
    if ((dot)); then
        tar --format=gnu -cf "$t/archives/$component.tar" -C "$d/image" .
    else
        (cd "$d/image" && tar --format=gnu -cf "$t/archives/$component.tar" manifest.json config.json "${layers[@]}")
    fi
}

# The three archives of this checkout, and the settings that name them.
three_archives() {
    PATH=$host_path archive backend backend0123abcd 10240 8
    PATH=$host_path archive frontend frontend0123abcd 4096 --dot
    PATH=$host_path archive postgres postgres0123abcd 51200 20480 300 1
    export TASKFLOW_BACKEND_IMAGE_TAR=$t/archives/backend.tar
    export TASKFLOW_FRONTEND_IMAGE_TAR=$t/archives/frontend.tar
    export TASKFLOW_POSTGRES_IMAGE_TAR=$t/archives/postgres.tar
}

@test "images --help; an unknown argument is status 2" {
    run "$images" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "Usage: nix run .#images [-- --help]"
    run "$images" --bogus
    [ "$status" -eq 2 ]
    assert_contains "$output" "images: unknown argument: --bogus (see --help)"
}

@test "images: name, tag, uncompressed size and layer count read from real docker-archives" {
    three_archives
    run "$images"
    [ "$status" -eq 0 ]
    assert_equal "$output" "
==> [1/2] Checking the image archives
    backend: $t/archives/backend.tar
    frontend: $t/archives/frontend.tar
    postgres: $t/archives/postgres.tar

==> [2/2] Reading names, tags and layers
    backend: 2 layers, 10506240 bytes
    frontend: 1 layer, 4198400 bytes
    postgres: 4 layers, 73748480 bytes

NAME               TAG                  SIZE  LAYERS
taskflow-backend   backend0123abcd   10.0 MB       2
taskflow-frontend  frontend0123abcd   4.0 MB       1
taskflow-postgres  postgres0123abcd  70.3 MB       4"
}

@test "images: a layer stored as a link to another member counts with that member's size" {
    three_archives
    local d=$t/build/backend/image
    PATH=$host_path ln -s 1/layer.tar "$d/link.tar"
    PATH=$host_path jq '.[0].Layers += ["link.tar"]' "$d/manifest.json" >"$t/manifest.json"
    PATH=$host_path cp "$t/manifest.json" "$d/manifest.json"
    (cd "$d" && PATH=$host_path tar --format=gnu -cf "$t/archives/backend.tar" manifest.json config.json 1/layer.tar 2/layer.tar link.tar)
    run "$images"
    [ "$status" -eq 0 ]
    assert_contains "$output" "backend: 3 layers, $((10506240 + 10496000)) bytes"
    assert_contains "$output" "taskflow-backend   backend0123abcd   20.0 MB       3"
}

@test "images: a missing archive, a directory, an unset setting or a bad reference: status 1" {
    three_archives
    TASKFLOW_FRONTEND_IMAGE_TAR=$t/none.tar run "$images"
    [ "$status" -eq 1 ]
    assert_contains "$output" "images: error: TASKFLOW_FRONTEND_IMAGE_TAR: image archive '$t/none.tar' not found"
    TASKFLOW_FRONTEND_IMAGE_TAR=$t/archives run "$images"
    [ "$status" -eq 1 ]
    assert_contains "$output" "images: error: TASKFLOW_FRONTEND_IMAGE_TAR: '$t/archives' is not a file"
    TASKFLOW_POSTGRES_IMAGE_TAR="" run "$images"
    [ "$status" -eq 1 ]
    assert_contains "$output" "images: error: TASKFLOW_POSTGRES_IMAGE_TAR is not set (the Nix wrapper sets it to the image archive)"
    TASKFLOW_BACKEND_IMAGE=taskflow-backend run "$images"
    [ "$status" -eq 1 ]
    assert_contains "$output" "images: error: TASKFLOW_BACKEND_IMAGE must be an image reference name:tag (set by the Nix wrapper), got 'taskflow-backend'"
}

@test "images: an archive that cannot be read (permissions): status 1, says so" {
    three_archives
    # A place another user can reach, with the archives readable but the backend's.
    shared=$(PATH=$host_path mktemp -d /tmp/taskflow-images-test.XXXXXXXX)
    PATH=$host_path cp "$t/archives/backend.tar" "$t/archives/frontend.tar" "$t/archives/postgres.tar" "$shared/"
    PATH=$host_path chmod 755 "$shared"
    PATH=$host_path chmod 644 "$shared/frontend.tar" "$shared/postgres.tar"
    PATH=$host_path chmod 000 "$shared/backend.tar"
    local -a as_user=()
    if ((EUID == 0)); then
        # root reads any file: check as the unprivileged user nobody.
        local setpriv
        setpriv=$(PATH=$host_path command -v setpriv) || {
            echo "setpriv not found; install it: apt-get install util-linux" >&2
            return 1
        }
        as_user=("$setpriv" --reuid=65534 --regid=65534 --clear-groups)
    fi
    run "${as_user[@]}" "$t/sys/env" PATH="$host_path" TMPDIR="$shared" \
        TASKFLOW_BACKEND_IMAGE_TAR="$shared/backend.tar" TASKFLOW_FRONTEND_IMAGE_TAR="$shared/frontend.tar" \
        TASKFLOW_POSTGRES_IMAGE_TAR="$shared/postgres.tar" bash "$images"
    [ "$status" -eq 1 ]
    assert_contains "$output" "images: error: TASKFLOW_BACKEND_IMAGE_TAR: image archive '$shared/backend.tar' cannot be read (permission denied)"
}

@test "images: not a tar, a truncated tar, no manifest, a bad manifest, a missing layer: status 4" {
    three_archives
    echo "not an archive" >"$t/junk.tar"
    TASKFLOW_BACKEND_IMAGE_TAR=$t/junk.tar run "$images"
    [ "$status" -eq 4 ]
    assert_contains "$output" "images: error: $t/junk.tar (backend image) is not a valid docker-archive: tar cannot list it (tar: This does not look like a tar archive)"

    PATH=$host_path head -c 20000 "$t/archives/postgres.tar" >"$t/truncated.tar"
    TASKFLOW_POSTGRES_IMAGE_TAR=$t/truncated.tar run "$images"
    [ "$status" -eq 4 ]
    assert_contains "$output" "images: error: $t/truncated.tar (postgres image) is not a valid docker-archive: tar cannot list it"

    local d=$t/build/frontend/image
    (cd "$d" && PATH=$host_path tar -cf "$t/nomanifest.tar" config.json 1/layer.tar)
    TASKFLOW_FRONTEND_IMAGE_TAR=$t/nomanifest.tar run "$images"
    [ "$status" -eq 4 ]
    assert_contains "$output" "images: error: $t/nomanifest.tar (frontend image) is not a valid docker-archive: it has no manifest.json"

    mkdir -p "$t/bad"
    echo '{"Layers": [' >"$t/bad/manifest.json"
    (cd "$t/bad" && PATH=$host_path tar -cf "$t/badmanifest.tar" manifest.json)
    TASKFLOW_FRONTEND_IMAGE_TAR=$t/badmanifest.tar run "$images"
    [ "$status" -eq 4 ]
    assert_contains "$output" "is not a valid docker-archive: manifest.json does not describe one image with RepoTags and Layers"

    (cd "$d" && PATH=$host_path tar -cf "$t/nolayer.tar" manifest.json config.json)
    TASKFLOW_FRONTEND_IMAGE_TAR=$t/nolayer.tar run "$images"
    [ "$status" -eq 4 ]
    assert_contains "$output" "images: error: $t/nolayer.tar (frontend image) is not a valid docker-archive: layer 1/layer.tar is listed in manifest.json but not in the archive"
}

@test "images: an archive holding another image than the one expected: status 4" {
    three_archives
    TASKFLOW_BACKEND_IMAGE=taskflow-backend:newer run "$images"
    [ "$status" -eq 4 ]
    assert_contains "$output" "images: error: $t/archives/backend.tar holds the image 'taskflow-backend:backend0123abcd', but BACKEND should be taskflow-backend:newer"
}

@test "images without tar: status 3" {
    three_archives
    rm "$t/sys/tar"
    run "$images"
    [ "$status" -eq 3 ]
    assert_contains "$output" "images: error: tar not found on PATH"
}
