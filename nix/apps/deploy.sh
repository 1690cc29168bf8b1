#!/usr/bin/env bash
#
# deploy.sh - install or upgrade TaskFlow on Minikube (the `deploy` app of the flake).
#
# Usage:
#   nix run .#deploy            (or simply: nix run)
#   nix run .#deploy -- --help
#
# Steps, each announced with "==> [n/6] ...":
#   1. check that minikube, helm and kubectl are on PATH and that the images, the chart and
#      the values file exist; then run the doctor's checks (nix/apps/doctor.sh, as
#      `taskflow-doctor --skip-nix --quiet`: driver, CPUs, memory, disk, cluster, kubectl
#      context) and stop with its report if one fails;
#   2. use the running Minikube cluster, or start one (driver, CPUs and memory from the
#      environment), and check that its API server answers;
#   3. load the three uncompressed image archives with `minikube image load`, then check
#      with `minikube image ls` that every name:tag is there (a loaded archive can be
#      skipped silently);
#   4. helm upgrade --install with helm/ci/minikube-values.yaml and the content-hash image
#      tags, waiting for every pod (--wait --timeout) and rolling back on failure
#      (Helm 4: --rollback-on-failure; Helm 3: --atomic; the major version is detected);
#      then check that the pods run the loaded images;
#   5. helm test (the chart's test pod probes the services);
#   6. print the URL of the frontend (`minikube service --url`).
# Re-running it upgrades the release in place; the data volume is kept.
#
# Environment (settings):
#   TASKFLOW_MINIKUBE_PROFILE  Minikube profile, also the kubectl/helm context (minikube)
#   TASKFLOW_MINIKUBE_DRIVER   driver for a new cluster: docker, podman, kvm2, qemu, ...
#                              (default: minikube's own choice)
#   TASKFLOW_MINIKUBE_CPUS     CPUs for a new cluster (2)
#   TASKFLOW_MINIKUBE_MEMORY   memory for a new cluster, MB or with a unit (4096)
#   TASKFLOW_RELEASE           Helm release name (taskflow)
#   TASKFLOW_NAMESPACE         namespace, created if missing (taskflow)
#   TASKFLOW_TIMEOUT           how long Helm waits for the pods and for the tests (10m)
#
# Environment (inputs, set by the Nix wrapper in nix/apps.nix):
#   TASKFLOW_CHART             the chart (packaged .tgz or directory)
#   TASKFLOW_VALUES            helm/ci/minikube-values.yaml
#   TASKFLOW_{BACKEND,FRONTEND,POSTGRES}_IMAGE      image references, name:tag
#   TASKFLOW_{BACKEND,FRONTEND,POSTGRES}_IMAGE_TAR  uncompressed docker-archive files
#
# Exit status: 0 deployed and tested; 1 missing or bad inputs; 2 usage error;
# 3 minikube, helm, kubectl or taskflow-doctor not found; 4 a check of the doctor failed,
# or the cluster could not be started or does not answer (driver problem); 5 an image
# could not be loaded; 6 Helm failed (release rolled back); 7 timed out waiting for the
# release (rolled back); 8 helm test failed; 9 no URL for the frontend.

set -euo pipefail

prog=deploy

usage() {
    cat <<'EOF'
Usage: nix run .#deploy [-- --help]

Deploys TaskFlow to Minikube: starts a cluster if none is running, loads the three
images, installs or upgrades the Helm release (rolled back if it fails), runs the chart's
tests and prints the URL of the web app. Safe to re-run: it upgrades in place and keeps
the data.

Settings (environment variables):
  TASKFLOW_MINIKUBE_PROFILE  Minikube profile and kube context     (default: minikube)
  TASKFLOW_MINIKUBE_DRIVER   driver for a new cluster, e.g. docker, kvm2, qemu
                             (default: minikube's own choice)
  TASKFLOW_MINIKUBE_CPUS     CPUs for a new cluster                 (default: 2)
  TASKFLOW_MINIKUBE_MEMORY   memory for a new cluster, e.g. 4096 or 6g (default: 4096)
  TASKFLOW_RELEASE           Helm release name                      (default: taskflow)
  TASKFLOW_NAMESPACE         Kubernetes namespace                   (default: taskflow)
  TASKFLOW_TIMEOUT           Helm wait and test timeout             (default: 10m)

It first runs the checks of 'nix run .#doctor' (driver, CPUs, memory, disk, cluster,
kubectl context) and stops, with the doctor's report, if one fails.

Exit status: 0 success, 1 bad inputs, 2 usage, 3 missing tool, 4 a doctor check failed
or cluster/driver failure, 5 image load failure, 6 Helm failure, 7 timeout, 8 helm test
failure, 9 no URL.
See docs/nix.md ("Deploying to Minikube") and docs/operations.md.
EOF
}

case "${1-}" in
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        echo "$prog: unknown argument: $1 (see --help)" >&2
        exit 2
        ;;
esac

profile=${TASKFLOW_MINIKUBE_PROFILE:-minikube}
driver=${TASKFLOW_MINIKUBE_DRIVER:-}
cpus=${TASKFLOW_MINIKUBE_CPUS:-2}
memory=${TASKFLOW_MINIKUBE_MEMORY:-4096}
release=${TASKFLOW_RELEASE:-taskflow}
namespace=${TASKFLOW_NAMESPACE:-taskflow}
timeout=${TASKFLOW_TIMEOUT:-10m}

components=(backend frontend postgres)
# The chart's value key of each component's image.
declare -A value_key=([backend]=backend [frontend]=frontend [postgres]=postgresql)

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-deploy.XXXXXXXX")
trap 'rm -rf -- "$work"' EXIT

# deploy and doctor keep their own helpers instead of sourcing lib.sh: each also runs as a
# single file away from nix/apps/ (deploy copied alone, the doctor through a link named
# taskflow-doctor), where no lib.sh is next to it.
step() {
    echo
    echo "==> [$1/6] $2"
}

say() {
    echo "    $*"
}

# fail STATUS MESSAGE...: one clear message on stderr, then exit.
fail() {
    local status=$1
    shift
    echo "$prog: error: $*" >&2
    exit "$status"
}

# --- 1. Tools and inputs -----------------------------------------------------------------
step 1 "Checking tools and inputs"

for tool in minikube helm kubectl; do
    command -v "$tool" >/dev/null ||
        fail 3 "$tool not found on PATH. Run the app through Nix (nix run .#deploy), which provides it, or install it (https://minikube.sigs.k8s.io/docs/start/ for minikube)"
done

[[ $cpus =~ ^[1-9][0-9]*$ ]] || fail 1 "TASKFLOW_MINIKUBE_CPUS must be a positive whole number, got '$cpus'"
[[ $memory =~ ^[1-9][0-9]*([mMgG][bB]?)?$ ]] ||
    fail 1 "TASKFLOW_MINIKUBE_MEMORY must be a size such as 4096, 4096mb or 6g, got '$memory'"

declare -A image_ref image_tar
for component in "${components[@]}"; do
    upper=${component^^}
    ref_var=TASKFLOW_${upper}_IMAGE
    tar_var=TASKFLOW_${upper}_IMAGE_TAR
    ref=${!ref_var:-}
    tar=${!tar_var:-}
    [[ $ref =~ ^[a-z0-9._/-]+:[A-Za-z0-9_.-]+$ ]] ||
        fail 1 "$ref_var must be an image reference name:tag (set by the Nix wrapper), got '$ref'"
    [[ -f $tar ]] || fail 1 "$tar_var: image archive '$tar' not found (set by the Nix wrapper)"
    image_ref[$component]=$ref
    image_tar[$component]=$tar
done
chart=${TASKFLOW_CHART:-}
values=${TASKFLOW_VALUES:-}
[[ -e $chart ]] || fail 1 "TASKFLOW_CHART: chart '$chart' not found (set by the Nix wrapper)"
[[ -f $values ]] || fail 1 "TASKFLOW_VALUES: values file '$values' not found (set by the Nix wrapper)"

helm_version=$(helm version --short 2>/dev/null) || fail 6 "'helm version' failed; is helm working?"
if [[ $helm_version == v3.* ]]; then
    rollback_flag=--atomic
else
    rollback_flag=--rollback-on-failure
fi
say "minikube, helm ${helm_version%%+*}, kubectl: found"
for component in "${components[@]}"; do
    say "$component image: ${image_ref[$component]}"
done

# The doctor's checks. The Nix wrapper puts taskflow-doctor on PATH; run from the
# repository, the script next to this one is used.
doctor=$(command -v taskflow-doctor || true)
sibling=${BASH_SOURCE[0]%/*}/doctor.sh
if [[ -z $doctor && -x $sibling ]]; then
    doctor=$sibling
fi
[[ -n $doctor ]] ||
    fail 3 "taskflow-doctor not found on PATH. Run the app through Nix (nix run .#deploy), which provides it"
status=0
"$doctor" --skip-nix --quiet >"$work/doctor.txt" 2>&1 || status=$?
if ((status != 0)); then
    cat "$work/doctor.txt" >&2
    fail 4 "the machine checks above found a problem that would stop the deployment; fix each FAIL line, then run deploy again ('nix run .#doctor' shows every check)"
fi
while IFS= read -r line; do
    say "${line#"${line%%[![:space:]]*}"}"
done <"$work/doctor.txt"

# --- 2. Cluster --------------------------------------------------------------------------
step 2 "Minikube cluster (profile $profile)"

if minikube status --profile "$profile" >/dev/null 2>&1; then
    say "running"
else
    start_args=(start --profile "$profile" --cpus "$cpus" --memory "$memory")
    if [[ -n $driver ]]; then
        start_args+=(--driver "$driver")
    fi
    say "not running: starting it (driver: ${driver:-minikube default}, CPUs: $cpus, memory: $memory)"
    if ! minikube "${start_args[@]}"; then
        fail 4 "minikube could not start the cluster with driver '${driver:-minikube default}' (its messages are above). Check that the driver works ('nix run .#doctor' checks it: docker answers and you are in the docker group; kvm2: libvirtd runs), or choose another one with TASKFLOW_MINIKUBE_DRIVER=<driver>"
    fi
fi
if ! kubectl --context "$profile" get --raw /readyz >/dev/null 2>"$work/kubectl.err"; then
    cat "$work/kubectl.err" >&2
    fail 4 "the Kubernetes API of Minikube profile '$profile' does not answer (see above); 'nix run .#doctor' checks the cluster and the context; try 'minikube update-context --profile $profile', or 'minikube delete --profile $profile' and run deploy again"
fi
say "Kubernetes API ready (context $profile)"

# --- 3. Images ---------------------------------------------------------------------------
step 3 "Loading images into Minikube"

for component in "${components[@]}"; do
    say "loading ${image_ref[$component]}"
    if ! minikube image load --profile "$profile" "${image_tar[$component]}"; then
        fail 5 "minikube could not load ${image_ref[$component]} from ${image_tar[$component]} (its messages are above)"
    fi
done
if ! minikube image ls --profile "$profile" --format short >"$work/images.txt" 2>"$work/images.err"; then
    cat "$work/images.err" >&2
    fail 5 "could not list the images of Minikube profile '$profile'"
fi
for component in "${components[@]}"; do
    ref=${image_ref[$component]}
    # Runtimes print docker.io/library/name:tag (containerd) or name:tag.
    if ! grep -Eq "^(.*/)?${ref//./\\.}\$" "$work/images.txt"; then
        fail 5 "$ref is not in the cluster after 'minikube image load' (it may have skipped the archive); the cluster has: $(tr '\n' ' ' <"$work/images.txt")"
    fi
done
say "all three images are present"

# --- 4. Helm release -----------------------------------------------------------------------
if helm status "$release" --namespace "$namespace" --kube-context "$profile" >/dev/null 2>&1; then
    step 4 "Upgrading Helm release '$release' in namespace '$namespace'"
else
    step 4 "Installing Helm release '$release' in namespace '$namespace'"
fi

helm_args=(
    upgrade --install "$release" "$chart"
    --namespace "$namespace" --create-namespace
    --kube-context "$profile"
    --values "$values"
)
for component in "${components[@]}"; do
    ref=${image_ref[$component]}
    key=${value_key[$component]}
    helm_args+=(--set "$key.image.repository=${ref%:*}" --set "$key.image.tag=${ref##*:}")
done
# Browsers reach the frontend at the node's address and the NodePort of the values file:
# that is the PUBLIC_ORIGIN the frontend should know (its cross-site check compares against it).
node_port=""
while IFS= read -r line; do
    if [[ $line =~ ^[[:space:]]*nodePort:[[:space:]]*([0-9]+) ]]; then
        node_port=${BASH_REMATCH[1]}
        break
    fi
done <"$values"
if [[ -n $node_port ]] && node_ip=$(minikube ip --profile "$profile" 2>/dev/null) && [[ -n $node_ip ]]; then
    helm_args+=(--set-string "frontend.publicOrigin=http://$node_ip:$node_port")
fi
helm_args+=(--wait --timeout "$timeout" "$rollback_flag")

say "helm ${helm_version%%+*}: waiting up to $timeout for the pods; rolls back on failure ($rollback_flag)"
status=0
helm "${helm_args[@]}" 2>&1 | tee "$work/helm.log" || status=$?
if ((status != 0)); then
    kubectl --context "$profile" --namespace "$namespace" get pods >&2 2>/dev/null || true
    if grep -Eqi 'timed out|deadline exceeded' "$work/helm.log"; then
        fail 7 "timed out after $timeout waiting for release '$release' to become ready; Helm rolled it back. Pod states are above; 'kubectl --context $profile -n $namespace describe pods' tells why. Raise TASKFLOW_TIMEOUT for slow machines ('nix run .#doctor' compares the machine with the cluster's settings)"
    fi
    fail 6 "helm upgrade --install failed (messages above); Helm rolled the release back"
fi

# The pods must run the images just loaded (a stale image with the same tag would not count).
if ! kubectl --context "$profile" --namespace "$namespace" get pods \
    -o 'jsonpath={range .items[*]}{range .spec.containers[*]}{.image}{"\n"}{end}{end}' \
    >"$work/pod-images.txt"; then
    fail 6 "could not list the pods of namespace '$namespace'"
fi
for component in "${components[@]}"; do
    ref=${image_ref[$component]}
    grep -Eq "^(.*/)?${ref//./\\.}\$" "$work/pod-images.txt" ||
        fail 6 "no pod of release '$release' runs $ref; pods run: $(tr '\n' ' ' <"$work/pod-images.txt")"
done
say "release '$release' is ready and runs the new images"

# --- 5. Tests ------------------------------------------------------------------------------
step 5 "Running helm test"
if ! helm test "$release" --namespace "$namespace" --kube-context "$profile" --timeout "$timeout" --logs; then
    fail 8 "helm test failed for release '$release' (messages above); the release stays installed: inspect it with 'kubectl --context $profile -n $namespace get pods'"
fi
say "chart tests passed"

# --- 6. URL --------------------------------------------------------------------------------
step 6 "Frontend URL"
service=$(kubectl --context "$profile" --namespace "$namespace" get services \
    --selector "app.kubernetes.io/instance=$release,app.kubernetes.io/component=frontend" \
    -o 'jsonpath={.items[0].metadata.name}' 2>/dev/null) || service=""
if [[ -z $service ]]; then
    fail 9 "no frontend Service of release '$release' found in namespace '$namespace' (label app.kubernetes.io/component=frontend)"
fi
# With the docker driver on macOS `minikube service --url` keeps a tunnel open and never
# returns: give it 30 seconds and use what it printed.
say "service $service in namespace $namespace"
url_output=$(timeout 30 minikube service "$service" --profile "$profile" --namespace "$namespace" --url 2>"$work/url.err") || true
url=$(grep -Em1 '^https?://' <<<"$url_output" || true)
if [[ -z $url ]]; then
    cat "$work/url.err" >&2 || true
    fail 9 "TaskFlow is deployed, but 'minikube service $service --url' gave no URL; open it with: minikube service $service --profile $profile --namespace $namespace"
fi
echo
echo "TaskFlow is running: $url"
