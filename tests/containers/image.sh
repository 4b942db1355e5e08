#!/usr/bin/env bash
# Builds the image the container tests run (tests/containers.rs) without a registry: a root
# filesystem holding sbx, the probe, bubblewrap (the peer measured beside sbx), busybox-static
# for a shell and the usual tools, and the shared libraries the dynamic binaries link, then
# imports it into each engine named on the command line.
#
#   tests/containers/image.sh SBX PROBE TAG ENGINE...
#
# ENGINE: `docker`, `podman` (root's storage) or `podman-as:USER` (USER's rootless storage).
# Prints one line per engine; exits 1 when any import failed (the others are still imported).
#
# Layout inside: /sbx, /probe, /usr/bin/bwrap, /bin/busybox and its applets in /bin, the
# libraries at the paths ldd names, /etc/passwd with root and `user` (uid 1000, home
# /home/user, holding a file `secret`, as /root does), /tmp, /var/tmp and /work (mode 1777),
# /proc, /sys, /dev, /run.
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: $0 SBX PROBE TAG ENGINE..." >&2
    exit 2
fi
sbx=$1 probe=$2 tag=$3
shift 3

busybox=/bin/busybox
bwrap=/usr/bin/bwrap
for f in "$sbx" "$probe" "$busybox" "$bwrap"; do
    [ -x "$f" ] || { echo "image: $f is missing (install busybox-static and bubblewrap)" >&2; exit 2; }
done
if ldd "$busybox" >/dev/null 2>&1; then
    echo "image: $busybox is not a static busybox (install busybox-static)" >&2
    exit 2
fi

work=$(mktemp -d /var/tmp/sbx-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
umask 022
mkdir -p "$root"/{bin,etc,proc,sys,dev,run,root,home/user,usr/bin,tmp,var/tmp,work}
chmod 1777 "$root/tmp" "$root/var/tmp" "$root/work"
chmod 0700 "$root/root"
# Something for the escape battery to find in the home directories.
echo secret >"$root/home/user/secret"
echo secret >"$root/root/secret"
chown -R 1000:1000 "$root/home/user"

# The binaries, stripped (debug builds carry ~40 MB of debug information).
install -m 0755 "$sbx" "$root/sbx"
install -m 0755 "$probe" "$root/probe"
install -m 0755 "$bwrap" "$root/usr/bin/bwrap"
strip "$root/sbx" "$root/probe" 2>/dev/null || true

# Their libraries and the loader, at the paths the binaries look for them.
for bin in "$sbx" "$probe" "$bwrap"; do
    ldd "$bin" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }'
done | sort -u | while read -r lib; do
    dest=$root$lib
    mkdir -p "$(dirname "$dest")"
    cp -L "$lib" "$dest"
done

install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP

tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
chmod 0644 "$work/rootfs.tar"
chmod 0755 "$work"

status=0
for engine in "$@"; do
    case $engine in
        docker) cmd=(docker import "$work/rootfs.tar" "$tag") ;;
        podman) cmd=(podman import "$work/rootfs.tar" "$tag") ;;
        podman-as:*)
            user=${engine#podman-as:}
            uid=$(id -u "$user")
            cmd=(setpriv "--reuid=$uid" "--regid=$(id -g "$user")" --init-groups
                env -i "HOME=$(getent passwd "$user" | cut -d: -f6)" "XDG_RUNTIME_DIR=/run/user/$uid"
                PATH=/usr/local/bin:/usr/bin:/bin podman import "$work/rootfs.tar" "$tag")
            ;;
        *) echo "image: unknown engine $engine" >&2; status=1; continue ;;
    esac
    if out=$(cd / && "${cmd[@]}" 2>&1); then
        echo "image: $engine: imported $tag"
    else
        echo "image: $engine: import failed: $out" >&2
        status=1
    fi
done
exit $status
