#!/usr/bin/env bash
#
# fake-cluster.bash - stands in for minikube, helm and kubectl in the tests of the deploy and
# undeploy apps (scripts/tests/nix/apps.bats). Linked under those three names; it appends
# every call, as "<tool> <args...>", to $FAKE_LOG, keeps a little state in $FAKE_STATE (is
# the cluster running, which images are loaded, is the release installed, which images the
# pods run), and fails on request:
#
#   FAKE_MINIKUBE_RUNNING=1    the cluster runs from the start
#   FAKE_START=fail            `minikube start` fails (a driver problem)
#   FAKE_API=fail              the Kubernetes API does not answer
#   FAKE_LOAD_FAIL=<file>      `minikube image load <file>` fails
#   FAKE_LOAD_SKIP=<file>      `minikube image load <file>` "succeeds" but loads nothing
#   FAKE_HELM_VERSION=v3.20.1  what `helm version --short` prints (default v4.1.4+g05fa379)
#   FAKE_RELEASE=1             the release is installed from the start
#   FAKE_UPGRADE=fail|timeout  `helm upgrade` fails, or fails after timing out
#   FAKE_POD_IMAGES=<refs>     the pods run these images instead of the ones set
#   FAKE_TEST=fail             `helm test` fails
#   FAKE_SERVICE=none          no frontend Service is found
#   FAKE_URL=none              `minikube service --url` prints no URL
#   FAKE_IP=none               `minikube ip` fails
#   FAKE_UNINSTALL=fail|timeout, FAKE_NS_DELETE=fail|timeout
#   FAKE_PVCS="a b"            the PersistentVolumeClaims in the namespace
#
# For the doctor, status and logs apps (scripts/tests/nix/ops-observe.bats):
#   FAKE_MINIKUBE_STATUS=hang  `minikube status` does not answer (sleeps)
#   FAKE_MINIKUBE_PROFILE=none the profile does not exist (`minikube status` exits 85)
#   FAKE_KUBECONFIG=misconfigured  `minikube status` reports an outdated kubeconfig entry
#   FAKE_API=timeout           the Kubernetes API does not answer in time
#   FAKE_CONTEXT=missing       kubectl has no context of the profile's name
#   FAKE_CURRENT_CONTEXT=<n>   kubectl's current context (default minikube)
#   FAKE_PODS_JSON=<file>      `kubectl get pods -o json` prints it (default: no pods);
#                              `-o name` and `kubectl logs` use the pods of the selected
#                              components in it
#   FAKE_EVENTS_JSON=<file>    `kubectl get events -o json` prints it (default: none)
#   FAKE_SERVICE_TYPE=<type>   the frontend Service's type in `-o json` (default NodePort)
#   FAKE_LOGS=fail             `kubectl logs` fails
#   FAKE_HELM_STATUS=hang      `helm status` does not answer (sleeps)
#   FAKE_RELEASE_STATUS=<s>, FAKE_REVISION=<n>  `helm status -o json` (deployed, 1)
#   FAKE_DOCTOR=fail           the stand-in `taskflow-doctor` (for deploy's tests) finds a
#                              problem; the real one is tested on its own

set -euo pipefail

tool=${0##*/}
{
    printf '%s' "$tool"
    printf ' %s' "$@"
    echo
} >>"$FAKE_LOG"

state=$FAKE_STATE
mkdir -p "$state"
touch "$state/images" "$state/pod-images"
[[ -n ${FAKE_MINIKUBE_RUNNING:-} && ! -e $state/started ]] && touch "$state/running" "$state/started"
[[ -n ${FAKE_RELEASE:-} && ! -e $state/release-seeded ]] && touch "$state/release" "$state/release-seeded"

case "$tool:${1-}" in
    minikube:status)
        [[ ${FAKE_MINIKUBE_STATUS:-} == hang ]] && exec sleep 60
        if [[ -e $state/running ]]; then
            echo "host: Running"
            if [[ ${FAKE_KUBECONFIG:-} == misconfigured ]]; then
                # minikube sets bit 4 of its status for "Kubernetes not OK".
                echo "kubeconfig: Misconfigured"
                exit 4
            fi
            exit 0
        fi
        if [[ ${FAKE_MINIKUBE_PROFILE:-} == none ]]; then
            echo "* Profile \"${3-minikube}\" not found. Run \"minikube profile list\" to view all profiles."
            exit 85
        fi
        echo "host: Stopped"
        exit 7
        ;;
    minikube:start)
        if [[ ${FAKE_START:-} == fail ]]; then
            echo "X Exiting due to PROVIDER_DOCKER_NOT_RUNNING: docker is not running" >&2
            exit 69
        fi
        touch "$state/running"
        echo "Done! kubectl is now configured to use \"minikube\" cluster"
        ;;
    minikube:image)
        case ${2-} in
            load)
                file=${*: -1}
                if [[ ${FAKE_LOAD_FAIL:-} == "$file" ]]; then
                    echo "X Exiting due to GUEST_IMAGE_LOAD: failed to load $file" >&2
                    exit 80
                fi
                [[ ${FAKE_LOAD_SKIP:-} == "$file" ]] || echo "docker.io/library/$(cat "$file")" >>"$state/images"
                ;;
            ls)
                echo "registry.k8s.io/pause:3.10"
                cat "$state/images"
                ;;
        esac
        ;;
    minikube:ip)
        if [[ ${FAKE_IP:-} == none ]]; then
            echo "X Exiting due to GUEST_STATUS: state: unknown" >&2
            exit 80
        fi
        echo "192.168.49.2"
        ;;
    minikube:service)
        [[ ${FAKE_URL:-} == none ]] || echo "http://192.168.49.2:30000"
        ;;
    helm:version)
        echo "${FAKE_HELM_VERSION:-v4.1.4+g05fa379}"
        ;;
    helm:status)
        [[ ${FAKE_HELM_STATUS:-} == hang ]] && exec sleep 60
        if [[ -e $state/release && " $* " == *" --output json "* ]]; then
            jq -n --arg name "$2" --arg status "${FAKE_RELEASE_STATUS:-deployed}" --argjson revision "${FAKE_REVISION:-1}" '{
                name: $name, namespace: "taskflow", version: $revision,
                info: {status: $status, last_deployed: "2026-11-27T01:02:03.456789012Z"},
                chart: {metadata: {name: "taskflow", version: "0.2.0", appVersion: "0.1.0"}}}'
            exit 0
        fi
        if [[ -e $state/release ]]; then
            echo "STATUS: deployed"
            exit 0
        fi
        echo "Error: release: not found" >&2
        exit 1
        ;;
    helm:upgrade)
        case ${FAKE_UPGRADE:-} in
            fail)
                echo "Error: UPGRADE FAILED: pre-upgrade hooks failed" >&2
                exit 1
                ;;
            timeout)
                echo "Error: UPGRADE FAILED: context deadline exceeded" >&2
                exit 1
                ;;
        esac
        # The images the pods will run: <key>.image.repository + <key>.image.tag.
        declare -A repo=() tag=()
        previous=""
        for arg in "$@"; do
            if [[ $previous == --set && $arg =~ ^([a-z]+)\.image\.(repository|tag)=(.*)$ ]]; then
                if [[ ${BASH_REMATCH[2]} == repository ]]; then
                    repo[${BASH_REMATCH[1]}]=${BASH_REMATCH[3]}
                else
                    tag[${BASH_REMATCH[1]}]=${BASH_REMATCH[3]}
                fi
            fi
            previous=$arg
        done
        : >"$state/pod-images"
        for key in "${!repo[@]}"; do
            echo "${repo[$key]}:${tag[$key]:-}" >>"$state/pod-images"
        done
        touch "$state/release"
        echo "Release \"taskflow\" has been upgraded. Happy Helming!"
        ;;
    helm:test)
        if [[ ${FAKE_TEST:-} == fail ]]; then
            echo "Error: 1 error occurred: pod taskflow-test-connection failed" >&2
            exit 1
        fi
        echo "Phase: Succeeded"
        ;;
    helm:uninstall)
        case ${FAKE_UNINSTALL:-} in
            fail)
                echo "Error: uninstall: failed to delete release" >&2
                exit 1
                ;;
            timeout)
                echo "Error: uninstall: timed out waiting for the condition" >&2
                exit 1
                ;;
        esac
        rm -f "$state/release"
        echo "release \"taskflow\" uninstalled"
        ;;
    taskflow-doctor:*)
        if [[ ${FAKE_DOCTOR:-} == fail ]]; then
            echo "    FAIL  docker: the Docker daemon is not running. Fix: sudo systemctl start docker"
            echo "doctor: 8 OK, 0 warnings, 1 problem: deploy would stop; fix the FAIL lines above and run the doctor again (nix run .#doctor)."
            exit 1
        fi
        echo "doctor: 9 OK, 0 warnings, 0 problems: deploy can run."
        ;;
    kubectl:*)
        args=" $* "
        # The pods of $FAKE_PODS_JSON whose component the selector names.
        selected_pods() {
            local components=""
            if [[ $args =~ app\.kubernetes\.io/component\ in\ \(([a-z,]+)\) ]]; then
                components=${BASH_REMATCH[1]}
            elif [[ $args =~ app\.kubernetes\.io/component=([a-z]+) ]]; then
                components=${BASH_REMATCH[1]}
            fi
            [[ -n ${FAKE_PODS_JSON:-} ]] || return 0
            jq -r --arg c "$components" '.items[] | select(.metadata.labels["app.kubernetes.io/component"] as $l | $c | split(",") | index($l)) | "\(.metadata.name) \(.spec.containers[0].name)"' "$FAKE_PODS_JSON"
        }
        case $args in
            *" config get-contexts "*)
                if [[ ${FAKE_CONTEXT:-} == missing ]]; then
                    echo "error: context ${3-} not found" >&2
                    exit 1
                fi
                echo "${3-}"
                ;;
            *" config current-context "*)
                echo "${FAKE_CURRENT_CONTEXT:-minikube}"
                ;;
            *" get --raw /readyz "*)
                if [[ ${FAKE_API:-} == fail ]]; then
                    echo "The connection to the server 192.168.49.2:8443 was refused" >&2
                    exit 1
                fi
                if [[ ${FAKE_API:-} == timeout ]]; then
                    echo "Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)" >&2
                    exit 1
                fi
                echo ok
                ;;
            *" get pods "*" -o json "*)
                if [[ -n ${FAKE_PODS_JSON:-} ]]; then
                    cat "$FAKE_PODS_JSON"
                else
                    echo '{"apiVersion": "v1", "kind": "List", "items": []}'
                fi
                ;;
            *" get pods "*" -o name "*)
                selected_pods | sed 's|^\([^ ]*\) .*|pod/\1|'
                ;;
            *" get services "*" -o json "*)
                if [[ ${FAKE_SERVICE:-} == none ]]; then
                    echo '{"items": []}'
                else
                    jq -n --arg type "${FAKE_SERVICE_TYPE:-NodePort}" '{items: [{
                        metadata: {name: "taskflow-frontend"},
                        spec: ({type: $type, ports: [{port: 3000}]}
                            | if $type == "NodePort" then .ports[0].nodePort = 30000 else . end)}]}'
                fi
                ;;
            *" get events "*)
                if [[ -n ${FAKE_EVENTS_JSON:-} ]]; then
                    cat "$FAKE_EVENTS_JSON"
                else
                    echo '{"items": []}'
                fi
                ;;
            *" logs "*)
                if [[ ${FAKE_LOGS:-} == fail ]]; then
                    echo "error: a container name must be specified for pod taskflow-backend-0" >&2
                    exit 1
                fi
                selected_pods | while read -r pod container; do
                    echo "[pod/$pod/$container] {\"level\":\"INFO\",\"message\":\"listening\"}"
                done
                ;;
            *" get pods -o "*)
                if [[ -n ${FAKE_POD_IMAGES:-} ]]; then
                    tr ' ' '\n' <<<"$FAKE_POD_IMAGES"
                else
                    sed 's|^|docker.io/library/|' "$state/pod-images"
                fi
                ;;
            *" get pods "*)
                echo "NAME   READY   STATUS"
                ;;
            *" get services "*)
                [[ ${FAKE_SERVICE:-} == none ]] || printf 'taskflow-frontend'
                ;;
            *" get persistentvolumeclaims "*)
                [[ -z ${FAKE_PVCS:-} ]] || tr ' ' '\n' <<<"$FAKE_PVCS"
                ;;
            *" delete namespace "*)
                case ${FAKE_NS_DELETE:-} in
                    fail)
                        echo "Error from server (Forbidden): namespaces is forbidden" >&2
                        exit 1
                        ;;
                    timeout)
                        echo "error: timed out waiting for the condition on namespaces/taskflow" >&2
                        exit 1
                        ;;
                esac
                echo "namespace \"taskflow\" deleted"
                ;;
        esac
        ;;
esac
