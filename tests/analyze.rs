//! `sbx analyze` against `systemd-analyze security --offline=true` (systemd 252).
//!
//! Each case is a few directive lines, written twice into a temp dir: as a unit file for
//! systemd (with an `ExecStart=`) and as an sbx profile (a drop-in with the same lines). The
//! cases flip every scored check at least once, mostly one directive at a time, and include
//! the shipped profiles as units. For every case, sbx's overall exposure and verdict, and each
//! check's exposure, set mark, weight, badness and range, must equal systemd's (the last three
//! from systemd's debug table, `SYSTEMD_ANALYZE_DEBUG=1`). Without systemd-analyze 252 the
//! comparison is skipped with a printed reason; the "here" column tests need no systemd.
//! Nothing here needs root.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SBX: &str = env!("CARGO_BIN_EXE_sbx");

/// A check as one tool reports it: set mark, exposure, weight, badness, range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Row {
    set: Option<bool>,
    exposure: Option<String>,
    wbr: Option<(u64, Option<u64>, u64)>,
}

struct Scores {
    overall: String,
    rows: BTreeMap<String, Row>,
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("sbx-analyze-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        fs::write(&path, text).expect("write test file");
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Whether systemd-analyze 252 is here; otherwise says why the comparison is skipped.
fn have_systemd_252() -> bool {
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_string();
            if version.starts_with("systemd 252 ") {
                return true;
            }
            println!("skip: {version} is installed; sbx scores as systemd 252 does");
        }
        _ => println!("skip: systemd-analyze is not installed (apt-get install systemd); not comparing"),
    }
    false
}

fn systemd_analyze(unit: &str, args: &[&str], debug: bool) -> String {
    let mut cmd = Command::new("systemd-analyze");
    cmd.args(["security", "--offline=true", "--no-pager"]).args(args).arg(unit);
    cmd.env("SYSTEMD_COLORS", "0").env("SYSTEMD_PAGER", "");
    if debug {
        cmd.env("SYSTEMD_ANALYZE_DEBUG", "1");
    }
    let out = cmd.output().expect("run systemd-analyze");
    assert!(out.status.success(), "systemd-analyze {unit}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn systemd_scores(unit: &str) -> Scores {
    let json: Value = serde_json::from_str(&systemd_analyze(unit, &["--json=short"], false)).expect("systemd JSON");
    let mut rows = BTreeMap::new();
    for r in json.as_array().expect("an array of checks") {
        let row = Row { set: r["set"].as_bool(), exposure: r["exposure"].as_str().map(str::to_string), wbr: None };
        rows.insert(r["name"].as_str().unwrap_or_default().to_string(), row);
    }
    let table = systemd_analyze(unit, &[], true);
    let mut overall = String::new();
    for line in table.lines().skip(1) {
        if let Some((_, tail)) = line.split_once("Overall exposure level for ") {
            let words: Vec<&str> = tail.split_whitespace().collect();
            overall = format!("{} {}", words[1], words[2]);
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().filter(|w| *w != "✓" && *w != "✗").collect();
        let Some(name) = words.first() else { continue };
        let mut nums: Vec<&str> = words.iter().rev().copied().take(4).collect();
        if nums[0].contains('.') {
            nums.remove(0);
        }
        let parse = |s: &str| s.parse::<u64>().expect("a number in the debug table");
        let badness = Some(parse(nums[1])).filter(|b| *b != u64::MAX);
        if let Some(row) = rows.get_mut(*name) {
            row.wbr = Some((parse(nums[2]), badness, parse(nums[0])));
        }
    }
    Scores { overall, rows }
}

fn sbx_json(profile: &str, extra: &[&str]) -> Value {
    sbx_analyze(&["--profile", profile], extra)
}

fn sbx_analyze(what: &[&str], extra: &[&str]) -> Value {
    let out = Command::new(SBX).args(["analyze", "--json"]).args(what).args(extra).output().expect("run sbx analyze");
    assert!(out.status.success(), "sbx analyze {what:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("sbx JSON")
}

/// `what`: `--profile PATH` or `--unit PATH`.
fn sbx_scores(what: &[&str]) -> Scores {
    let json = sbx_analyze(what, &[]);
    let mut rows = BTreeMap::new();
    for r in json["checks"].as_array().expect("checks") {
        let n = |k: &str| r[k].as_u64();
        let row = Row {
            set: r["set"].as_bool(),
            exposure: r["exposure"].as_str().map(str::to_string),
            wbr: Some((n("weight").unwrap_or(0), n("badness"), n("range").unwrap_or(0))),
        };
        rows.insert(r["name"].as_str().unwrap_or_default().to_string(), row);
    }
    let overall = format!("{} {}", json["exposure"].as_str().unwrap_or(""), json["verdict"].as_str().unwrap_or(""));
    Scores { overall, rows }
}

/// Differences between sbx and systemd for one unit/profile pair, as readable lines, and
/// systemd's scores (for coverage).
fn compare(case: &str, unit: &str, sbx_args: &[&str]) -> (Vec<String>, Scores) {
    let want = systemd_scores(unit);
    let got = sbx_scores(sbx_args);
    let mut diffs = Vec::new();
    if want.overall != got.overall {
        diffs.push(format!("{case}: overall: systemd {} sbx {}", want.overall, got.overall));
    }
    if want.rows.len() != got.rows.len() {
        diffs.push(format!("{case}: {} checks in systemd, {} in sbx", want.rows.len(), got.rows.len()));
    }
    for (name, w) in &want.rows {
        match got.rows.get(name) {
            None => diffs.push(format!("{case}: sbx lacks {name}")),
            Some(g) if g != w => diffs.push(format!("{case}: {name}: systemd {w:?} sbx {g:?}")),
            Some(_) => {}
        }
    }
    (diffs, want)
}

/// Writes each case as a unit and a profile, compares, and returns the differences and
/// the checks whose badness some case changed from the first case's.
fn compare_cases(tag: &str, cases: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let dir = TempDir::new(tag);
    let mut diffs = Vec::new();
    let mut base: Option<Scores> = None;
    let mut flipped = std::collections::BTreeSet::new();
    for (name, lines) in cases {
        let unit = dir.write(&format!("{name}.service"), &format!("[Service]\nExecStart=/bin/true\n{lines}\n"));
        let profile = dir.write(&format!("{name}.conf"), &format!("[Service]\n{lines}\n"));
        let (d, want) = compare(name, &unit, &["--profile", &profile]);
        diffs.extend(d);
        match &base {
            None => base = Some(want),
            Some(b) => {
                flipped.extend(want.rows.iter().filter(|(k, r)| b.rows.get(*k) != Some(r)).map(|(k, _)| k.clone()))
            }
        }
    }
    let unflipped = base.map_or_else(Vec::new, |b| b.rows.into_keys().filter(|k| !flipped.contains(k)).collect());
    (diffs, unflipped)
}

/// Directive lines per case; `[Unit]` lines may follow a header of their own.
const CASES: &[(&str, &str)] = &[
    ("bare", ""),
    ("user", "User=www-data"),
    ("user-nobody", "User=nobody"),
    ("user-root", "User=root"),
    ("dynamic-user", "DynamicUser=yes"),
    ("dynamic-user-home", "DynamicUser=yes\nProtectHome=tmpfs\nProtectSystem=full"),
    ("groups", "User=www-data\nSupplementaryGroups=adm"),
    ("remove-ipc", "User=www-data\nRemoveIPC=yes"),
    ("private-devices", "PrivateDevices=yes"),
    ("private-mounts", "PrivateMounts=yes"),
    ("private-network", "PrivateNetwork=yes"),
    ("private-tmp", "PrivateTmp=yes"),
    ("private-users", "PrivateUsers=yes"),
    ("protect-cgroups", "ProtectControlGroups=yes"),
    ("protect-modules", "ProtectKernelModules=yes"),
    ("protect-tunables", "ProtectKernelTunables=yes"),
    ("protect-logs", "ProtectKernelLogs=yes"),
    ("protect-clock", "ProtectClock=yes"),
    ("protect-home-yes", "ProtectHome=yes"),
    ("protect-home-ro", "ProtectHome=read-only"),
    ("protect-home-tmpfs", "ProtectHome=tmpfs"),
    ("protect-hostname", "ProtectHostname=yes"),
    ("protect-system-yes", "ProtectSystem=yes"),
    ("protect-system-full", "ProtectSystem=full"),
    ("protect-system-strict", "ProtectSystem=strict"),
    ("root-directory", "RootDirectory=/srv"),
    ("root-image", "RootImage=/srv/disk.img"),
    ("lock-personality", "LockPersonality=yes"),
    ("mdwe", "MemoryDenyWriteExecute=yes"),
    ("nnp", "NoNewPrivileges=yes"),
    ("caps-none", "CapabilityBoundingSet="),
    ("caps-bind", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"),
    ("caps-minus-admin", "CapabilityBoundingSet=~CAP_SYS_ADMIN CAP_SETUID CAP_SYS_PTRACE CAP_KILL CAP_BPF"),
    ("caps-minus-audit", "CapabilityBoundingSet=~CAP_AUDIT_READ CAP_MAC_ADMIN CAP_SYS_NICE"),
    ("caps-or", "CapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=CAP_KILL"),
    ("ambient", "AmbientCapabilities=CAP_NET_BIND_SERVICE"),
    ("umask-0077", "UMask=0077"),
    ("umask-0027", "UMask=0027"),
    ("umask-0007", "UMask=0007"),
    ("umask-0000", "UMask=0000"),
    ("keyring-shared", "KeyringMode=shared"),
    ("keyring-inherit", "KeyringMode=inherit"),
    ("protect-proc-invisible", "ProtectProc=invisible"),
    ("protect-proc-noaccess", "ProtectProc=noaccess"),
    ("proc-subset", "ProcSubset=pid"),
    ("notify-all", "NotifyAccess=all"),
    ("delegate", "Delegate=yes"),
    ("realtime", "RestrictRealtime=yes"),
    ("suid", "RestrictSUIDSGID=yes"),
    ("ns-all", "RestrictNamespaces=yes"),
    ("ns-some", "RestrictNamespaces=net ipc"),
    ("ns-deny-user", "RestrictNamespaces=~user mnt\nRestrictNamespaces=~cgroup"),
    ("ns-undo", "RestrictNamespaces=~net\nRestrictNamespaces=net"),
    ("af-none", "RestrictAddressFamilies=none"),
    ("af-unix", "RestrictAddressFamilies=AF_UNIX"),
    ("af-inet", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"),
    ("af-deny-packet", "RestrictAddressFamilies=~AF_PACKET AF_NETLINK"),
    ("af-deny-exotic", "RestrictAddressFamilies=~AF_BLUETOOTH"),
    ("af-undo", "RestrictAddressFamilies=AF_UNIX\nRestrictAddressFamilies=~AF_UNIX"),
    ("af-none-then-deny", "RestrictAddressFamilies=none\nRestrictAddressFamilies=~AF_UNIX"),
    ("archs-native", "SystemCallArchitectures=native"),
    ("archs-named", "SystemCallArchitectures=x86-64"),
    ("archs-two", "SystemCallArchitectures=native x86"),
    ("filter-service", "SystemCallFilter=@system-service"),
    ("filter-service-minus", "SystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources"),
    ("filter-service-clock", "SystemCallFilter=@system-service @clock"),
    ("filter-deny-mount", "SystemCallFilter=~@mount"),
    (
        "filter-deny-all",
        "SystemCallFilter=~@clock @cpu-emulation @debug @module @mount @obsolete @privileged @raw-io @reboot @resources @swap",
    ),
    ("filter-deny-undo", "SystemCallFilter=~@swap\nSystemCallFilter=swapoff"),
    ("filter-allow-few", "SystemCallFilter=read write"),
    ("ip-deny", "IPAddressDeny=any"),
    ("ip-localhost", "IPAddressDeny=any\nIPAddressAllow=localhost"),
    ("ip-other", "IPAddressDeny=any\nIPAddressAllow=10.0.0.0/8"),
    ("devices-closed", "DevicePolicy=closed"),
    ("devices-some", "DevicePolicy=strict\nDeviceAllow=/dev/null rw"),
    ("devices-clock", "PrivateDevices=yes\nProtectClock=yes"),
    ("early-boot", "[Unit]\nDefaultDependencies=no"),
];

#[test]
fn analyze_equals_systemd_for_each_directive() {
    if !have_systemd_252() {
        return;
    }
    let (diffs, unflipped) = compare_cases("cases", CASES);
    assert!(diffs.is_empty(), "sbx and systemd differ:\n{}", diffs.join("\n"));
    assert!(unflipped.is_empty(), "no case changes these checks: {unflipped:?}");
}

/// Profiles whose exposure sits on each side of systemd's verdict boundaries (found by
/// searching random profiles with sbx, then confirmed with systemd-analyze).
const BOUNDARIES: &[(&str, &str)] = &[
    (
        "safe-0.9",
        "RootDirectory=/srv\nSystemCallArchitectures=native\nCapabilityBoundingSet=\nMemoryDenyWriteExecute=yes\nRestrictNamespaces=yes\nRestrictSUIDSGID=yes\nDevicePolicy=closed\nPrivateDevices=yes\nProtectKernelTunables=yes\nNoNewPrivileges=yes\nLockPersonality=yes\nAmbientCapabilities=CAP_KILL\nUser=www-data\nKeyringMode=shared\nProtectProc=invisible\nUMask=0077\nNotifyAccess=all\nProtectClock=yes\nSystemCallFilter=@system-service\nProtectKernelModules=yes\nProtectHome=yes\nPrivateTmp=yes\nPrivateMounts=yes\nPrivateUsers=yes\nProtectControlGroups=yes\nProtectHostname=yes\nIPAddressDeny=any\nProcSubset=pid\nDynamicUser=yes\nPrivateNetwork=yes\nRestrictAddressFamilies=AF_UNIX\nDelegate=yes\nProtectSystem=strict\nRestrictRealtime=yes",
    ),
    (
        "ok-4.9",
        "CapabilityBoundingSet=\nKeyringMode=shared\nUMask=0077\nProtectControlGroups=yes\nSystemCallFilter=@system-service\nProtectHome=yes\nRestrictRealtime=yes\nUser=www-data\nLockPersonality=yes\nPrivateUsers=yes",
    ),
    (
        "medium-5.0",
        "RestrictRealtime=yes\nPrivateMounts=yes\nKeyringMode=shared\nProtectHome=yes\nProtectKernelTunables=yes\nIPAddressDeny=any\nProtectProc=invisible\nPrivateTmp=yes\nNoNewPrivileges=yes\nProcSubset=pid\nProtectKernelModules=yes\nSystemCallFilter=@system-service\nRestrictNamespaces=yes\nProtectControlGroups=yes\nRestrictAddressFamilies=AF_UNIX\nProtectHome=read-only\nRootDirectory=/srv\nPrivateUsers=yes",
    ),
    (
        "medium-7.4",
        "RestrictAddressFamilies=AF_UNIX\nIPAddressDeny=any\nAmbientCapabilities=CAP_KILL\nSystemCallFilter=@system-service",
    ),
    (
        "exposed-7.5",
        "ProtectHostname=yes\nCapabilityBoundingSet=~CAP_SYS_ADMIN\nProtectKernelLogs=yes\nProcSubset=pid\nIPAddressDeny=any\nSystemCallFilter=@system-service",
    ),
    ("exposed-8.9", "RestrictAddressFamilies=AF_UNIX"),
    ("unsafe-9.0", "ProtectSystem=strict\nPrivateUsers=yes\nProtectKernelLogs=yes"),
    ("unsafe-9.9", "LockPersonality=yes\nNotifyAccess=all\nKeyringMode=shared"),
];

#[test]
fn analyze_equals_systemd_at_the_verdict_boundaries() {
    if !have_systemd_252() {
        return;
    }
    let (diffs, _) = compare_cases("boundaries", BOUNDARIES);
    assert!(diffs.is_empty(), "sbx and systemd differ:\n{}", diffs.join("\n"));
}

/// Where sbx's directive parser merges repeated assignments differently from systemd 252,
/// so sbx both scores and enforces something else (see profile/directives.rs and
/// settings.rs): a `~` capability list after others removes from the set in systemd (sbx
/// ORs its complement in); a plain list after `~` (all) replaces it in systemd (sbx ORs);
/// an empty assignment to a boolean or enum directive is ignored by systemd (sbx resets it).
#[test]
#[ignore = "sbx's parser merges these unlike systemd 252; passes once profile/directives.rs and settings.rs follow it"]
fn analyze_equals_systemd_where_sbx_merges_differently() {
    if !have_systemd_252() {
        return;
    }
    let cases = [
        ("bare", ""),
        ("caps-none-then-minus", "CapabilityBoundingSet=\nCapabilityBoundingSet=~CAP_SYS_ADMIN"),
        ("caps-all-then-list", "CapabilityBoundingSet=~\nCapabilityBoundingSet=CAP_NET_RAW"),
        ("ambient-minus", "AmbientCapabilities=CAP_KILL\nAmbientCapabilities=~CAP_KILL"),
        ("empty-protect-system", "ProtectSystem=strict\nProtectSystem="),
        ("empty-private-tmp", "PrivateTmp=yes\nPrivateTmp="),
    ];
    let (diffs, _) = compare_cases("merging", &cases);
    assert!(diffs.is_empty(), "sbx and systemd differ:\n{}", diffs.join("\n"));
}

#[test]
fn analyze_equals_systemd_for_the_shipped_profiles() {
    if !have_systemd_252() {
        return;
    }
    let dir = TempDir::new("shipped");
    let mut diffs = Vec::new();
    for name in ["default", "strict", "web"] {
        let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("profiles/{name}.conf"));
        let text = fs::read_to_string(&profile).expect("shipped profile");
        let unit = dir.write(&format!("{name}.service"), &format!("{text}\n[Service]\nExecStart=/bin/true\n"));
        diffs.extend(compare(name, &unit, &["--profile", &profile.display().to_string()]).0);
    }
    assert!(diffs.is_empty(), "sbx and systemd differ:\n{}", diffs.join("\n"));
}

/// `--unit` scores a unit file with its drop-in, `[Unit]` and `[Install]` keys, and keys sbx
/// ignores or rejects, as systemd does.
#[test]
fn analyze_unit_equals_systemd() {
    if !have_systemd_252() {
        return;
    }
    let dir = TempDir::new("unit");
    let unit = dir.write(
        "sbx-analyze-test.service",
        "[Unit]\nDescription=t\nAfter=network.target\n\n[Service]\nExecStart=/bin/true\nRestart=always\n\
         DynamicUser=yes\nIPAddressDeny=any\nPrivateMounts=yes\nSystemCallFilter=@system-service\n\n\
         [Install]\nWantedBy=multi-user.target\n",
    );
    fs::create_dir_all(dir.0.join("sbx-analyze-test.service.d")).expect("drop-in dir");
    dir.write("sbx-analyze-test.service.d/10-more.conf", "[Service]\nProtectHome=yes\nNotifyAccess=all\n");
    let (diffs, want) = compare("unit", &unit, &["--unit", &unit]);
    assert!(diffs.is_empty(), "sbx and systemd differ:\n{}", diffs.join("\n"));
    assert_eq!(want.rows["ProtectHome="].wbr, Some((1000, Some(0), 10)), "the drop-in counts");
}

/// The "here" status and text of one check in sbx's report.
fn here_of(json: &Value, check: &str) -> (String, String) {
    let rows = json["checks"].as_array().expect("checks");
    let row = rows.iter().find(|r| r["name"] == check).unwrap_or_else(|| panic!("no row {check}"));
    (row["here_status"].as_str().unwrap_or("").into(), row["here"].as_str().unwrap_or("").into())
}

#[test]
fn analyze_here_column_for_a_rejected_directive() {
    let dir = TempDir::new("rejected");
    let profile = dir.write("p.conf", "[Service]\nPrivateMounts=yes\nIPAddressDeny=any\nProtectSystem=strict\n");
    let json = sbx_json(&profile, &[]);
    let (status, text) = here_of(&json, "PrivateMounts=");
    assert_eq!(status, "not-supported", "{text}");
    assert!(text.starts_with("not supported by sbx: "), "{text}");
    assert_eq!(here_of(&json, "IPAddressDeny=").0, "not-supported");
    // systemd still scores the lines sbx would refuse.
    let row = json["checks"].as_array().unwrap().iter().find(|r| r["name"] == "IPAddressDeny=").unwrap();
    assert_eq!(row["badness"], 0);
    // Control: the same profile without the rejected lines enforces ProtectSystem= by mounts.
    assert_eq!(here_of(&json, "ProtectSystem="), ("enforced".into(), "enforced (mount namespace)".into()));
    assert_eq!(here_of(&json, "PrivateNetwork=").0, "not-asked-for");
}

#[test]
fn analyze_here_column_for_a_directive_planning_refuses() {
    let dir = TempDir::new("refused");
    let profile = dir.write("p.conf", "[Service]\nUser=sbx-analyze-no-such-user\nProtectSystem=strict\n");
    let json = sbx_json(&profile, &[]);
    let (status, text) = here_of(&json, "User=/DynamicUser=");
    assert_eq!(status, "refused", "{text}");
    assert!(text.starts_with("refused on this host: ") && text.contains("sbx-analyze-no-such-user"), "{text}");
    let (status, text) = here_of(&json, "ProtectSystem=");
    assert_eq!(status, "refused", "planning stopped, so nothing is enforced: {text}");
    // Control: the same profile with a user that exists plans, and ProtectSystem= holds.
    let json = sbx_json(&profile, &["-p", "User=root"]);
    assert_eq!(here_of(&json, "ProtectSystem=").0, "enforced");
}

#[test]
fn analyze_prints_a_table_and_the_overall_line() {
    let out = Command::new(SBX).args(["analyze", "--profile", "strict"]).output().expect("run sbx analyze");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().next().is_some_and(|l| l.contains("NAME") && l.contains("HERE")), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains('=')).count(), 81, "{text}");
    let last = text.lines().last().unwrap_or("");
    assert!(last.starts_with("→ Overall exposure level for strict: "), "{last}");
    let bad = Command::new(SBX).args(["analyze", "-p", "NoSuchDirective=1"]).output().expect("run sbx analyze");
    assert_eq!(bad.status.code(), Some(125), "an unknown -p is an error, as for run");
}
