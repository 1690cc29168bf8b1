#!/usr/bin/env bash
#
# doctor.sh - check that this machine can run `deploy` (the `doctor` app of the flake).
#
# Usage:
#   nix run .#doctor
#   nix run .#doctor -- --help
#
# Checks what deploy needs before it needs it, in six steps announced with "==> [n/6] ...".
# Each check prints one line: "OK", "WARN" (deploy still works, for example because it
# starts the cluster itself), "FAIL" (deploy would stop; the line ends with the command
# that fixes it) or "SKIP" (not needed in this state):
#   1. Nix: version 2.31.2 or newer, flakes enabled;
#   2. minikube, helm and kubectl on PATH;
#   3. the Minikube cluster: running, stopped or not created yet (deploy starts or
#      creates it), and whether its kubeconfig entry is current;
#   4. the driver for a new cluster: TASKFLOW_MINIKUBE_DRIVER if set, else the first of
#      docker, podman, kvm2 and qemu that works (Docker or Podman answers; libvirt answers
#      and KVM is usable; QEMU is installed). Not needed while the cluster runs;
#   5. CPUs, memory and disk for a new cluster: TASKFLOW_MINIKUBE_CPUS and
#      TASKFLOW_MINIKUBE_MEMORY against this machine, and the free space where Minikube
#      keeps its data ($MINIKUBE_HOME, else ~/.minikube). Not needed while the cluster runs;
#   6. kubectl: the profile's context exists and the Kubernetes API answers (when the
#      cluster runs), and which context plain kubectl commands use.
# Then a summary line. deploy runs the same checks first (taskflow-doctor --skip-nix
# --quiet) and stops when one fails.
#
# Options:
#   --skip-nix   leave out step 1 (deploy passes it: it already runs under Nix)
#   --quiet      print only the WARN and FAIL lines and the summary
#
# Environment (the settings of deploy):
#   TASKFLOW_MINIKUBE_PROFILE  Minikube profile, also the kubectl context (minikube)
#   TASKFLOW_MINIKUBE_DRIVER   driver for a new cluster (default: minikube's own choice)
#   TASKFLOW_MINIKUBE_CPUS     CPUs for a new cluster (2)
#   TASKFLOW_MINIKUBE_MEMORY   memory for a new cluster, MB or with a unit (4096)
#   TASKFLOW_REQUEST_TIMEOUT   seconds each probe (Docker, libvirt, minikube, the
#                              Kubernetes API) may take (20)
#   MINIKUBE_HOME              where Minikube keeps its data (~/.minikube)
#
# Exit status: 0 nothing would stop deploy (warnings allowed); 1 at least one check
# failed; 2 usage error or a malformed TASKFLOW_REQUEST_TIMEOUT.

set -euo pipefail

prog=doctor

usage() {
    cat <<'EOF'
Usage: nix run .#doctor [-- --skip-nix | --quiet | --help]

Checks that this machine can run 'nix run .#deploy': Nix and flakes, the tools, the
Minikube cluster, a working Minikube driver, CPUs, memory and disk for a new cluster, and
the kubectl context. Each check prints OK, WARN (deploy still works), FAIL (deploy would
stop, with the command that fixes it) or SKIP (not needed now), then a summary.

Options:
  --skip-nix  leave out the Nix checks (deploy passes it)
  --quiet     print only the WARN and FAIL lines and the summary
  -h, --help  show this help

Settings (environment variables, the same as deploy's):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context     (default: minikube)
  TASKFLOW_MINIKUBE_DRIVER   driver for a new cluster               (default: any that works)
  TASKFLOW_MINIKUBE_CPUS     CPUs for a new cluster                 (default: 2)
  TASKFLOW_MINIKUBE_MEMORY   memory for a new cluster, e.g. 4096 or 6g (default: 4096)
  TASKFLOW_REQUEST_TIMEOUT   seconds each probe may take            (default: 20)
  MINIKUBE_HOME              where Minikube keeps its data          (default: ~/.minikube)

Exit status: 0 deploy can run (warnings allowed), 1 a check failed, 2 usage.
See docs/operations.md ("Before you start: doctor").
EOF
}

skip_nix=0
quiet=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --skip-nix)
            skip_nix=1
            ;;
        --quiet)
            quiet=1
            ;;
        *)
            echo "$prog: unknown argument: $1 (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done

profile=${TASKFLOW_MINIKUBE_PROFILE:-minikube}
driver=${TASKFLOW_MINIKUBE_DRIVER:-}
cpus=${TASKFLOW_MINIKUBE_CPUS:-2}
memory=${TASKFLOW_MINIKUBE_MEMORY:-4096}
probe_timeout=${TASKFLOW_REQUEST_TIMEOUT:-20}
if ! [[ $probe_timeout =~ ^[1-9][0-9]*$ ]]; then
    echo "$prog: TASKFLOW_REQUEST_TIMEOUT must be a whole number of seconds, got '$probe_timeout'" >&2
    exit 2
fi

# The oldest Nix that builds the flake (crane needs it; docs/nix.md says the same).
nix_min=2.31.2
# minikube refuses smaller clusters.
min_cpus=2
min_memory_mb=1800
# Free disk wanted where Minikube keeps its data: a new cluster (the node image, the
# Kubernetes preload and the three images), or one that exists and only gets new images.
disk_new_mb=5120
disk_existing_mb=1024

ok_count=0
warn_count=0
fail_count=0

# Its own helpers, not lib.sh's: deploy runs it through a link named taskflow-doctor, away
# from nix/apps/ (see deploy.sh). step is silent with --quiet.
step() {
    ((quiet)) && return 0
    echo
    echo "==> [$1/6] $2"
}

ok() {
    ok_count=$((ok_count + 1))
    ((quiet)) || echo "    OK    $*"
}

warn() {
    warn_count=$((warn_count + 1))
    echo "    WARN  $*"
}

# problem MESSAGE FIX: a check that would stop deploy, with the command that fixes it.
problem() {
    fail_count=$((fail_count + 1))
    echo "    FAIL  $1. Fix: $2"
}

not_needed() {
    ((quiet)) || echo "    SKIP  $*"
}

has() {
    command -v "$1" >/dev/null
}

# first_line TEXT: the first non-empty line, for quoting a tool's error in one line.
first_line() {
    local line
    while IFS= read -r line; do
        if [[ -n ${line// /} ]]; then
            echo "$line"
            return
        fi
    done <<<"$1"
}

# probe VAR COMMAND...: runs the command with the probe timeout; its output (stdout and
# stderr) goes to VAR; returns its status (124 when it timed out).
probe() {
    local -n _out=$1
    shift
    local status=0
    _out=$(timeout "$probe_timeout" "$@" 2>&1) || status=$?
    return "$status"
}

# --- 1. Nix ----------------------------------------------------------------------------
step 1 "Nix"

# version_at_least HAVE WANT: dotted versions compared part by part.
version_at_least() {
    local -a have want
    IFS=. read -r -a have <<<"$1"
    IFS=. read -r -a want <<<"$2"
    local i
    for i in 0 1 2; do
        if ((${have[i]:-0} != ${want[i]:-0})); then
            ((${have[i]:-0} > ${want[i]:-0}))
            return
        fi
    done
}

if ((skip_nix)); then
    not_needed "Nix checks left out (--skip-nix)"
elif ! has nix; then
    problem "Nix is not installed (deploy is run with 'nix run .#deploy')" \
        "sh <(curl -L https://nixos.org/nix/install) --daemon"
else
    nix_version_line=""
    status=0
    probe nix_version_line nix --version || status=$?
    nix_version=""
    if ((status == 0)) && [[ $nix_version_line =~ ([0-9]+\.[0-9]+(\.[0-9]+)?)[^[:space:]]*$ ]]; then
        nix_version=${BASH_REMATCH[1]}
    fi
    if [[ -z $nix_version ]]; then
        problem "'nix --version' did not give a version ($(first_line "$nix_version_line"))" \
            "reinstall Nix: sh <(curl -L https://nixos.org/nix/install) --daemon"
    elif ! version_at_least "$nix_version" "$nix_min"; then
        problem "Nix $nix_version is older than $nix_min, which building the flake needs" \
            "sudo -i nix upgrade-nix"
    else
        ok "Nix $nix_version ($nix_min or newer needed)"
    fi

    flakes_fix="mkdir -p ~/.config/nix && echo 'experimental-features = nix-command flakes' >> ~/.config/nix/nix.conf"
    if [[ $nix_version_line == *Determinate* ]]; then
        ok "flakes enabled (Determinate Nix always has them)"
    else
        features=""
        status=0
        probe features nix --extra-experimental-features nix-command config show experimental-features || status=$?
        if ((status != 0)); then
            problem "could not read Nix's settings ($(first_line "$features"))" "$flakes_fix"
        elif [[ " $features " =~ [[:space:]]flakes[[:space:]] ]]; then
            ok "flakes enabled"
        else
            problem "flakes are not enabled, so 'nix run .#deploy' stops with \"experimental Nix feature 'flakes' is disabled\"" \
                "$flakes_fix"
        fi
    fi
fi

# --- 2. Tools --------------------------------------------------------------------------
step 2 "Tools"

missing=()
for tool in minikube helm kubectl; do
    has "$tool" || missing+=("$tool")
done
if ((${#missing[@]} == 0)); then
    ok "minikube, helm and kubectl found"
else
    problem "not found on PATH: ${missing[*]}" "run the apps through Nix (nix run .#doctor, nix run .#deploy), which bring them"
fi

# --- 3. Cluster ------------------------------------------------------------------------
step 3 "Minikube cluster (profile $profile)"

# running | misconfigured (runs, outdated kubeconfig entry) | stopped | absent | unknown
cluster=unknown
if ! has minikube; then
    not_needed "cluster state: minikube not found"
else
    status_output=""
    status=0
    probe status_output minikube status --profile "$profile" || status=$?
    # "host: Running", "kubelet: Stopped", ... on one line.
    states=""
    while IFS= read -r line; do
        if [[ $line =~ ^(host|kubelet|apiserver):\ (.*)$ ]]; then
            states+="${states:+, }${BASH_REMATCH[1]}: ${BASH_REMATCH[2]}"
        fi
    done <<<"$status_output"
    if ((status == 124)); then
        problem "'minikube status' did not answer within ${probe_timeout}s; its driver may hang" \
            "minikube stop --profile $profile (then run deploy again, which starts it)"
    elif ((status == 0)); then
        cluster=running
        ok "running"
    elif [[ $status_output == *"kubeconfig: Misconfigured"* ]]; then
        # minikube status fails for it; deploy then runs `minikube start`, which rewrites it.
        cluster=misconfigured
        warn "the cluster runs, but kubectl's entry for it points to an old address: deploy's 'minikube start' rewrites it; to do it now: minikube update-context --profile $profile"
    elif ((status == 85)) || [[ $status_output == *"not found"* ]]; then
        cluster=absent
        warn "no cluster yet: deploy creates it (driver: ${driver:-any that works}, CPUs: $cpus, memory: $memory); to do it now: minikube start --profile $profile"
    else
        cluster=stopped
        warn "not running (${states:-$(first_line "$status_output")}): deploy starts it; to do it now: minikube start --profile $profile"
    fi
fi

# --- 4. Driver -------------------------------------------------------------------------
step 4 "Minikube driver"

# Each probe_<driver> sets found (what works) or why + fix (what does not).
found=""
why=""
fix=""
# shellcheck disable=SC2016 # $USER is for the user's shell, printed as is.
group_fix='sudo usermod -aG %s "$USER" && newgrp %s'

# Called as probe_$driver, which ShellCheck cannot follow.
# shellcheck disable=SC2317,SC2329
probe_docker() {
    found="" why="" fix=""
    if ! has docker; then
        why="docker: not installed"
        fix="install Docker Engine (https://docs.docker.com/engine/install/) or choose another driver: TASKFLOW_MINIKUBE_DRIVER=kvm2"
        return 1
    fi
    local out status=0
    probe out docker version --format '{{.Server.Version}}' || status=$?
    if ((status == 0)); then
        found="docker: Docker Engine $(first_line "$out") answers"
    elif ((status == 124)); then
        why="docker: the Docker daemon did not answer within ${probe_timeout}s"
        fix="sudo systemctl restart docker"
    elif [[ $out == *"permission denied"* ]]; then
        why="docker: permission denied on the Docker socket"
        # shellcheck disable=SC2059 # the format is ours
        fix=$(printf "$group_fix" docker docker)
    else
        why="docker: the Docker daemon is not running ($(first_line "$out"))"
        fix="sudo systemctl start docker (macOS: open -a Docker)"
    fi
    [[ -n $found ]]
}

# Called as probe_$driver, which ShellCheck cannot follow.
# shellcheck disable=SC2317,SC2329
probe_podman() {
    found="" why="" fix=""
    if ! has podman; then
        why="podman: not installed"
        fix="install Podman (https://podman.io/docs/installation) or choose another driver: TASKFLOW_MINIKUBE_DRIVER=docker"
        return 1
    fi
    local out status=0
    probe out podman info --format '{{.Version.Version}}' || status=$?
    if ((status == 0)); then
        found="podman: Podman $(first_line "$out") works"
    elif ((status == 124)); then
        why="podman: 'podman info' did not answer within ${probe_timeout}s"
        fix="podman machine stop && podman machine start (macOS); on Linux: systemctl --user restart podman.socket"
    else
        why="podman: 'podman info' fails ($(first_line "$out"))"
        fix="podman machine start (macOS); on Linux see https://minikube.sigs.k8s.io/docs/drivers/podman/"
    fi
    [[ -n $found ]]
}

# Called as probe_$driver, which ShellCheck cannot follow.
# shellcheck disable=SC2317,SC2329
probe_kvm2() {
    found="" why="" fix=""
    if ! has virsh; then
        why="kvm2: libvirt (virsh) is not installed"
        fix="sudo apt-get install libvirt-daemon-system (NixOS: virtualisation.libvirtd.enable = true)"
        return 1
    fi
    local out status=0
    probe out virsh --connect qemu:///system domcapabilities --virttype kvm || status=$?
    if ((status == 0)); then
        found="kvm2: libvirt answers and KVM is usable"
    elif ((status == 124)); then
        why="kvm2: libvirt did not answer within ${probe_timeout}s"
        fix="sudo systemctl restart libvirtd"
    elif [[ $out == *"ermission denied"* || $out == *"authentication"* ]]; then
        why="kvm2: libvirt refuses this user ($(first_line "$out"))"
        # shellcheck disable=SC2059 # the format is ours
        fix=$(printf "$group_fix" libvirt libvirt)
    elif [[ $out == *"Failed to connect"* || $out == *"failed to connect"* ]]; then
        why="kvm2: libvirtd is not running ($(first_line "$out"))"
        fix="sudo systemctl start libvirtd"
    else
        why="kvm2: KVM is not usable ($(first_line "$out"))"
        fix="enable virtualisation in the firmware settings, then: sudo modprobe kvm_intel (AMD: kvm_amd)"
    fi
    [[ -n $found ]]
}

probe_qemu() {
    found="" why="" fix=""
    local arch
    arch=$(uname -m)
    [[ $arch == arm64 ]] && arch=aarch64
    if has "qemu-system-$arch"; then
        found="qemu: qemu-system-$arch found"
        return 0
    fi
    why="qemu: qemu-system-$arch is not installed"
    fix="sudo apt-get install qemu-system (macOS: brew install qemu)"
    return 1
}

if [[ $cluster == running || $cluster == misconfigured ]]; then
    not_needed "driver: the cluster runs already (a driver is needed only to start one)"
elif [[ -n $driver ]]; then
    case $driver in
        docker | podman | kvm2 | qemu)
            if "probe_$driver"; then
                ok "$found"
            else
                problem "$why (TASKFLOW_MINIKUBE_DRIVER=$driver)" "$fix"
            fi
            ;;
        qemu2)
            if probe_qemu; then
                ok "$found"
            else
                problem "$why (TASKFLOW_MINIKUBE_DRIVER=$driver)" "$fix"
            fi
            ;;
        *)
            warn "driver '$driver' is not checked here; minikube checks it when deploy starts the cluster"
            ;;
    esac
else
    reasons=()
    fixes=()
    working=""
    for candidate in docker podman kvm2 qemu; do
        if "probe_$candidate"; then
            working=$found
            break
        fi
        reasons+=("$why")
        fixes+=("$fix")
    done
    if [[ -n $working ]]; then
        ok "$working (TASKFLOW_MINIKUBE_DRIVER is not set: minikube picks a driver that works)"
    else
        reasons_text=$(printf '%s; ' "${reasons[@]}")
        problem "no Minikube driver works: ${reasons_text%; }" \
            "${fixes[0]}, then run deploy again (or set TASKFLOW_MINIKUBE_DRIVER to a driver that works)"
    fi
fi

# --- 5. CPUs, memory, disk ------------------------------------------------------------
step 5 "CPUs, memory and disk for a new cluster"

# to_mb SIZE: a minikube size (4096, 4096mb, 6g) in MB; fails on anything else.
to_mb() {
    [[ $1 =~ ^([1-9][0-9]*)([mMgG][bB]?)?$ ]] || return 1
    local number=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2],,}
    if [[ $unit == g* ]]; then
        echo $((number * 1024))
    else
        echo "$number"
    fi
}

# minikube's data directory: MINIKUBE_HOME itself when it ends in .minikube, else
# MINIKUBE_HOME/.minikube; ~/.minikube without it.
minikube_dir() {
    if [[ -n ${MINIKUBE_HOME:-} ]]; then
        if [[ ${MINIKUBE_HOME%/} == *.minikube ]]; then
            echo "${MINIKUBE_HOME%/}"
        else
            echo "${MINIKUBE_HOME%/}/.minikube"
        fi
    else
        echo "${HOME:-/}/.minikube"
    fi
}

if [[ $cluster == running || $cluster == misconfigured ]]; then
    not_needed "the cluster runs already and keeps its CPUs, memory and disk"
else
    # CPUs.
    if ! [[ $cpus =~ ^[1-9][0-9]*$ ]]; then
        problem "TASKFLOW_MINIKUBE_CPUS must be a positive whole number, got '$cpus'" "export TASKFLOW_MINIKUBE_CPUS=2"
    elif ((cpus < min_cpus)); then
        problem "minikube needs at least $min_cpus CPUs, TASKFLOW_MINIKUBE_CPUS is $cpus" "export TASKFLOW_MINIKUBE_CPUS=$min_cpus"
    else
        have_cpus=$(nproc 2>/dev/null) || have_cpus=""
        if ! [[ $have_cpus =~ ^[0-9]+$ ]]; then
            warn "could not count this machine's CPUs (nproc); a new cluster asks for $cpus"
        elif ((have_cpus < min_cpus)); then
            problem "this machine has $have_cpus CPU(s); minikube needs at least $min_cpus" "run deploy on a machine with $min_cpus or more CPUs"
        elif ((have_cpus < cpus)); then
            problem "a new cluster asks for $cpus CPUs (TASKFLOW_MINIKUBE_CPUS), this machine has $have_cpus" "export TASKFLOW_MINIKUBE_CPUS=$have_cpus"
        else
            ok "CPUs: $have_cpus on this machine, $cpus for a new cluster"
        fi
    fi

    # Memory: minikube refuses more than the machine has; less than that but more than is
    # free starts, but the pods may be slow or evicted.
    if ! need_mb=$(to_mb "$memory"); then
        problem "TASKFLOW_MINIKUBE_MEMORY must be a size such as 4096, 4096mb or 6g, got '$memory'" "export TASKFLOW_MINIKUBE_MEMORY=4096"
    elif ((need_mb < min_memory_mb)); then
        problem "minikube needs at least $min_memory_mb MB, TASKFLOW_MINIKUBE_MEMORY is $memory" "export TASKFLOW_MINIKUBE_MEMORY=4096"
    else
        total_mb="" available_mb=""
        if has free; then
            while read -r label total _ _ _ _ available _; do
                if [[ $label == Mem: ]]; then
                    total_mb=$total
                    available_mb=$available
                fi
            done < <(free -m 2>/dev/null || true)
        elif has sysctl; then
            # macOS: the installed memory (free memory is not a single number there).
            bytes=$(sysctl -n hw.memsize 2>/dev/null) || bytes=""
            [[ $bytes =~ ^[0-9]+$ ]] && total_mb=$((bytes / 1048576))
        fi
        if ! [[ $total_mb =~ ^[0-9]+$ ]]; then
            warn "could not read this machine's memory (free -m); a new cluster asks for $need_mb MB"
        elif ((total_mb < need_mb)); then
            suggestion=$(((total_mb * 3 / 4) / 256 * 256))
            if ((suggestion >= min_memory_mb)); then
                problem "a new cluster asks for $need_mb MB (TASKFLOW_MINIKUBE_MEMORY), this machine has $total_mb MB in all" \
                    "export TASKFLOW_MINIKUBE_MEMORY=$suggestion"
            else
                problem "this machine has $total_mb MB of memory; minikube needs at least $min_memory_mb MB" \
                    "run deploy on a machine with more memory"
            fi
        elif [[ $available_mb =~ ^[0-9]+$ ]] && ((available_mb < need_mb)); then
            suggestion=$((available_mb / 256 * 256))
            ((suggestion >= min_memory_mb)) || suggestion=$min_memory_mb
            warn "memory: only $available_mb MB free of $total_mb MB, a new cluster asks for $need_mb MB: it starts, but may be slow; close programs, or: export TASKFLOW_MINIKUBE_MEMORY=$suggestion"
        elif [[ $available_mb =~ ^[0-9]+$ ]]; then
            ok "memory: $available_mb MB free of $total_mb MB, $need_mb MB for a new cluster"
        else
            ok "memory: $total_mb MB installed, $need_mb MB for a new cluster"
        fi
    fi

    # Disk, where Minikube keeps its data (the nearest existing directory, before the first
    # start).
    data_dir=$(minikube_dir)
    existing=$data_dir
    while [[ ! -d $existing && $existing == */* ]]; do
        existing=${existing%/*}
        [[ -n $existing ]] || existing=/
    done
    if [[ $cluster == absent ]]; then
        need_disk=$disk_new_mb
        purpose="a new cluster"
    else
        need_disk=$disk_existing_mb
        purpose="the images"
    fi
    free_kb=""
    while read -r _ _ _ available _; do
        free_kb=$available
    done < <(df -Pk "$existing" 2>/dev/null | tail -n +2 || true)
    if ! [[ $free_kb =~ ^[0-9]+$ ]]; then
        warn "could not read the free disk space of $existing (df -Pk)"
    elif ((free_kb / 1024 < need_disk)); then
        problem "only $((free_kb / 1024)) MB free in $existing, where Minikube keeps its data ($data_dir); $purpose needs $need_disk MB" \
            "free space there, or keep Minikube's data on a disk with room: export MINIKUBE_HOME=/path/with/space"
    else
        ok "disk: $((free_kb / 1024)) MB free for $data_dir, $need_disk MB needed for $purpose"
    fi
fi

# --- 6. kubectl ------------------------------------------------------------------------
step 6 "kubectl context"

if ! has kubectl; then
    not_needed "kubectl not found"
elif [[ $cluster == misconfigured ]]; then
    not_needed "context '$profile': outdated (see above)"
elif [[ $cluster != running ]]; then
    not_needed "context '$profile': minikube writes it when deploy starts the cluster"
else
    context_ok=1
    if ! kubectl config get-contexts "$profile" -o name >/dev/null 2>&1; then
        context_ok=0
        problem "kubectl has no context '$profile', which deploy uses" "minikube update-context --profile $profile"
    fi
    if ((context_ok)); then
        api_output=""
        status=0
        probe api_output kubectl --context "$profile" get --raw /readyz --request-timeout="${probe_timeout}s" || status=$?
        if ((status == 0)); then
            ok "context '$profile': the Kubernetes API answers"
        else
            if ((status == 124)) || [[ $api_output =~ Client\.Timeout|deadline\ exceeded|timed\ out|i/o\ timeout ]]; then
                reason="no answer within ${probe_timeout}s"
            else
                reason=$(first_line "$api_output")
            fi
            problem "the Kubernetes API of Minikube profile '$profile' does not answer ($reason)" \
                "minikube update-context --profile $profile; if it still fails: minikube stop --profile $profile, then run deploy again"
        fi
    fi
    current=$(kubectl config current-context 2>/dev/null) || current=""
    if [[ $current != "$profile" ]]; then
        warn "plain kubectl commands use context '${current:-(none)}'; deploy and the other apps use '$profile' anyway; to use it too: kubectl config use-context $profile"
    else
        ok "plain kubectl commands use context '$profile' too"
    fi
fi

# --- Summary -----------------------------------------------------------------------------
plural() {
    if (($1 == 1)); then
        echo "$1 $2"
    else
        echo "$1 ${2}s"
    fi
}
((quiet)) || echo
counts="$ok_count OK, $(plural "$warn_count" warning), $(plural "$fail_count" problem)"
if ((fail_count == 0)); then
    echo "doctor: $counts: deploy can run."
else
    echo "doctor: $counts: deploy would stop; fix the FAIL lines above and run the doctor again (nix run .#doctor)."
    exit 1
fi
