#!/usr/bin/env bash
#
# set-secret.sh - set, rotate or remove a secret of TaskFlow on Minikube and apply it
# (the `set-secret` app of the flake).
#
# Usage:
#   nix run .#set-secret -- jwt-secret               prompts (or reads stdin)
#   nix run .#set-secret -- jwt-secret --generate    a new random key
#   nix run .#set-secret -- llm-api-key              prompts (or reads stdin)
#   printf '%s' "$KEY" | nix run .#set-secret -- llm-api-key
#   nix run .#set-secret -- llm-api-key --delete     back to the offline assistant
#   nix run .#set-secret -- --help
#
# NAME is the key in the release's Secret:
#   jwt-secret   JWT_SECRET, the key that signs sign-in tokens: at least 32 bytes (the
#                backend's own rule), one line. Changing it signs everybody out.
#   llm-api-key  LLM_API_KEY, the assistant's key at its provider: printable ASCII without
#                spaces (the backend's own rule).
#
# Steps, each announced with "==> [n/5] ..." ("[n/4]" with --delete):
#   1. check that minikube, kubectl, helm and jq are on PATH (and, for llm-api-key, the
#      chart in TASKFLOW_CHART), that the Minikube cluster runs, that kubectl has its
#      context and that the API answers;
#   2. find the Secret and key the backend Deployment reads the variable from, and refuse
#      when that Secret is not the release's own (an `existingSecret` is yours to change:
#      the message says how) or when the LLM key comes from the chart values llm.apiKey
#      (every helm upgrade would write that value back) or, for --delete,
#      llm.existingSecret;
#   3. read the value: with --generate (jwt-secret only) 32 random bytes as 64 hex digits;
#      from the terminal without echo, twice; or else all of stdin (one trailing newline is
#      dropped). The value is checked and never printed;
#   4. store it with `kubectl patch secret --type merge --patch-file /dev/stdin`: the value
#      travels through pipes only, never on a command line. llm-api-key is stored in the
#      release's own Secret together with the annotation taskflow/llm-api-key=stored,
#      which tells the chart to keep it and give it to the backend;
#   5. apply it: when the backend reads the variable already, restart it (kubectl rollout
#      restart) and wait for it (rollout status); when it does not yet (an llm-api-key
#      stored for the first time), `helm upgrade --reset-then-reuse-values --wait` with the
#      chart of TASKFLOW_CHART, which wires LLM_API_KEY to the stored key and opens the
#      backend's egress to the provider (llm.egress), and check that it did.
# With --delete (llm-api-key only), step 3 removes the key and its annotation from the
# release's Secret and step 4 applies that with the same helm upgrade (LLM_API_KEY and
# the egress go), or does nothing more when the backend did not read the key.
# The chart keeps both values on `helm upgrade` (and `nix run .#deploy`): it reads
# jwt-secret back from the Secret, and it keeps a marked llm-api-key while neither
# llm.apiKey nor llm.existingSecret is set. `nix run .#undeploy -- --purge` deletes the
# Secret and with it the key.
#
# Environment: TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE (taskflow),
# TASKFLOW_NAMESPACE (taskflow), TASKFLOW_TIMEOUT (10m: how long to wait for the backend
# or the upgrade); TASKFLOW_CHART, the chart for that upgrade (set by the Nix wrapper).
#
# Exit status: 0 stored (or removed) and applied; 1 the value is empty or breaks the rules,
# or the two entries differ; 2 usage error; 3 a tool or the chart is missing; 4 the
# cluster is not running, kubectl has no context for it, or its API does not answer; 5 the
# release, its backend or its Secret is missing; 6 kubectl or helm failed; 7 timed out
# waiting for the backend or the upgrade; 8 refused: the value lives in a Secret of your
# own, or in the chart values (llm.apiKey, or llm.existingSecret for --delete).

set -euo pipefail

prog=set-secret

# The functions the apps share (usage_error, fail, step, say, need_tools, check_cluster, ...),
# from the directory of this file (no dirname: the tests run it with a bare PATH).
lib_dir=${BASH_SOURCE[0]%/*}
[[ $lib_dir != "${BASH_SOURCE[0]}" ]] || lib_dir=.
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"
# The annotation that marks an llm-api-key as stored by this app (the chart's
# taskflow.storedLlmApiKeyAnnotation; helm/tests/secrets-lookup.bats checks they agree).
stored_mark=taskflow/llm-api-key

usage() {
    cat <<'USAGE'
Usage: nix run .#set-secret -- jwt-secret [--generate]
       nix run .#set-secret -- llm-api-key [--delete]
       nix run .#set-secret -- --help

Sets or rotates a secret of the TaskFlow release in its Kubernetes Secret and applies
it: the backend is restarted, or, for an LLM key the release does not use yet, the
release is upgraded (helm upgrade, keeping its values) so that the backend reads it and
may reach the provider. On a terminal the value is asked for twice, without echo;
otherwise it is read from stdin. It is never shown or logged.

Names:
  jwt-secret   signs sign-in tokens; at least 32 bytes. Changing it signs everybody out.
               --generate makes a random one (64 hexadecimal digits).
  llm-api-key  the assistant's API key at its provider; printable ASCII, no spaces.
               Kept across upgrades until --delete removes it (the assistant then runs
               offline again) or `nix run .#undeploy -- --purge` deletes the Secret.

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context     (default: minikube)
  TASKFLOW_RELEASE           Helm release name                     (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                  (default: taskflow)
  TASKFLOW_TIMEOUT           how long to wait for the backend      (default: 10m)

Exit status: 0 success, 1 bad value, 2 usage, 3 missing tool or chart, 4 cluster not
running or wrong context, 5 release, backend or Secret missing, 6 kubectl or helm
failure, 7 timeout, 8 refused (the value is kept outside the release's Secret).
USAGE
}

name=""
generate=0
delete=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --generate)
            generate=1
            ;;
        --delete)
            delete=1
            ;;
        jwt-secret | llm-api-key)
            if [[ -n $name ]]; then
                usage_error "only one NAME may be given"
            fi
            name=$1
            ;;
        *)
            echo "$prog: unknown argument: $1 (NAME is jwt-secret or llm-api-key; see --help)" >&2
            exit 2
            ;;
    esac
    shift
done
if [[ -z $name ]]; then
    usage_error "missing NAME: jwt-secret or llm-api-key"
fi
if ((generate)) && [[ $name != jwt-secret ]]; then
    echo "$prog: --generate works for jwt-secret only; an API key comes from your provider" >&2
    exit 2
fi
if ((delete)) && [[ $name != llm-api-key ]]; then
    echo "$prog: --delete works for llm-api-key only; the backend cannot run without a jwt-secret" >&2
    exit 2
fi

release_settings
timeout=${TASKFLOW_TIMEOUT:-10m}

if [[ $name == jwt-secret ]]; then
    variable=JWT_SECRET
else
    variable=LLM_API_KEY
fi
steps=5
if ((delete)); then
    steps=4
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-set-secret.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

kube() {
    kubectl --context "$profile" --namespace "$namespace" "$@"
}

# --- 1. Tools and cluster ------------------------------------------------------------------
step 1 "Checking tools and the cluster (profile $profile)"
need_tools minikube kubectl helm jq
chart=""
if [[ $name == llm-api-key ]]; then
    chart=${TASKFLOW_CHART:-}
    [[ -n $chart && -e $chart ]] ||
        fail 3 "TASKFLOW_CHART: chart '$chart' not found. Run the app through Nix (nix run .#$prog), which provides it"
fi
check_cluster "start it (and TaskFlow) with 'nix run .#deploy'"

# --- 2. Where the backend reads it ---------------------------------------------------------
step 2 "Finding where release '$release' keeps $name"
if ! helm status "$release" --namespace "$namespace" --kube-context "$profile" >/dev/null 2>&1; then
    fail 5 "release '$release' is not installed in namespace '$namespace'; install it with 'nix run .#deploy'"
fi

# backend_refs: prints "<deployment> <Secret of JWT_SECRET> <its key> <Secret of
# LLM_API_KEY> <its key>" of the release's backend Deployment, "-" for none.
backend_refs() {
    kube get deployments --selector "app.kubernetes.io/instance=$release,app.kubernetes.io/component=backend" \
        -o json >"$work/deployments.json" 2>"$work/err" || {
        cat "$work/err" >&2
        fail 6 "could not read the Deployments of namespace '$namespace'"
    }
    jq -r '
        def ref($var): [.spec.template.spec.containers[] | select(.name == "backend") | .env[]?
            | select(.name == $var) | .valueFrom.secretKeyRef // empty] | first // {};
        .items[0] // empty
        | [.metadata.name, (ref("JWT_SECRET") | .name // "-", .key // "-"),
           (ref("LLM_API_KEY") | .name // "-", .key // "-")] | join(" ")' \
        "$work/deployments.json" || fail 6 "could not read the backend Deployment"
}

refs=$(backend_refs)
read -r backend jwt_secret jwt_key llm_secret llm_key <<<"$refs" || true
[[ -n ${backend:-} ]] || fail 5 "release '$release' has no backend Deployment in namespace '$namespace'"
[[ $jwt_secret != - ]] || fail 5 "deployment/$backend does not read JWT_SECRET from a Secret; is it a TaskFlow release?"

if [[ $name == jwt-secret ]]; then
    secret=$jwt_secret
    key=$jwt_key
else
    secret=$llm_secret
    key=$llm_key
fi
wired=1
if [[ $secret == - ]]; then
    # No LLM key in use: the backend runs the offline assistant. The key goes to the
    # release's own Secret (where JWT_SECRET is), which the chart then wires.
    wired=0
    secret=$jwt_secret
    key=llm-api-key
fi
kube get secret "$secret" -o json >"$work/secret.json" 2>"$work/err" || {
    cat "$work/err" >&2
    fail 5 "Secret '$secret' (read by deployment/$backend) cannot be read in namespace '$namespace'"
}
# "<release>/<namespace>" of the Helm release that manages the Secret ("/" for one made by hand).
secret_owner=$(jq -r '.metadata.annotations // {}
    | "\(.["meta.helm.sh/release-name"] // "")/\(.["meta.helm.sh/release-namespace"] // "")"' "$work/secret.json") ||
    fail 6 "could not read Secret '$secret'"
if [[ $secret_owner != "$release/$namespace" ]]; then
    if ((wired)); then
        fail 8 "the release reads $name from Secret '$secret', which you manage yourself (existingSecret or llm.existingSecret), so this app leaves it alone. Change key '$key' there, then restart the backend: kubectl --context $profile -n $namespace rollout restart deployment/$backend (see docs/secrets.md)"
    fi
    fail 8 "the release keeps its secrets in Secret '$secret', which you manage yourself (existingSecret), so this app leaves it alone. Add the key there as '$key' and set llm.existingSecret=$secret (see docs/secrets.md)"
fi
if [[ $name == llm-api-key ]]; then
    values=$(helm get values "$release" --namespace "$namespace" --kube-context "$profile" -o json 2>"$work/err") || {
        cat "$work/err" >&2
        fail 6 "could not read the values of release '$release'"
    }
    if jq -e '(.llm.apiKey // "") != ""' >/dev/null <<<"$values"; then
        fail 8 "the release takes the LLM key from the chart value llm.apiKey, and every helm upgrade writes that value back over a changed Secret. Remove llm.apiKey from the values and deploy again, then use this app; or change it with: helm upgrade ... --set llm.apiKey=<new key> (see docs/secrets.md)"
    fi
    if ((delete)) && jq -e '(.llm.existingSecret // "") != ""' >/dev/null <<<"$values"; then
        fail 8 "the release reads the LLM key through the chart value llm.existingSecret ('$secret'), and removing the key would stop the backend. Remove llm.existingSecret and llm.existingSecretKey from the values (for nix run .#deploy: helm/ci/minikube-values.yaml) and deploy again; then this app can remove the key"
    fi
fi
say "Secret '$secret', key '$key' (managed by release '$release')"
if ((wired)); then
    say "read by deployment/$backend as $variable"
else
    say "deployment/$backend reads no $variable: the assistant runs offline"
fi

# apply_upgrade WHAT STATE: helm upgrade of the release with the chart of TASKFLOW_CHART
# and the release's values, waiting for it. WHAT names the change ("the key", "the
# removal") and STATE says where the Secret stands, for the messages on failure.
apply_upgrade() {
    local what=$1 state=$2 status=0
    say "chart ${chart##*/}, the release's values kept (--reset-then-reuse-values)"
    helm upgrade "$release" "$chart" --namespace "$namespace" --kube-context "$profile" \
        --reset-then-reuse-values --wait --timeout "$timeout" >"$work/upgrade" 2>&1 || status=$?
    if ((status != 0)); then
        cat "$work/upgrade" >&2
        kube get pods >&2 2>/dev/null || true
        local retry="apply it with 'nix run .#deploy' once the cause is fixed (see 'kubectl --context $profile -n $namespace describe pods')"
        if grep -Eqi 'timed out|deadline exceeded' "$work/upgrade"; then
            fail 7 "release '$release' was not ready within $timeout after the upgrade that applies $what; $state. Pod states are above; $retry, or raise TASKFLOW_TIMEOUT and run this app again"
        fi
        fail 6 "helm upgrade of release '$release' failed (messages above); $state. $retry, or run this app again"
    fi
}

# --- 3. and 4. with --delete: remove, apply ------------------------------------------------
if ((delete)); then
    step 3 "Removing $name from Secret '$secret'"
    if ! jq -e --arg key "$key" --arg mark "$stored_mark" \
        '(.data // {} | has($key)) or (.metadata.annotations // {} | has($mark))' "$work/secret.json" >/dev/null; then
        say "Secret '$secret' holds no $key: nothing to remove"
        echo
        echo "No llm-api-key is stored; the assistant runs offline."
        exit 0
    fi
    if ! printf '{"metadata":{"annotations":{"%s":null}},"data":{"%s":null}}\n' "$stored_mark" "$key" |
        kube patch secret "$secret" --type merge --patch-file /dev/stdin >"$work/patch" 2>&1; then
        cat "$work/patch" >&2
        fail 6 "could not patch Secret '$secret' (messages above); nothing was changed"
    fi
    say "removed"
    if ((!wired)); then
        step 4 "Applying: nothing to do, deployment/$backend did not read it"
        echo
        echo "Removed llm-api-key; the assistant runs offline. Revoke the key at the provider if it is no longer used."
        exit 0
    fi
    step 4 "Applying it: helm upgrade of release '$release' (waiting up to $timeout)"
    say "deployment/$backend stops reading $variable, and its egress to the provider closes"
    apply_upgrade "the removal" "the key is gone from Secret '$secret', but pods of deployment/$backend that start before the upgrade goes through cannot (they still ask for it)"
    refs=$(backend_refs)
    read -r _ _ _ llm_secret _ <<<"$refs" || true
    [[ ${llm_secret:--} == - ]] ||
        fail 6 "after the upgrade deployment/$backend still reads $variable from Secret '$llm_secret' (is the chart at TASKFLOW_CHART older than 0.3.0?)"
    say "backend ready, without $variable"
    echo
    echo "Removed llm-api-key: the assistant runs offline. Revoke the key at the provider if it is no longer used."
    exit 0
fi

# --- 3. The value --------------------------------------------------------------------------
step 3 "Reading the new $name"
value=""
if ((generate)); then
    value=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
    say "generated 32 random bytes (64 hexadecimal digits)"
elif [[ -t 0 ]]; then
    again=""
    read -r -s -p "    New $name (not shown): " value || true
    echo >&2
    read -r -s -p "    Once more: " again || true
    echo >&2
    [[ $value == "$again" ]] || fail 1 "the two entries differ; nothing was changed"
    unset again
else
    # All of stdin; $(...) drops the trailing newline(s) of `echo` or a file.
    value=$(cat)
    say "read from stdin"
fi
if [[ -z $value ]]; then
    fail 1 "no value given (the input was empty); nothing was changed"
fi
if [[ $value == *$'\n'* ]]; then
    fail 1 "the value must be one line; nothing was changed"
fi
bytes=$(LC_ALL=C && echo "${#value}")
if [[ $name == jwt-secret ]]; then
    ((bytes >= 32)) ||
        fail 1 "jwt-secret must be at least 32 bytes, got $bytes (the backend refuses shorter ones); use --generate for a random one. Nothing was changed"
else
    (LC_ALL=C && [[ $value =~ ^[!-~]+$ ]]) ||
        fail 1 "llm-api-key must consist of printable ASCII characters without spaces (the backend's rule); nothing was changed"
fi
say "accepted ($bytes bytes; not shown)"

# --- 4. Store ------------------------------------------------------------------------------
step 4 "Storing it in Secret '$secret' (key '$key')"
# printf is a shell builtin: the value goes through pipes only, never into any argv.
encoded=$(printf '%s' "$value" | base64 | tr -d '\n')
unset value
metadata=""
if [[ $name == llm-api-key ]]; then
    # The mark that makes the chart keep the key and wire it (harmless under llm.existingSecret).
    metadata=$(printf '"metadata":{"annotations":{"%s":"stored"}},' "$stored_mark")
fi
if ! printf '{%s"data":{"%s":"%s"}}\n' "$metadata" "$key" "$encoded" |
    kube patch secret "$secret" --type merge --patch-file /dev/stdin >"$work/patch" 2>&1; then
    cat "$work/patch" >&2
    fail 6 "could not patch Secret '$secret' (messages above); nothing was changed"
fi
unset encoded
if [[ $name == jwt-secret ]]; then
    say "stored; helm upgrade keeps it (the chart reads jwt-secret back)"
else
    say "stored and marked $stored_mark=stored; helm upgrade keeps it until --delete"
fi

# --- 5. Apply ------------------------------------------------------------------------------
if ((!wired)); then
    step 5 "Applying it: helm upgrade of release '$release' (waiting up to $timeout)"
    say "deployment/$backend starts reading $variable, and may reach the provider (llm.egress)"
    apply_upgrade "the key" "the key stays stored in Secret '$secret'"
    refs=$(backend_refs)
    read -r _ _ _ llm_secret llm_key <<<"$refs" || true
    [[ ${llm_secret:--} == "$secret" && ${llm_key:-} == "$key" ]] ||
        fail 6 "the upgrade finished, but deployment/$backend does not read $variable from Secret '$secret' (is the chart at TASKFLOW_CHART older than 0.3.0?); the key stays stored: apply it with 'nix run .#deploy'"
    say "backend ready, reading $variable from Secret '$secret'"
    echo
    echo "Set llm-api-key: the assistant uses the provider now, and keeps the key across deploys until 'nix run .#set-secret -- llm-api-key --delete'."
    exit 0
fi
step 5 "Restarting deployment/$backend (waiting up to $timeout)"
if [[ $name == jwt-secret ]]; then
    say "this signs everybody out: tokens signed with the old key stop working, people sign in again"
fi
if ! kube rollout restart deployment "$backend" >"$work/restart" 2>&1; then
    cat "$work/restart" >&2
    fail 6 "could not restart deployment/$backend; the new value is stored and takes effect when its pods restart"
fi
status=0
kube rollout status deployment "$backend" --timeout "$timeout" >"$work/rollout" 2>&1 || status=$?
if ((status != 0)); then
    cat "$work/rollout" >&2
    if grep -Eqi 'timed out|deadline exceeded' "$work/rollout"; then
        fail 7 "deployment/$backend was not ready within $timeout after the restart; see 'kubectl --context $profile -n $namespace describe pods'"
    fi
    fail 6 "deployment/$backend did not roll out (messages above)"
fi
say "backend restarted and ready"
echo
if [[ $name == jwt-secret ]]; then
    echo "Rotated jwt-secret: everybody has been signed out and signs in again."
else
    echo "Rotated llm-api-key: the backend uses the new key. Revoke the old one at the provider now."
fi
