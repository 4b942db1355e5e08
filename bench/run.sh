#!/usr/bin/env bash
# sbx against bubblewrap, firejail and the kernel floor, each number a ratio taken in the same
# run (bench/README.md has the method and the latest table).
#
# Usage: bash bench/run.sh [USER]     as root, from anywhere; USER (default sbx-test) runs the
#                                     unprivileged parts
# Needs: the static release build (cargo build-static, musl), and the Debian packages hyperfine,
# bubblewrap, firejail, lighttpd and wrk (installed here when missing).
# Environment: SBX_BENCH_QUICK=1 (fewer runs, for trying the script), SBX_BENCH_OUT=FILE (the
# table, markdown; default bench/results.md).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
user=${1:-sbx-test}
[ "$(id -u)" = 0 ] || { echo "run as root (the lighttpd part binds as root; USER runs the rest)" >&2; exit 2; }
# The binary README.md tells users to build: statically linked (no program interpreter).
static_sbx=target/$(uname -m)-unknown-linux-musl/release/sbx
if [ ! -x "$static_sbx" ] || readelf -l "$static_sbx" | grep -q 'program interpreter'; then
    echo "build first: cargo build-static ($static_sbx is missing or dynamically linked)" >&2
    exit 2
fi
missing=()
for tool in hyperfine bwrap firejail lighttpd wrk; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    pkgs=$(printf '%s\n' "${missing[@]}" | sed 's/^bwrap$/bubblewrap/' | tr '\n' ' ')
    echo "installing $pkgs" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
fi
out=${SBX_BENCH_OUT:-$repo/bench/results.md}
quick=${SBX_BENCH_QUICK:-0}
runs() { if [ "$quick" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# Binaries, profiles and the web root where the test user and www-data can read them, and
# where no sandbox hides them.
mkdir -p /srv/sbx-bench && work=$(mktemp -d /srv/sbx-bench/run.XXXXXX) # a project directory: not /tmp or /var (WritableWorkingDirectory= refuses them)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
install -m 755 "$static_sbx" "$work/sbx"
printf '[Service]\n' >"$work/bare.conf"
gcc -O2 -o "$work/allow-all" bench/allow_all.c
chmod 644 "$work/bare.conf"
sbx="$work/sbx"
install -d -o "$user" "$work/json" # hyperfine, run as USER, writes its results here
as_user() { setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups env HOME="/home/$user" PATH=/usr/bin:/bin "$@"; }
cd "$work"

# The isolation of `bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp`,
# in sbx's words. Unprivileged, bwrap also sets no_new_privs and empties the bounding set
# (NoNewPrivs: 1, CapBnd: 0 in its payload's /proc/self/status).
equal="-p ProtectSystem=strict -p PrivateDevices=yes -p PrivateTmp=yes -p PrivateNetwork=yes -p PrivateIPC=yes -p ProtectHostname=yes -p NoNewPrivileges=yes -p CapabilityBoundingSet="

# hyperfine's JSON → "name<TAB>median ms<TAB>stddev ms" lines.
medians() {
    python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%s\t%.2f\t%.2f" % (r["command"], 1000 * r["median"], 1000 * r["stddev"]))
' "$1"
}

echo "== 1-2. start-up of /bin/true, as $user" >&2
# hyperfine times one command's runs as a block, and this machine drifts between blocks; so
# the runs are split into rounds, each running every command (in a rotated order), and the
# medians are taken over all rounds' runs.
startup=(
    "bwrap, isolation as below" "bwrap --unshare-all --die-with-parent --new-session --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp -- /bin/true"
    "sbx, equal isolation" "$sbx run --profile $work/bare.conf $equal -- /bin/true"
    "firejail --noprofile" "firejail --quiet --noprofile /bin/true"
    "kernel floor: unshare -Urmpfiun --mount-proc" "unshare -Urmpfiun --mount-proc /bin/true"
    "sbx, default profile" "$sbx run -- /bin/true"
    "sbx, strict profile" "$sbx run --profile strict -- /bin/true"
)
n_cmds=$((${#startup[@]} / 2))
rounds=$(runs 10 2)
for round in $(seq 0 $((rounds - 1))); do
    args=()
    for i in $(seq 0 $((n_cmds - 1))); do
        k=$(((i + round) % n_cmds))
        args+=(-n "${startup[2 * k]}" "${startup[2 * k + 1]}")
    done
    as_user hyperfine -N --warmup 5 --runs 30 --export-json "$work/json/startup-$round.json" "${args[@]}" >&2
done
echo "== 3. syscall-heavy loop (dd, 1,000,000 one-byte read+write pairs), as $user" >&2
loop="dd if=/dev/zero of=/dev/null bs=1 count=1000000 status=none"
as_user hyperfine -N --warmup 2 --runs "$(runs 15 3)" --export-json "$work/json/syscalls.json" \
    -n "no sandbox" "$loop" \
    -n "no sandbox, a 1-instruction allow-all seccomp filter" "$work/allow-all $loop" \
    -n "sbx, no syscall filter directive" "$sbx run --profile $work/bare.conf -- $loop" \
    -n "sbx, strict profile" "$sbx run --profile strict -- $loop" >&2

echo "== 4. lighttpd serving a small page, wrk on loopback, as root" >&2
mkdir -p "$work/www"
head -c 4096 /dev/urandom | base64 >"$work/www/index.html"
chmod -R a+rX "$work/www"
port=18089
cat >"$work/lighttpd.conf" <<EOF
server.document-root = "$work/www"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "/run/lighttpd/lighttpd.pid"
server.errorlog = "/var/log/lighttpd/error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
EOF
chmod 644 "$work/lighttpd.conf"
install -d -o www-data -g www-data /var/log/lighttpd
serve() { # $1: bare|sbx → requests/s of one wrk run
    local pid
    if [ "$1" = sbx ]; then
        "$sbx" run --profile web -p PrivateNetwork=no -- /usr/sbin/lighttpd -D -f "$work/lighttpd.conf" >&2 &
    else
        install -d -o www-data -g www-data /run/lighttpd
        /usr/sbin/lighttpd -D -f "$work/lighttpd.conf" >&2 &
    fi
    pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    wrk -t2 -c32 -d"$(runs 8s 2s)" "http://127.0.0.1:$port/index.html" | awk '/Requests\/sec/ {print $2}'
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    [ "$1" = sbx ] || rm -rf /run/lighttpd
}
bare_rps=()
sbx_rps=()
for _ in $(seq "$(runs 5 1)"); do # alternating, so drift hits both alike
    bare_rps+=("$(serve bare)")
    sbx_rps+=("$(serve sbx)")
done

echo "== 5. sbx's own memory while the payload runs (strict profile, as $user)" >&2
as_user "$sbx" run --profile strict -- /bin/sleep 3 &
runner=$!
sleep 1.5
# sbx's processes below the job: the monitor, then pid 1 of the sandbox (its child).
children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
mem_pids=""
todo=$runner
while [ -n "$todo" ]; do
    next=""
    for p in $todo; do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sbx ] && mem_pids="$mem_pids $p"
        next="$next $(children "$p")"
    done
    todo=$(echo $next)
done
mem_lines=()
for p in $mem_pids; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status")
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status")
    pss=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")
    anon=$(awk '/^RssAnon/ {print $2}' "/proc/$p/status")
    mem_lines+=("$p $rss $hwm $pss $anon")
done
wait "$runner"

python3 - "$work" "$out" "${bare_rps[*]}" "${sbx_rps[*]}" "${mem_lines[@]}" <<'EOF'
import json, os, platform, statistics, subprocess, sys
work, out, bare, sbx, *mem = sys.argv[1:]
def load(name):
    return {r["command"]: r for r in json.load(open(os.path.join(work, "json", name)))["results"]}
def ms(r):
    return 1000 * r["median"]
lines = []
w = lines.append
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
w(f"Machine: {os.cpu_count()} CPUs ({cpu}), kernel {platform.release()}, "
  f"{subprocess.run(['hyperfine', '--version'], capture_output=True, text=True).stdout.strip()}.")
w("")
# Start-up: every round's runs of a command pooled, in the order the commands were listed.
rounds = sorted((f for f in os.listdir(os.path.join(work, "json")) if f.startswith("startup-")),
                key=lambda f: int(f[len("startup-"):-len(".json")]))
times = {}  # round 0 runs the commands in the listed order
for f in rounds:
    for name, r in load(f).items():
        times.setdefault(name, []).extend(r["times"])
s = {name: {"median": statistics.median(t), "stddev": statistics.stdev(t)} for name, t in times.items()}
bw = ms(s["bwrap, isolation as below"])
floor = ms(s["kernel floor: unshare -Urmpfiun --mount-proc"])
w(f"| start-up of /bin/true (unprivileged; {len(rounds)} rounds of 30 runs) | median ms | ± ms | vs bwrap | vs floor |")
w("|---|---:|---:|---:|---:|")
for name, r in s.items():
    w(f"| {name} | {ms(r):.2f} | {1000 * r['stddev']:.2f} | {ms(r) / bw:.2f}× | {ms(r) / floor:.2f}× |")
w("")
y = load("syscalls.json")
base = ms(y["no sandbox"])
w("| 1,000,000 read+write pairs (dd) | median ms | ± ms | vs no sandbox |")
w("|---|---:|---:|---:|")
for name, r in y.items():
    w(f"| {name} | {ms(r):.0f} | {1000 * r['stddev']:.0f} | {ms(r) / base:.3f}× |")
strict, nofilter = ms(y["sbx, strict profile"]), ms(y["sbx, no syscall filter directive"])
allow = ms(y["no sandbox, a 1-instruction allow-all seccomp filter"])
w("")
w(f"Syscall filter: the strict profile against no sandbox {100 * (strict / base - 1):+.1f} %; "
  f"of that, any seccomp filter at all (allow-all, 1 instruction) {100 * (allow / base - 1):+.1f} %, "
  f"and the strict profile's filter against sbx's baseline one {100 * (strict / nofilter - 1):+.1f} %.")
w("")
b = [float(x) for x in bare.split()]
x = [float(v) for v in sbx.split()]
w("| lighttpd, wrk -t2 -c32 on loopback | requests/s (median of runs) | runs |")
w("|---|---:|---|")
w(f"| bare | {statistics.median(b):.0f} | {', '.join(f'{v:.0f}' for v in b)} |")
w(f"| sbx, web profile | {statistics.median(x):.0f} | {', '.join(f'{v:.0f}' for v in x)} |")
w("")
# Each round runs bare then sbx back to back, so a round's ratio sees the same machine state;
# the median of those ratios is the number (the ratio of the two medians is shown too).
paired = statistics.median(xs / bs for xs, bs in zip(x, b))
w(f"lighttpd under sbx / bare: {paired:.3f}× (median of the rounds' ratios; ratio of the medians "
  f"{statistics.median(x) / statistics.median(b):.3f}×).")
w("")
w("Sampled 1.5 s into a 3 s payload. VmRSS is what is resident while the payload runs (the target);")
w("VmHWM is the peak over the process's life, planning included (sbx drops the mappings of code it")
w("no longer runs 100 ms into the payload's run); RssAnon is the private memory.")
w("")
w("| sbx's own processes (strict, payload sleeping) | VmRSS KiB | VmHWM KiB | Pss KiB | RssAnon KiB |")
w("|---|---:|---:|---:|---:|")
names = ["monitor (sbx)", "pid 1 of the sandbox"]
tot = [0, 0, 0, 0]
for i, m in enumerate(mem):
    pid, *vals = m.split()
    tot = [t + int(v) for t, v in zip(tot, vals)]
    w(f"| {names[i] if i < 2 else pid} | {' | '.join(vals)} |")
w(f"| together | {' | '.join(str(t) for t in tot)} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
echo "(written to $out)" >&2
