# shellcheck shell=bash disable=SC2154
#
# lib.sh - the functions the apps of nix/apps/ share: undeploy, status, logs, images,
# set-secret, rollback, backup and restore (deploy and doctor keep their own, as each also
# runs as a single file). Not a program: each app sources it right after setting `prog`
# (its name in messages); nix/apps.nix puts this text, less the directive above, in place
# of the lines that source it, so each built app is one file. The globals named below
# (prog, steps, profile, release, namespace, request_timeout, work, headers, rows,
# widths) are the app's own: SC2154 is off here, and in each function that reads one
# that not every app sets; SC2329 is off for each function, as no app calls them all.
#
#   usage_error MESSAGE...    prints "<prog>: MESSAGE (see --help)" on stderr; exits 2.
#   fail STATUS MESSAGE...    prints "<prog>: error: MESSAGE" on stderr; exits STATUS.
#   step N TITLE              prints an empty line and "==> [N/<steps>] TITLE" (the app
#                             sets `steps`, its number of steps); returns 0.
#   say TEXT...               prints "    TEXT" (a step's detail); returns 0.
#   release_settings          sets profile, release and namespace from
#                             TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE
#                             (taskflow) and TASKFLOW_NAMESPACE (taskflow); returns 0.
#   check_timeout VALUE       returns 0 if VALUE, the app's TASKFLOW_TIMEOUT, is a duration
#                             such as 90, 90s, 10m or 1h; else fail 1.
#   need_tools TOOL...        returns 0 if every TOOL is on PATH; else fail 3 naming the
#                             first missing one and `nix run .#<prog>`, which provides it.
#   check_cluster HOW-TO-START
#                             checks that Minikube profile `profile` runs (else fail 4:
#                             "... is not running; HOW-TO-START"), that kubectl has its
#                             context (else fail 4) and that its API answers /readyz (else
#                             fail 4); then says "cluster running, context <profile>".
#   first_line FILE           prints FILE's first non-empty line (to quote a tool's error in
#                             one line); returns 0.
#   api_timed_out FILE        returns 0 if FILE, a client's error output, says that a request
#                             timed out; else 1.
#   api_failed FILE           the Kubernetes API of `profile` did not answer; FILE holds
#                             kubectl's message: fail 4, saying it did not answer within
#                             `request_timeout` seconds, or quoting FILE's first line.
#   minikube_status           runs `minikube status` for `profile` within `request_timeout`
#                             seconds, its output in $work/minikube.out; fail 4 if kubectl's
#                             context points to an old address or minikube does not answer in
#                             time; else returns minikube's exit status (0: the cluster runs).
#   column_widths             sets `widths` to the width of each column of a table: the
#                             longest of `headers` and of the tab-separated `rows`; returns 0.

# shellcheck disable=SC2329
usage_error() {
    echo "$prog: $* (see --help)" >&2
    exit 2
}

# shellcheck disable=SC2329
fail() {
    local status=$1
    shift
    echo "$prog: error: $*" >&2
    exit "$status"
}

# shellcheck disable=SC2329
step() {
    echo
    echo "==> [$1/$steps] $2"
}

# shellcheck disable=SC2329
say() {
    echo "    $*"
}

# shellcheck disable=SC2034,SC2329 # release and namespace are used by the app
release_settings() {
    profile=${TASKFLOW_MINIKUBE_PROFILE:-minikube}
    release=${TASKFLOW_RELEASE:-taskflow}
    namespace=${TASKFLOW_NAMESPACE:-taskflow}
}

# shellcheck disable=SC2329
check_timeout() {
    [[ $1 =~ ^[1-9][0-9]*[smh]?$ ]] ||
        fail 1 "TASKFLOW_TIMEOUT must be a number of seconds, or a number with s, m or h (such as 90s or 10m), got '$1'"
}

# shellcheck disable=SC2329
need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null ||
            fail 3 "$tool not found on PATH. Run the app through Nix (nix run .#$prog), which provides it"
    done
}

# shellcheck disable=SC2154,SC2329 # the globals are the app's
check_cluster() {
    if ! minikube status --profile "$profile" >/dev/null 2>&1; then
        fail 4 "Minikube profile '$profile' is not running; $1"
    fi
    if ! kubectl config get-contexts "$profile" >/dev/null 2>&1; then
        fail 4 "kubectl has no context named '$profile' (the Minikube profile); recreate it with 'minikube update-context --profile $profile'"
    fi
    if ! kubectl --context "$profile" get --raw /readyz >/dev/null 2>&1; then
        fail 4 "the Kubernetes API of Minikube profile '$profile' does not answer; see 'minikube status --profile $profile'"
    fi
    say "cluster running, context $profile"
}

# shellcheck disable=SC2329
first_line() {
    grep -m1 -v '^[[:space:]]*$' "$1" || true
}

# shellcheck disable=SC2329
api_timed_out() {
    grep -Eqi 'Client\.Timeout|deadline exceeded|timed out|i/o timeout' "$1"
}

# shellcheck disable=SC2154,SC2329 # the globals are the app's
api_failed() {
    if api_timed_out "$1"; then
        fail 4 "the Kubernetes API of Minikube profile '$profile' did not answer within ${request_timeout}s; 'nix run .#doctor' checks the cluster"
    fi
    fail 4 "the Kubernetes API of Minikube profile '$profile' does not answer ($(first_line "$1")); 'nix run .#doctor' checks the cluster"
}

# shellcheck disable=SC2154,SC2329 # the globals are the app's
minikube_status() {
    local status=0
    timeout "$request_timeout" minikube status --profile "$profile" >"$work/minikube.out" 2>&1 || status=$?
    # minikube status fails for an outdated kubeconfig entry too (its "Kubernetes" bit).
    if grep -q 'kubeconfig: Misconfigured' "$work/minikube.out"; then
        fail 4 "kubectl's context '$profile' points to an old address of the cluster; fix it with: minikube update-context --profile $profile"
    fi
    if ((status == 124)); then
        fail 4 "'minikube status --profile $profile' did not answer within ${request_timeout}s; 'nix run .#doctor' checks the driver"
    fi
    return "$status"
}

# shellcheck disable=SC2034,SC2154,SC2329 # headers, rows and widths are the app's
column_widths() {
    local i row cells
    widths=()
    for i in "${!headers[@]}"; do
        widths[i]=${#headers[i]}
    done
    for row in "${rows[@]}"; do
        IFS=$'\t' read -r -a cells <<<"$row"
        for i in "${!cells[@]}"; do
            ((${#cells[i]} <= widths[i])) || widths[i]=${#cells[i]}
        done
    done
}
