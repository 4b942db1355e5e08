# The VM side of tests/vm/run.sh, run as root by virtme-ng's init once the VM has booted; not
# a program of its own: run.sh puts the caller's SBX_*/RUST_* variables and `cmd=(...)` in
# front of it. It prepares what the tests expect of a cgroup v2 host, then runs "${cmd[@]}".

fail() {
    echo "vm: error: $*" >&2
    exit 125
}

cg=/sys/fs/cgroup
user=${SBX_TEST_USER:-sbx-test}

# virtme-ng's init mounts cgroup2 at /sys/fs/cgroup (a pure v2 hierarchy, no v1 controllers).
[ "$(stat -f -c %T "$cg" 2>/dev/null)" = cgroup2fs ] || fail "$cg is not a cgroup2 mount: $(grep cgroup /proc/mounts)"

# Controllers for the children of the root, as systemd enables them.
wanted=
for c in cpuset cpu io memory pids; do
    if grep -qw "$c" "$cg/cgroup.controllers"; then
        wanted="$wanted +$c"
    fi
done
echo "${wanted# }" >"$cg/cgroup.subtree_control" || fail "cannot enable$wanted in $cg/cgroup.subtree_control"

# A subtree delegated to the test user, as systemd's Delegate=yes makes one: the directory and
# the files that move processes and enable controllers belong to the user; the controllers are
# available in it (enabled in the parent) and enabling them inside is the delegatee's business.
id "$user" >/dev/null 2>&1 || fail "no user $user in the VM (it shares the host's /etc/passwd: create it there)"
delegate=$cg/$user-user
mkdir -p "$delegate"
for f in "" /cgroup.procs /cgroup.threads /cgroup.subtree_control; do
    chown "$user:" "$delegate$f" || fail "chown $delegate$f"
done
export SBX_TEST_CGROUP_DELEGATE=$delegate

# The harness stages sbx and the probe in /var/lib/sbx-tests and executes them from there
# hundreds of times: 9p caches nothing, so run them from memory (the suite is ~20% faster).
mkdir -p /var/lib/sbx-tests
mount -t tmpfs -o mode=0755 sbx-tests /var/lib/sbx-tests || fail "cannot mount a tmpfs on /var/lib/sbx-tests"
# The scratch directories (/srv/sbx-tests) on ext4 in memory: strict's working directory is an
# idmapped mount as root (HostRoot=no), which tmpfs supports only from Linux 6.3 and the
# overlay on /srv not at all.
mkdir -p /srv/sbx-tests
img=/var/lib/sbx-tests/scratch.img
# (mount does not load the loop driver by itself: without /dev/loop* it fails with EPERM.)
modprobe loop && truncate -s 1G "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" /srv/sbx-tests ||
    fail "cannot mount an ext4 image on /srv/sbx-tests"
chmod 755 /srv/sbx-tests

# A network interface besides lo, as every real host has: the tests compare a private
# network's /sys/class/net with the host's.
modprobe dummy && ip link add sbx-dummy0 type dummy || fail "cannot add a dummy network interface"

# Who we are and what the tests may expect of this kernel.
export SBX_VM_KERNEL=$(uname -r)
export SBX_TEST_FEATURES=${SBX_TEST_FEATURES:+$SBX_TEST_FEATURES,}cgroup2
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

echo "vm: kernel $SBX_VM_KERNEL up after $(cut -d' ' -f1 /proc/uptime)s;" \
    "cgroup controllers: $(cat "$cg/cgroup.subtree_control"); delegated: $delegate to $user" >&2

"${cmd[@]}"
