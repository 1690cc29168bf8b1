#!/usr/bin/env bash
#
# set-secret.sh - set or rotate a secret of TaskFlow on Minikube and restart the backend
# (the `set-secret` app of the flake).
#
# Usage:
#   nix run .#set-secret -- jwt-secret               prompts (or reads stdin)
#   nix run .#set-secret -- jwt-secret --generate    a new random key
#   nix run .#set-secret -- llm-api-key              prompts (or reads stdin)
#   printf '%s' "$KEY" | nix run .#set-secret -- llm-api-key
#   nix run .#set-secret -- --help
#
# NAME is the key in the release's Secret:
#   jwt-secret   JWT_SECRET, the key that signs sign-in tokens: at least 32 bytes (the
#                backend's own rule), one line. Changing it signs everybody out.
#   llm-api-key  LLM_API_KEY, the assistant's key at its provider: printable ASCII without
#                spaces (the backend's own rule).
#
# Steps, each announced with "==> [n/5] ...":
#   1. check that minikube, kubectl, helm and jq are on PATH, that the Minikube cluster
#      runs, that kubectl has its context and that the API answers;
#   2. find the Secret and key the backend Deployment reads the variable from, and refuse
#      when that Secret is not the release's own (an `existingSecret` is yours to change:
#      the message says how) or when the LLM key comes from the chart value llm.apiKey
#      (every helm upgrade would write that value back);
#   3. read the value: with --generate (jwt-secret only) 32 random bytes as 64 hex digits;
#      from the terminal without echo, twice; or else all of stdin (one trailing newline is
#      dropped). The value is checked and never printed;
#   4. store it with `kubectl patch secret --type merge --patch-file /dev/stdin`: the value
#      travels through pipes only, never on a command line;
#   5. restart the backend (kubectl rollout restart) and wait for it (rollout status).
# The chart keeps both values on `helm upgrade`: it reads jwt-secret back from the Secret,
# and it never writes llm-api-key when the key comes from llm.existingSecret. If the
# release does not pass an LLM key to the backend yet, step 4 stores it and step 5 is
# replaced by the one setting that makes the backend read it.
#
# Environment: TASKFLOW_MINIKUBE_PROFILE (minikube), TASKFLOW_RELEASE (taskflow),
# TASKFLOW_NAMESPACE (taskflow), TASKFLOW_TIMEOUT (10m: how long to wait for the backend).
#
# Exit status: 0 stored (and the backend restarted, when it reads the value); 1 the value
# is empty or breaks the rules, or the two entries differ; 2 usage error; 3 a tool is
# missing; 4 the cluster is not running, kubectl has no context for it, or its API does
# not answer; 5 the release, its backend or its Secret is missing; 6 kubectl failed;
# 7 timed out waiting for the backend; 8 refused: the value lives in a Secret of your own,
# or in the chart value llm.apiKey.

set -euo pipefail

prog=set-secret

usage() {
    cat <<'EOF'
Usage: nix run .#set-secret -- jwt-secret [--generate]
       nix run .#set-secret -- llm-api-key
       nix run .#set-secret -- --help

Sets or rotates a secret of the TaskFlow release in its Kubernetes Secret, then restarts
the backend so that it reads the new value. On a terminal the value is asked for twice,
without echo; otherwise it is read from stdin. It is never shown or logged.

Names:
  jwt-secret   signs sign-in tokens; at least 32 bytes. Changing it signs everybody out.
               --generate makes a random one (64 hexadecimal digits).
  llm-api-key  the assistant's API key at its provider; printable ASCII, no spaces.

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context     (default: minikube)
  TASKFLOW_RELEASE           Helm release name                     (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                  (default: taskflow)
  TASKFLOW_TIMEOUT           how long to wait for the backend      (default: 10m)

Exit status: 0 success, 1 bad value, 2 usage, 3 missing tool, 4 cluster not running or
wrong context, 5 release, backend or Secret missing, 6 kubectl failure, 7 timeout,
8 refused (the value is kept outside the release's Secret).
EOF
}

name=""
generate=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --generate)
            generate=1
            ;;
        jwt-secret | llm-api-key)
            if [[ -n $name ]]; then
                echo "$prog: only one NAME may be given (see --help)" >&2
                exit 2
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
    echo "$prog: missing NAME: jwt-secret or llm-api-key (see --help)" >&2
    exit 2
fi
if ((generate)) && [[ $name != jwt-secret ]]; then
    echo "$prog: --generate works for jwt-secret only; an API key comes from your provider" >&2
    exit 2
fi

profile=${TASKFLOW_MINIKUBE_PROFILE:-minikube}
release=${TASKFLOW_RELEASE:-taskflow}
namespace=${TASKFLOW_NAMESPACE:-taskflow}
timeout=${TASKFLOW_TIMEOUT:-10m}

if [[ $name == jwt-secret ]]; then
    variable=JWT_SECRET
else
    variable=LLM_API_KEY
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-set-secret.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

step() {
    echo
    echo "==> [$1/5] $2"
}

say() {
    echo "    $*"
}

fail() {
    local status=$1
    shift
    echo "$prog: error: $*" >&2
    exit "$status"
}

kube() {
    kubectl --context "$profile" --namespace "$namespace" "$@"
}

# --- 1. Tools and cluster ------------------------------------------------------------------
step 1 "Checking tools and the cluster (profile $profile)"
for tool in minikube kubectl helm jq; do
    command -v "$tool" >/dev/null ||
        fail 3 "$tool not found on PATH. Run the app through Nix (nix run .#$prog), which provides it"
done
if ! minikube status --profile "$profile" >/dev/null 2>&1; then
    fail 4 "Minikube profile '$profile' is not running; start it (and TaskFlow) with 'nix run .#deploy'"
fi
if ! kubectl config get-contexts "$profile" >/dev/null 2>&1; then
    fail 4 "kubectl has no context named '$profile' (the Minikube profile); recreate it with 'minikube update-context --profile $profile'"
fi
if ! kubectl --context "$profile" get --raw /readyz >/dev/null 2>&1; then
    fail 4 "the Kubernetes API of Minikube profile '$profile' does not answer; see 'minikube status --profile $profile'"
fi
say "cluster running, context $profile"

# --- 2. Where the backend reads it ---------------------------------------------------------
step 2 "Finding where release '$release' keeps $name"
if ! helm status "$release" --namespace "$namespace" --kube-context "$profile" >/dev/null 2>&1; then
    fail 5 "release '$release' is not installed in namespace '$namespace'; install it with 'nix run .#deploy'"
fi
kube get deployments --selector "app.kubernetes.io/instance=$release,app.kubernetes.io/component=backend" \
    -o json >"$work/deployments.json" 2>"$work/err" || {
    cat "$work/err" >&2
    fail 6 "could not read the Deployments of namespace '$namespace'"
}
# "<deployment> <Secret of JWT_SECRET> <its key> <Secret of LLM_API_KEY> <its key>", "-" for none.
refs=$(jq -r '
    def ref($var): [.spec.template.spec.containers[] | select(.name == "backend") | .env[]?
        | select(.name == $var) | .valueFrom.secretKeyRef // empty] | first // {};
    .items[0] // empty
    | [.metadata.name, (ref("JWT_SECRET") | .name // "-", .key // "-"),
       (ref("LLM_API_KEY") | .name // "-", .key // "-")] | join(" ")' \
    "$work/deployments.json") || fail 6 "could not read the backend Deployment"
read -r backend jwt_secret jwt_key llm_secret llm_key <<<"$refs" || true
[[ -n ${backend:-} ]] || fail 5 "release '$release' has no backend Deployment in namespace '$namespace'"
[[ $jwt_secret != - ]] || fail 5 "deployment/$backend does not read JWT_SECRET from a Secret; is it a TaskFlow release?"

# owner SECRET: prints "<release>/<namespace>" of the Helm release that manages the Secret
# (empty for a Secret created by hand); fails if it does not exist.
owner() {
    kube get secret "$1" -o json 2>"$work/err" | jq -r '.metadata.annotations // {}
        | "\(.["meta.helm.sh/release-name"] // "")/\(.["meta.helm.sh/release-namespace"] // "")"'
}

if [[ $name == jwt-secret ]]; then
    secret=$jwt_secret
    key=$jwt_key
else
    secret=$llm_secret
    key=$llm_key
fi
wired=1
if [[ $secret == - ]]; then
    # No LLM key configured: the backend runs the offline assistant. The key can still be
    # stored in the release's Secret, ready for llm.existingSecret.
    wired=0
    secret=$jwt_secret
    key=llm-api-key
fi
secret_owner=$(owner "$secret") || {
    cat "$work/err" >&2
    fail 5 "Secret '$secret' (read by deployment/$backend) cannot be read in namespace '$namespace'"
}
if [[ $secret_owner != "$release/$namespace" ]]; then
    fail 8 "the release reads $name from Secret '$secret', which you manage yourself (existingSecret or llm.existingSecret), so this app leaves it alone. Change key '$key' there, then restart the backend: kubectl --context $profile -n $namespace rollout restart deployment/$backend (see docs/secrets.md)"
fi
if [[ $name == llm-api-key ]] && ((wired)); then
    if helm get values "$release" --namespace "$namespace" --kube-context "$profile" -o json 2>/dev/null |
        jq -e '(.llm.apiKey // "") != ""' >/dev/null; then
        fail 8 "the release takes the LLM key from the chart value llm.apiKey, and every helm upgrade writes that value back over a changed Secret. Keep the key in a Secret instead (llm.existingSecret, see docs/secrets.md), or change it with: helm upgrade ... --set llm.apiKey=<new key>"
    fi
fi
say "Secret '$secret', key '$key' (managed by release '$release')"
if ((wired)); then
    say "read by deployment/$backend as $variable"
else
    say "deployment/$backend reads no $variable yet: the assistant runs offline"
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
if ! printf '{"data":{"%s":"%s"}}\n' "$key" "$encoded" |
    kube patch secret "$secret" --type merge --patch-file /dev/stdin >"$work/patch" 2>&1; then
    cat "$work/patch" >&2
    fail 6 "could not patch Secret '$secret' (messages above); nothing was changed"
fi
unset encoded
say "stored; helm upgrade keeps it (the chart reads jwt-secret back, and does not manage an llm-api-key it did not set)"

# --- 5. Restart ----------------------------------------------------------------------------
if ((!wired)); then
    step 5 "Connecting the backend to the key"
    say "the backend reads the key once the release is told where it is. Add to the values"
    say "(for nix run .#deploy: helm/ci/minikube-values.yaml), then deploy again:"
    say "  llm:"
    say "    existingSecret: \"$secret\""
    say "    existingSecretKey: \"$key\""
    echo
    echo "Stored $name in Secret '$secret'; it takes effect with the next deploy."
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
