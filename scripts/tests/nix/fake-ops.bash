#!/usr/bin/env bash
#
# fake-ops.bash - stands in for the machine's own tools that the doctor app
# (nix/apps/doctor.sh) asks about: nix, docker, podman, virsh, free, df, nproc, sysctl and
# qemu-system-<cpu>. Linked under those names next to the fakes of fake-cluster.bash; it
# appends every call, as "<tool> <args...>", to $FAKE_LOG and answers as told:
#
#   FAKE_NIX_VERSION="nix (Nix) 2.31.2"   what `nix --version` prints
#   FAKE_NIX_FEATURES="flakes nix-command" what `nix config show experimental-features` prints
#   FAKE_NIX_CONFIG=fail                  `nix config show` fails
#   FAKE_DOCKER=down|denied|hang          the Docker daemon is not running, refuses this
#                                         user, or does not answer (default: answers, 28.5.1)
#   FAKE_PODMAN=fail|hang                 `podman info` fails or hangs (default: 5.6.2)
#   FAKE_VIRSH=nokvm|denied|down|hang     KVM not usable, libvirt refuses this user, libvirtd
#                                         not running, no answer (default: all fine)
#   FAKE_MEM="16000 12000"                `free -m`: total and available MB
#   FAKE_DISK_MB=50000                    `df -Pk`: free space in MB
#   FAKE_NPROC=4                          `nproc`
#   FAKE_MEMSIZE=17179869184              `sysctl -n hw.memsize` (macOS), bytes
# "hang" replaces the process with a long sleep, for the callers' timeouts to end.

set -euo pipefail

tool=${0##*/}
{
    printf '%s' "$tool"
    (($# == 0)) || printf ' %s' "$@"
    echo
} >>"$FAKE_LOG"

hang() {
    exec sleep 60
}

case $tool in
    nix)
        case " $* " in
            *" --version "*)
                echo "${FAKE_NIX_VERSION:-nix (Nix) 2.31.2}"
                ;;
            *" config show "*)
                if [[ ${FAKE_NIX_CONFIG:-} == fail ]]; then
                    echo "error: unrecognised flag '--extra-experimental-features'" >&2
                    exit 1
                fi
                echo "${FAKE_NIX_FEATURES-flakes nix-command}"
                ;;
        esac
        ;;
    docker)
        case ${FAKE_DOCKER:-} in
            down)
                echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
                exit 1
                ;;
            denied)
                echo "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock" >&2
                exit 1
                ;;
            hang) hang ;;
        esac
        echo "28.5.1"
        ;;
    podman)
        case ${FAKE_PODMAN:-} in
            fail)
                echo "Error: cannot connect to Podman. Please verify your connection to the Linux system using \`podman system connection list\`" >&2
                exit 125
                ;;
            hang) hang ;;
        esac
        echo "5.6.2"
        ;;
    virsh)
        case ${FAKE_VIRSH:-} in
            nokvm)
                echo "error: invalid argument: KVM is not supported by '/usr/bin/qemu-system-x86_64' on this host" >&2
                exit 1
                ;;
            denied)
                echo "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Permission denied" >&2
                exit 1
                ;;
            down)
                echo "error: failed to connect to the hypervisor: Failed to connect socket to '/var/run/libvirt/virtqemud-sock': No such file or directory" >&2
                exit 1
                ;;
            hang) hang ;;
        esac
        echo "<domainCapabilities><domain>kvm</domain></domainCapabilities>"
        ;;
    free)
        read -r total available <<<"${FAKE_MEM:-16000 12000}"
        echo "               total        used        free      shared  buff/cache   available"
        echo "Mem:  $total 3000 1000 100 4000 $available"
        echo "Swap:  2047 0 2047"
        ;;
    df)
        echo "Filesystem     1024-blocks      Used Available Capacity Mounted on"
        echo "/dev/sda1        102400000  40000000 $((${FAKE_DISK_MB:-50000} * 1024))      44% /"
        ;;
    nproc)
        echo "${FAKE_NPROC:-4}"
        ;;
    sysctl)
        echo "${FAKE_MEMSIZE:-17179869184}"
        ;;
    qemu-system-*) ;;
esac
