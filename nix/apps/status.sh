#!/usr/bin/env bash
#
# status.sh - show how TaskFlow runs on Minikube (the `status` app of the flake).
#
# Usage:
#   nix run .#status
#   nix run .#status -- --help
#
# Steps, each announced with "==> [n/5] ...":
#   1. the cluster: minikube, helm and kubectl on PATH, the Minikube profile runs, kubectl
#      has its context and the Kubernetes API answers;
#   2. the Helm release: status, revision, chart and app version, last deployment
#      (helm status -o json);
#   3. the pods of the release (selected by the chart's component labels): component,
#      name, state, readiness, restarts, image tag, and whether that tag is the one this
#      checkout builds (the Nix wrapper passes the image references, as for deploy);
#   4. the URL of the frontend (node address and NodePort of its Service);
#   5. the last five Warning events of the namespace.
# Read-only: it changes nothing in the cluster.
#
# Environment (settings, as for deploy):
#   TASKFLOW_MINIKUBE_PROFILE  Minikube profile, also the kubectl/helm context (minikube)
#   TASKFLOW_RELEASE           Helm release name (taskflow)
#   TASKFLOW_NAMESPACE         namespace (taskflow)
#   TASKFLOW_REQUEST_TIMEOUT   seconds each query to the cluster may take (20)
#
# Environment (inputs, set by the Nix wrapper in nix/apps.nix; optional):
#   TASKFLOW_{BACKEND,FRONTEND,POSTGRES}_IMAGE  the image references this checkout builds
#
# Exit status: 0 the release is deployed and every pod is ready; 1 it is installed but not
# healthy (a pod not ready, no pods, or the release not in state deployed); 2 usage error;
# 3 minikube, helm, kubectl or jq not found; 4 no cluster (the profile is not running),
# kubectl has no context for it or an outdated one, or the Kubernetes API does not answer
# (or not in time); 5 the release is not installed; 6 helm or kubectl failed, or did not
# answer in time, after the API answered.

set -euo pipefail

prog=status

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

steps=5

usage() {
    cat <<'EOF'
Usage: nix run .#status [-- --help]

Shows the TaskFlow release on Minikube: its revision and chart version, each pod's
component, state, readiness, restarts and image tag (and whether the tag is the one this
checkout builds), the URL of the web app and the last warning events. Changes nothing.

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context     (default: minikube)
  TASKFLOW_RELEASE           Helm release name                      (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                   (default: taskflow)
  TASKFLOW_REQUEST_TIMEOUT   seconds each query may take            (default: 20)

Exit status: 0 healthy, 1 installed but not healthy, 2 usage, 3 missing tool, 4 no
cluster, no or an outdated kubectl context, or the API does not answer, 5 release not
installed, 6 helm or kubectl failed. See docs/operations.md ("Status: status").
EOF
}

case "${1-}" in
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        usage_error "unknown argument: $1"
        ;;
esac

release_settings
request_timeout=${TASKFLOW_REQUEST_TIMEOUT:-20}
[[ $request_timeout =~ ^[1-9][0-9]*$ ]] || {
    echo "$prog: TASKFLOW_REQUEST_TIMEOUT must be a whole number of seconds, got '$request_timeout'" >&2
    exit 2
}

# The chart's component label of each image.
components=(backend frontend postgresql)
declare -A image_var=([backend]=TASKFLOW_BACKEND_IMAGE [frontend]=TASKFLOW_FRONTEND_IMAGE [postgresql]=TASKFLOW_POSTGRES_IMAGE)
events_shown=5

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-status.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

kube() {
    kubectl --context "$profile" --namespace "$namespace" --request-timeout="${request_timeout}s" "$@"
}

# --- 1. Cluster --------------------------------------------------------------------------
step 1 "Cluster (Minikube profile $profile)"

need_tools minikube helm kubectl jq

status=0
minikube_status || status=$?
if ((status != 0)); then
    if ((status == 85)) || grep -q 'not found' "$work/minikube.out"; then
        fail 4 "no cluster: Minikube profile '$profile' does not exist; create it and install TaskFlow with: nix run .#deploy"
    fi
    states=$(grep -E '^(host|kubelet|apiserver):' "$work/minikube.out" | tr '\n' ',' || true)
    states=${states%,}
    fail 4 "no cluster: Minikube profile '$profile' is not running (${states//,/, }); start it with: minikube start --profile $profile (or nix run .#deploy)"
fi
if ! kubectl config get-contexts "$profile" -o name >/dev/null 2>&1; then
    fail 4 "kubectl has no context '$profile' (the cluster runs, but its kubeconfig entry is missing); fix it with: minikube update-context --profile $profile"
fi
if ! kubectl --context "$profile" get --raw /readyz --request-timeout="${request_timeout}s" >/dev/null 2>"$work/api.err"; then
    api_failed "$work/api.err"
fi
say "running; context $profile; Kubernetes API ready"

# --- 2. Release --------------------------------------------------------------------------
step 2 "Helm release '$release' in namespace '$namespace'"

status=0
timeout "$request_timeout" helm status "$release" --namespace "$namespace" --kube-context "$profile" \
    --output json >"$work/release.json" 2>"$work/helm.err" || status=$?
if ((status == 124)); then
    fail 6 "'helm status' did not answer within ${request_timeout}s"
elif ((status != 0)); then
    if grep -qi 'not found' "$work/helm.err"; then
        fail 5 "release '$release' is not installed in namespace '$namespace' (Minikube profile '$profile'); install it with: nix run .#deploy"
    fi
    fail 6 "'helm status $release' failed: $(first_line "$work/helm.err")"
fi
if ! release_line=$(jq -r '"\(.info.status) \(.version) \(.chart.metadata.name)-\(.chart.metadata.version) \(.chart.metadata.appVersion // "-") \(.info.last_deployed // "-")"' "$work/release.json" 2>/dev/null); then
    fail 6 "'helm status $release --output json' did not give a release description"
fi
read -r release_status revision chart app_version deployed_at <<<"$release_line"
say "status $release_status, revision $revision, chart $chart, app version $app_version"
say "last deployed $deployed_at"

# --- 3. Pods -----------------------------------------------------------------------------
step 3 "Pods"

selector="app.kubernetes.io/instance=$release,app.kubernetes.io/component in ($(
    IFS=,
    echo "${components[*]}"
))"
if ! kube get pods --selector "$selector" -o json >"$work/pods.json" 2>"$work/pods.err"; then
    api_timed_out "$work/pods.err" && fail 6 "listing the pods did not finish within ${request_timeout}s"
    fail 6 "could not list the pods of namespace '$namespace': $(first_line "$work/pods.err")"
fi

# One tab-separated row per pod: component, name, state, ready containers, restarts,
# image, ready (true/false). The state is the reason a container waits or ended
# (CrashLoopBackOff, ImagePullBackOff, ...) when there is one, else the pod's phase.
jq -r '
    .items[]
    | [.status.containerStatuses[]?] as $cs
    | [
        (.metadata.labels["app.kubernetes.io/component"] // "?"),
        .metadata.name,
        (if .metadata.deletionTimestamp then "Terminating"
         else ([$cs[] | .state.waiting.reason // .state.terminated.reason // empty] | first) // .status.phase // "Unknown"
         end),
        "\([$cs[] | select(.ready)] | length)/\(.spec.containers | length)",
        ([$cs[].restartCount] | add // 0),
        .spec.containers[0].image,
        ([.status.conditions[]? | select(.type == "Ready") | .status == "True"] | any)
      ]
    | @tsv' "$work/pods.json" >"$work/pods.tsv" 2>/dev/null ||
    fail 6 "'kubectl get pods -o json' did not give a list of pods"

pods=0
not_ready=()
other_build=0
rows=()
while IFS=$'\t' read -r component name state ready restarts image is_ready; do
    pods=$((pods + 1))
    # Runtimes report docker.io/library/name:tag or name:tag.
    ref=${image#docker.io/library/}
    tag=${ref##*:}
    [[ $ref == *:* ]] || tag="(none)"
    expected=""
    if [[ -n ${image_var[$component]:-} ]]; then
        expected=${!image_var[$component]:-}
    fi
    if [[ -z $expected ]]; then
        built="unknown"
    elif [[ $ref == "$expected" ]]; then
        built="yes"
    else
        built="no"
        other_build=1
    fi
    [[ $is_ready == true ]] || not_ready+=("$name ($state)")
    rows+=("$component"$'\t'"$name"$'\t'"$state"$'\t'"$ready"$'\t'"$restarts"$'\t'"$tag"$'\t'"$built")
done <"$work/pods.tsv"

if ((pods == 0)); then
    say "no pods of release '$release' (label app.kubernetes.io/instance=$release)"
else
    # Column widths from the longest value of each column.
    headers=(COMPONENT POD STATE READY RESTARTS "IMAGE TAG" "BUILT HERE")
    column_widths
    print_row() {
        local line="" i
        for i in "${!widths[@]}"; do
            if ((i + 1 < ${#widths[@]})); then
                line+=$(printf '%-*s  ' "${widths[i]}" "${1:-}")
            else
                line+=${1:-}
            fi
            shift || true
        done
        say "$line"
    }
    print_row "${headers[@]}"
    for row in "${rows[@]}"; do
        IFS=$'\t' read -r -a cells <<<"$row"
        print_row "${cells[@]}"
    done
    if ((other_build)); then
        say "pods marked 'no' run another build than this checkout; 'nix run .#deploy' updates them"
    fi
fi

# --- 4. URL ------------------------------------------------------------------------------
step 4 "URL"

url=""
if kube get services --selector "app.kubernetes.io/instance=$release,app.kubernetes.io/component=frontend" \
    -o json >"$work/services.json" 2>"$work/services.err"; then
    read -r service type port node_port < <(jq -r '.items[0] // empty | "\(.metadata.name) \(.spec.type) \(.spec.ports[0].port) \(.spec.ports[0].nodePort // "-")"' "$work/services.json") || true
    if [[ -z ${service:-} ]]; then
        say "none: the release has no frontend Service"
    elif [[ $type == NodePort && $node_port != - ]]; then
        if node_ip=$(timeout "$request_timeout" minikube ip --profile "$profile" 2>/dev/null) && [[ -n $node_ip ]]; then
            url="http://$node_ip:$node_port"
            say "$url"
        else
            say "unknown: 'minikube ip --profile $profile' gave no address (the Service $service listens on NodePort $node_port)"
        fi
    else
        say "none outside the cluster: Service $service is of type $type; reach it with:"
        say "kubectl --context $profile --namespace $namespace port-forward service/$service 8080:$port"
    fi
else
    say "unknown: could not read the Services ($(first_line "$work/services.err"))"
fi

# --- 5. Events ---------------------------------------------------------------------------
step 5 "Warning events (the last $events_shown)"

if ! kube get events --field-selector type=Warning -o json >"$work/events.json" 2>"$work/events.err"; then
    say "unknown: could not read the events ($(first_line "$work/events.err"))"
elif jq -r --argjson n "$events_shown" '
        [.items[] | {
            at: (.lastTimestamp // .eventTime // .metadata.creationTimestamp // "-"),
            object: "\(.involvedObject.kind)/\(.involvedObject.name)",
            reason: (.reason // "-"),
            count: (.count // 1),
            message: ((.message // "") | split("\n")[0])
        }]
        | sort_by(.at) | .[-$n:][]
        | "\(.at)  \(.object)  \(.reason)\(if .count > 1 then " (x\(.count))" else "" end): \(.message)"' \
    "$work/events.json" >"$work/events.txt" 2>/dev/null; then
    if [[ -s $work/events.txt ]]; then
        while IFS= read -r line; do
            say "$line"
        done <"$work/events.txt"
    else
        say "none"
    fi
else
    say "unknown: 'kubectl get events -o json' did not give a list of events"
fi

# --- Outcome -----------------------------------------------------------------------------
echo
if ((pods == 0)); then
    fail 1 "release '$release' has no pods; see the events above, or reinstall with: nix run .#deploy"
fi
if ((${#not_ready[@]} > 0)); then
    fail 1 "${#not_ready[@]} of $pods pods not ready: ${not_ready[*]}; see the events above and 'nix run .#logs -- <component>'"
fi
if [[ $release_status != deployed ]]; then
    fail 1 "release '$release' is in state '$release_status', not deployed; 'helm history $release --namespace $namespace --kube-context $profile' shows what happened"
fi
echo "TaskFlow is up: release '$release' revision $revision, $pods of $pods pods ready${url:+, at $url}."
