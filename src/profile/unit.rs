//! Unit files for `sbx run --unit` (and `sbx analyze --unit`): a `.service` file or the
//! template behind an instance, its drop-ins, its name, and what its `[Unit]` says.
//!
//! Loading follows systemd.unit(5): `NAME@INSTANCE.service` is read from `NAME@.service` when
//! no file of its own exists; drop-ins `*.conf` come from `/etc/systemd/system/UNIT.d/`, then
//! from `UNIT.d/` beside the file (an instance's own directory before its template's),
//! applied in lexical order of their file names, a name in an earlier directory masking the
//! same name in later ones.
//!
//! Invariant: reading only — the unit file and its drop-in directories; nothing is evaluated or
//! run. `loaded` holds every assignment in order, `[Unit]` and `[Install]` included; each is
//! exactly one of: applied by the directive table ([`applied`](UnitFile::applied)), a condition
//! or assertion ([`UnitFile::conditions`]), or a key a foreground run has no use for
//! ([`UnitFile::unused`]), so nothing is dropped unseen.

use std::path::{Path, PathBuf};

use crate::error::ProfileError;
use crate::profile::directives::{self, Stage};
use crate::profile::load::{self, Loaded};
use crate::profile::values::CommandLine;
use crate::profile::{Assignment, Origin, Section};
use crate::settings::{List, Scalar, ServiceType, Settings};

/// Where the administrator's unit files and drop-ins live.
pub const SYSTEM_UNIT_DIR: &str = "/etc/systemd/system";

/// A unit's name: `web.service`, or an instance `getty@tty1.service` of the template
/// `getty@.service`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitName {
    /// The full name, e.g. `getty@tty1.service`.
    pub full: String,
}

impl UnitName {
    /// A service's name as systemd accepts it: `PREFIX[@INSTANCE].service`, where a template
    /// (empty instance) cannot run.
    pub fn parse(full: &str) -> Result<UnitName, String> {
        let Some(stem) = full.strip_suffix(".service") else {
            return Err(format!("expected a service unit NAME.service, found {full:?}"));
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
        if stem.is_empty() || !stem.chars().all(valid) || stem.starts_with('@') {
            return Err(format!(
                "{full:?} is not a valid unit name (ASCII letters, digits and :-_.\\ before .service)"
            ));
        }
        if stem.ends_with('@') {
            return Err(format!("{full} is a template; run an instance of it, e.g. {stem}INSTANCE.service"));
        }
        Ok(UnitName { full: full.to_string() })
    }

    /// The name without `.service` (what `%N` is).
    pub fn stem(&self) -> &str {
        self.full.strip_suffix(".service").unwrap_or(&self.full)
    }

    /// The template's file name, `NAME@.service`, for an instance.
    pub fn template(&self) -> Option<String> {
        self.stem().split_once('@').map(|(prefix, _)| format!("{prefix}@.service"))
    }
}

/// One `Condition*=` or `Assert*=` assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// What is tested, without `Condition`/`Assert`: `PathExists`, `User`, ...
    pub check: String,
    /// An `Assert*=`: when false the run fails instead of being skipped.
    pub assert: bool,
    /// `|`: a triggering condition; at least one of them must hold.
    pub trigger: bool,
    /// `!`: the test is negated.
    pub negate: bool,
    /// The value after the prefixes, specifiers not yet expanded.
    pub value: String,
    pub origin: Origin,
}

impl Condition {
    /// The directive, e.g. `ConditionPathExists`.
    pub fn directive(&self) -> String {
        format!("{}{}", if self.assert { "Assert" } else { "Condition" }, self.check)
    }

    /// As written: `ConditionPathExists=|!/etc/x`.
    pub fn written(&self) -> String {
        let prefix = format!("{}{}", if self.trigger { "|" } else { "" }, if self.negate { "!" } else { "" });
        format!("{}={prefix}{}", self.directive(), self.value)
    }
}

/// The conditions systemd 252 knows (systemd.unit(5)); `Condition` or `Assert` precedes each.
pub const CHECKS: &[&str] = &[
    "Architecture",
    "Firmware",
    "Virtualization",
    "Host",
    "KernelCommandLine",
    "KernelVersion",
    "Credential",
    "Environment",
    "Security",
    "Capability",
    "ACPower",
    "NeedsUpdate",
    "FirstBoot",
    "PathExists",
    "PathExistsGlob",
    "PathIsDirectory",
    "PathIsSymbolicLink",
    "PathIsMountPoint",
    "PathIsReadWrite",
    "PathIsEncrypted",
    "DirectoryNotEmpty",
    "FileNotEmpty",
    "FileIsExecutable",
    "User",
    "Group",
    "ControlGroupController",
    "Memory",
    "CPUs",
    "CPUFeature",
    "OSRelease",
    "MemoryPressure",
    "CPUPressure",
    "IOPressure",
];

/// The `[Service]` keys that say what runs, as the directive table parses them. Words keep
/// their specifiers (`%i`, `%h`): expanding them needs the user's context, which `sbx run`
/// has; the merged Settings hold the expanded commands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecSpec {
    pub service_type: Scalar<ServiceType>,
    /// Per `Phase::index()`: ExecCondition=, ExecStartPre=, ExecStart=, ExecStartPost=,
    /// ExecStopPost=.
    pub commands: [List<CommandLine>; 5],
}

/// A loaded unit.
#[derive(Debug)]
pub struct UnitFile {
    pub name: UnitName,
    /// The file read: the unit's own, or its template's.
    #[allow(dead_code, reason = "for sbx analyze --unit")]
    pub path: PathBuf,
    /// The unit file and its drop-ins, every assignment in order.
    pub loaded: Loaded,
    #[allow(dead_code, reason = "for sbx analyze --unit")]
    pub exec: ExecSpec,
}

/// What an assignment of a unit is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Applied through the directive table like a profile's.
    Applied,
    Condition,
    /// A `[Unit]` or `[Install]` key a foreground run has no use for.
    Unused,
}

fn role(a: &Assignment) -> Role {
    match a.section {
        Section::Service | Section::XSbx => Role::Applied,
        Section::Install => Role::Unused,
        Section::Unit if directives::find(&a.key).is_some_and(|d| d.section == Section::Unit) => Role::Applied,
        Section::Unit if condition_check(&a.key).is_some() => Role::Condition,
        Section::Unit => Role::Unused,
    }
}

/// `ConditionPathExists` → (`PathExists`, false); `AssertUser` → (`User`, true).
fn condition_check(key: &str) -> Option<(&str, bool)> {
    let (check, assert) = match key.strip_prefix("Condition") {
        Some(check) => (check, false),
        None => (key.strip_prefix("Assert")?, true),
    };
    CHECKS.contains(&check).then_some((check, assert))
}

impl UnitFile {
    /// The assignments the directive table applies: `[Service]`, `[X-Sbx]`, `Description=`.
    pub fn applied(&self) -> Vec<Assignment> {
        self.loaded.assignments.iter().filter(|a| role(a) == Role::Applied).cloned().collect()
    }

    /// The `[Unit]` and `[Install]` keys a foreground run does not use (`After=`, `WantedBy=`, ...).
    pub fn unused(&self) -> Vec<&Assignment> {
        self.loaded.assignments.iter().filter(|a| role(a) == Role::Unused).collect()
    }

    /// The conditions and assertions in force, in order: an empty `Condition*=` drops every
    /// condition before it, an empty `Assert*=` every assertion (systemd.unit(5)).
    pub fn conditions(&self) -> Vec<Condition> {
        let mut out: Vec<Condition> = Vec::new();
        for a in self.loaded.assignments.iter().filter(|a| role(a) == Role::Condition) {
            let Some((check, assert)) = condition_check(&a.key) else { continue };
            if a.value.is_empty() {
                out.retain(|c| c.assert != assert);
                continue;
            }
            let (trigger, rest) = strip(&a.value, '|');
            let (negate, value) = strip(rest, '!');
            out.push(Condition {
                check: check.to_string(),
                assert,
                trigger,
                negate,
                value: value.to_string(),
                origin: a.origin.clone(),
            });
        }
        out
    }
}

fn strip(value: &str, prefix: char) -> (bool, &str) {
    match value.strip_prefix(prefix) {
        Some(rest) => (true, rest.trim_start_matches([' ', '\t'])),
        None => (false, value),
    }
}

/// Loads `path` (a `NAME.service` or `NAME@INSTANCE.service`), its template when it is an
/// instance without a file of its own, and its drop-ins. Runs and evaluates nothing.
pub fn load_unit(path: &Path) -> Result<UnitFile, ProfileError> {
    load_unit_in(path, &[PathBuf::from(SYSTEM_UNIT_DIR)])
}

/// [`load_unit`] with the administrator's directories given (highest priority first).
pub fn load_unit_in(path: &Path, system_dirs: &[PathBuf]) -> Result<UnitFile, ProfileError> {
    let unit_error = |message: String| ProfileError::Unit { path: path.to_path_buf(), message };
    let file_name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| unit_error("expected a file".into()))?;
    let name = UnitName::parse(file_name).map_err(unit_error)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let template = name.template();
    let file = match &template {
        Some(t) if !path.exists() && dir.join(t).exists() => dir.join(t),
        _ => path.to_path_buf(),
    };
    let mut loaded = Loaded::default();
    loaded.add(&load::read(&file)?, &file.display().to_string())?;
    let names: Vec<&str> = std::iter::once(name.full.as_str()).chain(template.as_deref()).collect();
    let mut dropin_dirs: Vec<PathBuf> = Vec::new();
    for base in system_dirs.iter().map(PathBuf::as_path).chain([dir]) {
        for n in &names {
            let d = base.join(format!("{n}.d"));
            if !dropin_dirs.iter().any(|seen| same_dir(seen, &d)) {
                dropin_dirs.push(d);
            }
        }
    }
    load::add_dropins(&mut loaded, &dropin_dirs)?;
    let exec = exec_spec(&loaded.assignments)?;
    Ok(UnitFile { name, path: file, loaded, exec })
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The exec keys through their table rows, with specifiers left as written.
fn exec_spec(assignments: &[Assignment]) -> Result<ExecSpec, ProfileError> {
    let mut s = Settings::default();
    for a in assignments.iter().filter(|a| a.section == Section::Service) {
        let Some(row) = directives::find(&a.key).filter(|d| d.stage == Stage::Exec) else { continue };
        (row.apply)(&mut s, &a.value, &a.origin).map_err(|message| ProfileError::Value {
            origin: a.origin.clone(),
            key: a.key.clone(),
            value: a.value.clone(),
            message,
        })?;
    }
    Ok(ExecSpec { service_type: s.service_type, commands: s.commands })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Phase;

    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            let dir = std::env::temp_dir().join(format!("sbx-unit-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Tree(dir)
        }

        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn keys(u: &UnitFile) -> Vec<(String, String)> {
        u.applied().into_iter().map(|a| (a.key, a.value)).collect()
    }

    #[test]
    fn names() {
        let n = UnitName::parse("getty@tty1.service").unwrap();
        assert_eq!((n.stem(), n.template().as_deref()), ("getty@tty1", Some("getty@.service")));
        assert_eq!(UnitName::parse("web.service").unwrap().template(), None);
        assert!(UnitName::parse("getty@.service").unwrap_err().contains("template"));
        assert!(UnitName::parse("web.socket").unwrap_err().contains("NAME.service"));
        assert!(UnitName::parse("a b.service").is_err());
    }

    #[test]
    fn dropins_follow_the_unit_in_order_and_the_system_directory_masks() {
        let t = Tree::new("dropins");
        let etc = t.0.join("etc");
        let unit = t.write("lib/app.service", "[Service]\nExecStart=/bin/true\nPrivateTmp=yes\n");
        t.write("lib/app.service.d/20-b.conf", "[Service]\nPrivateTmp=no\n");
        t.write("lib/app.service.d/10-a.conf", "[Service]\nPrivateNetwork=yes\n");
        t.write("lib/app.service.d/30-c.conf", "[Service]\nNice=5\n");
        t.write("etc/app.service.d/30-c.conf", "[Service]\nNice=7\n");
        t.write("lib/app.service.d/notes.txt", "garbage");
        let u = load_unit_in(&unit, &[etc]).unwrap();
        let expected = [("ExecStart", "/bin/true"), ("PrivateTmp", "yes"), ("PrivateNetwork", "yes")];
        let mut expected: Vec<(String, String)> =
            expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        expected.extend([("PrivateTmp".into(), "no".into()), ("Nice".into(), "7".into())]);
        assert_eq!(keys(&u), expected);
        assert_eq!(u.exec.commands[Phase::Start.index()][0].value.argv, ["/bin/true"]);
    }

    #[test]
    fn an_instance_reads_its_template_and_both_dropin_directories() {
        let t = Tree::new("template");
        let unit = t.write("echo@.service", "[Service]\nExecStart=/bin/echo %i\n");
        t.write("echo@.service.d/a.conf", "[Service]\nNice=1\n");
        t.write("echo@x.service.d/a.conf", "[Service]\nNice=2\n");
        t.write("echo@x.service.d/b.conf", "[Service]\nUMask=0077\n");
        let u = load_unit_in(&unit.with_file_name("echo@x.service"), &[]).unwrap();
        assert_eq!(u.path, unit);
        assert_eq!(u.name.stem(), "echo@x");
        let k = keys(&u);
        assert_eq!(k[1..], [("Nice".to_string(), "2".to_string()), ("UMask".into(), "0077".into())]);
        assert_eq!(u.exec.commands[Phase::Start.index()][0].value.argv, ["/bin/echo", "%i"], "specifiers wait");
        assert!(load_unit_in(&unit.with_file_name("nope@x.service"), &[]).is_err());
    }

    #[test]
    fn unit_keys_are_sorted_into_applied_conditions_and_unused() {
        let t = Tree::new("roles");
        let unit = t.write(
            "app.service",
            "[Unit]\nDescription=App\nAfter=network.target\nConditionPathExists=|!/etc/x\nConditionUser=root\n\
             AssertPathIsDirectory=/srv\nConditionFoo=1\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
        );
        let u = load_unit_in(&unit, &[]).unwrap();
        assert_eq!(
            keys(&u),
            [("Description".to_string(), "App".to_string()), ("ExecStart".into(), "/bin/true".into())]
        );
        let unused: Vec<&str> = u.unused().iter().map(|a| a.key.as_str()).collect();
        assert_eq!(unused, ["After", "ConditionFoo", "WantedBy"]);
        let c = u.conditions();
        assert_eq!(c.len(), 3);
        assert!(c[0].trigger && c[0].negate && !c[0].assert);
        assert_eq!((c[0].check.as_str(), c[0].value.as_str()), ("PathExists", "/etc/x"));
        assert_eq!(c[0].written(), "ConditionPathExists=|!/etc/x");
        assert!(c[2].assert);
        assert_eq!(c[2].origin.line, 6);
    }

    #[test]
    fn an_empty_condition_resets_the_conditions_only() {
        let t = Tree::new("reset");
        let unit = t.write(
            "app.service",
            "[Unit]\nConditionPathExists=/a\nAssertUser=root\nConditionHost=x\n[Service]\nExecStart=/bin/true\n",
        );
        t.write("app.service.d/r.conf", "[Unit]\nConditionPathExists=\nConditionUser=root\n");
        let c = load_unit_in(&unit, &[]).unwrap().conditions();
        let written: Vec<String> = c.iter().map(Condition::written).collect();
        assert_eq!(written, ["AssertUser=root", "ConditionUser=root"]);
    }

    #[test]
    fn a_bad_command_line_is_an_error_with_its_origin() {
        let t = Tree::new("bad");
        let unit = t.write("app.service", "[Service]\nExecStart=relative/path\n");
        let e = load_unit_in(&unit, &[]).unwrap_err().to_string();
        assert!(e.contains("app.service:2") && e.contains("ExecStart"), "{e}");
        let e = load_unit_in(&t.0.join("missing.service"), &[]).unwrap_err().to_string();
        assert!(e.contains("missing.service"), "{e}");
    }
}
