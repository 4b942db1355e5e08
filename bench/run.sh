#!/usr/bin/env bash
# Start-up and syscall-filter benchmarks against bubblewrap, as an unprivileged user.
# Usage: bash bench/run.sh [USER]   (run as root; USER defaults to sbx-test)
# Needs: hyperfine, bubblewrap (Debian packages), a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
user=${1:-sbx-test}
bin=$(mktemp -d /tmp/sbx-bench.XXXXXX)
cp target/release/sbx "$bin/sbx"
chmod 755 "$bin/sbx"
chmod 1777 "$bin"
bare="$bin/bare.conf"
printf '[Service]\n' > "$bare"
chmod 644 "$bare"
as_user() { setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups env HOME="/home/$user" "$@"; }
cd /tmp
sbx="$bin/sbx"
equal="-p ProtectSystem=strict -p PrivateDevices=yes -p PrivateTmp=yes -p PrivateNetwork=yes -p PrivateIPC=yes -p ProtectHostname=yes"
echo "== start-up, /bin/true (as $user)"
as_user hyperfine -N --warmup 20 --runs 300 --export-markdown "$bin/startup.md" \
  -n "bwrap (equal isolation)" "bwrap --unshare-all --die-with-parent --new-session --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp -- /bin/true" \
  -n "sbx (equal isolation)" "$sbx run --profile $bare $equal -- /bin/true" \
  -n "sbx default profile" "$sbx run -- /bin/true" \
  -n "sbx strict profile" "$sbx run --profile strict -- /bin/true" \
  -n "kernel floor (unshare)" "unshare -Urmpfiun --mount-proc /bin/true"
echo "== syscall-heavy loop: dd 1-byte copies, 1,000,000 read+write pairs"
loop="dd if=/dev/zero of=/dev/null bs=1 count=1000000 status=none"
as_user hyperfine -N --warmup 2 --runs 15 --export-markdown "$bin/syscalls.md" \
  -n "no sandbox" "$loop" \
  -n "sbx, no syscall policy" "$sbx run --profile $bare -- $loop" \
  -n "sbx strict profile" "$sbx run --profile strict -- $loop"
cat "$bin/startup.md" "$bin/syscalls.md"
rm -rf "$bin"
