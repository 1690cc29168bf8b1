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
        if [[ -e $state/running ]]; then
            echo "host: Running"
            exit 0
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
    kubectl:*)
        args=" $* "
        case $args in
            *" get --raw /readyz "*)
                if [[ ${FAKE_API:-} == fail ]]; then
                    echo "The connection to the server 192.168.49.2:8443 was refused" >&2
                    exit 1
                fi
                echo ok
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
