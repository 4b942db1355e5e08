#!/usr/bin/env bash
# Installs what the VM test tier (tests/vm/run.sh) needs on a Debian 12 machine, as root, and
# says what it installed. Idempotent: a second run installs nothing and takes a second.
#
#   - qemu-system-x86: the emulator (software emulation: nested KVM hangs on these machines);
#   - linux-image-amd64 (6.1) and linux-image-6.12-amd64 (6.12, from bookworm-security): the
#     kernels the tier boots, with their modules in /lib/modules (virtme-ng loads 9p and virtio
#     from there). The host keeps booting whatever it booted; nothing here changes that.
#   - busybox-static: virtme-ng builds an initramfs with it (Debian's kernels have 9p and
#     virtio-serial as modules, so the guest needs one);
#   - udev: virtme-ng's init runs udevd in the guest to create /dev/virtio-ports/*, through
#     which the command's output and exit status come back; without it the VM ends with 255;
#   - python3-venv and virtme-ng (PyPI, pinned) in /opt/sbx-vm/venv, so Debian's python stays
#     untouched: vng and virtme-run are in /opt/sbx-vm/venv/bin.
set -euo pipefail

VIRTME_NG_VERSION=1.42
VENV=/opt/sbx-vm/venv
PACKAGES=(qemu-system-x86 busybox-static udev kmod python3-venv linux-image-amd64 linux-image-6.12-amd64)

if [ "$(id -u)" != 0 ]; then
    echo "error: $0 must run as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

installed() {
    dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    # Keep maintainer scripts (udev's) from starting services on the host.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    if ! apt-cache show linux-image-6.12-amd64 >/dev/null 2>&1; then
        echo "error: apt finds no linux-image-6.12-amd64: it comes from bookworm-security" \
            "(deb.debian.org/debian-security bookworm-security main); add that suite" >&2
        exit 1
    fi
    # The VM builds its own initramfs: skip the kernels' (INITRD=No; the trigger still makes
    # one for the newest kernel).
    INITRD=No apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/sbx-vm-setup-apt.log 2>&1 || {
        tail -n 30 /tmp/sbx-vm-setup-apt.log >&2
        echo "error: apt-get install ${missing[*]} failed (log: /tmp/sbx-vm-setup-apt.log)" >&2
        exit 1
    }
    echo "vm setup: installed ${missing[*]}"
else
    echo "vm setup: packages already installed: ${PACKAGES[*]}"
fi

have=$("$VENV/bin/vng" --version 2>/dev/null || true)
if [ "${have##* }" != "$VIRTME_NG_VERSION" ]; then
    [ -x "$VENV/bin/python3" ] || /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "virtme-ng==$VIRTME_NG_VERSION"
    echo "vm setup: installed virtme-ng $VIRTME_NG_VERSION in $VENV"
else
    echo "vm setup: virtme-ng $VIRTME_NG_VERSION already in $VENV"
fi

for p in qemu-system-x86 linux-image-amd64 linux-image-6.12-amd64; do
    echo "  $p $(dpkg-query -W -f='${Version}' "$p")"
done
echo "  kernels:" $(cd /boot && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V)
