//! Finding and reading profiles: the search path, drop-ins, built-ins and `-p` overrides.
//!
//! Invariant: the result is one ordered list of assignments — profiles in the order given,
//! each followed by its drop-ins in lexical order, then the `-p` overrides — so that
//! `settings::apply` sees them exactly as systemd would see a unit and its drop-ins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::ProfileError;
use crate::profile::syntax::{self, Warning};
use crate::profile::{Assignment, Origin, directives};

/// The profiles shipped in the binary, embedded from profiles/.
pub const BUILTINS: &[(&str, &str)] = &[
    ("default", include_str!("../../profiles/default.conf")),
    ("strict", include_str!("../../profiles/strict.conf")),
    ("web", include_str!("../../profiles/web.conf")),
];

/// The directories searched for `NAME.conf`, highest priority first.
pub fn search_path() -> Vec<PathBuf> {
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
    let mut dirs = Vec::new();
    if let Some(c) = config_home {
        dirs.push(c.join("sbx/profiles"));
    }
    dirs.push(PathBuf::from("/etc/sbx/profiles"));
    dirs
}

/// Assignments in application order, plus the warnings the lexer produced.
#[derive(Debug, Default)]
pub struct Loaded {
    pub assignments: Vec<Assignment>,
    pub warnings: Vec<Warning>,
    /// The files read, in order (for `sbx show` and messages).
    pub sources: Vec<String>,
}

impl Loaded {
    pub(crate) fn add(&mut self, text: &str, source: &str) -> Result<(), ProfileError> {
        let parsed = syntax::parse(text, &Arc::from(source))?;
        self.assignments.extend(parsed.assignments);
        self.warnings.extend(parsed.warnings);
        self.sources.push(source.to_string());
        Ok(())
    }
}

/// Loads the named profiles (names or paths), their drop-ins, then the `-p` overrides.
pub fn load(profiles: &[String], overrides: &[String]) -> Result<Loaded, ProfileError> {
    let mut loaded = Loaded::default();
    for p in profiles {
        load_one(&mut loaded, p)?;
    }
    loaded.assignments.extend(parse_overrides(overrides)?);
    Ok(loaded)
}

fn is_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".conf")
}

/// A profile, unit or drop-in: a regular file of bounded size (see `config_file`).
pub(crate) fn read(path: &Path) -> Result<String, ProfileError> {
    crate::config_file::read(path, crate::config_file::Symlinks::Follow)
        .map_err(|source| ProfileError::Read { path: path.to_path_buf(), source })
}

fn load_one(loaded: &mut Loaded, spec: &str) -> Result<(), ProfileError> {
    if is_path(spec) {
        let path = PathBuf::from(spec);
        loaded.add(&read(&path)?, spec)?;
        let dropin_dir = PathBuf::from(format!("{spec}.d"));
        return add_dropins(loaded, &[dropin_dir]);
    }
    if !valid_name(spec) {
        return Err(not_found(spec));
    }
    let dirs = search_path();
    let found = dirs.iter().map(|d| d.join(format!("{spec}.conf"))).find(|p| p.exists());
    match found {
        Some(path) => loaded.add(&read(&path)?, &path.display().to_string())?,
        None => {
            let text = builtin(spec).ok_or_else(|| not_found(spec))?;
            loaded.add(text, &format!("builtin:{spec}.conf"))?;
        }
    }
    let dropin_dirs: Vec<PathBuf> = dirs.iter().map(|d| d.join(format!("{spec}.conf.d"))).collect();
    add_dropins(loaded, &dropin_dirs)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
}

pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn not_found(name: &str) -> ProfileError {
    let searched: Vec<String> = search_path().iter().map(|p| p.display().to_string()).collect();
    let builtins: Vec<&str> = BUILTINS.iter().map(|(n, _)| *n).collect();
    ProfileError::NotFound { name: name.to_string(), searched: searched.join(", "), builtins: builtins.join(", ") }
}

/// Drop-ins `*.conf` from the given directories, by file name in lexical order; a file name
/// in an earlier (higher-priority) directory masks the same name in later ones.
pub(crate) fn add_dropins(loaded: &mut Loaded, dirs: &[PathBuf]) -> Result<(), ProfileError> {
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".conf") {
                by_name.entry(name).or_insert_with(|| entry.path());
            }
        }
    }
    for path in by_name.values() {
        loaded.add(&read(path)?, &path.display().to_string())?;
    }
    Ok(())
}

/// `-p DIRECTIVE=VALUE` arguments as assignments in the directive's own section.
pub fn parse_overrides(args: &[String]) -> Result<Vec<Assignment>, ProfileError> {
    let source: Arc<str> = Arc::from("-p");
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(ProfileError::Override { arg: arg.clone() });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ProfileError::Override { arg: arg.clone() });
        }
        let section = directives::find(key).map_or(crate::profile::Section::Service, |d| d.section);
        out.push(Assignment {
            section,
            key: key.to_string(),
            value: value.trim().to_string(),
            origin: Origin::new(&source, i as u32 + 1),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for (name, _) in BUILTINS {
            let l = load(&[name.to_string()], &[]).unwrap();
            assert!(!l.assignments.is_empty(), "{name}");
        }
    }

    #[test]
    fn overrides_come_last_and_carry_their_position() {
        let l =
            load(&["default".into()], &["PrivateNetwork=yes".into(), "WritableWorkingDirectory=no".into()]).unwrap();
        let last = l.assignments.last().unwrap();
        assert_eq!(last.key, "WritableWorkingDirectory");
        assert_eq!(last.section, crate::profile::Section::XSbx);
        assert_eq!(last.origin.to_string(), "-p #2");
        assert!(parse_overrides(&["novalue".into()]).is_err());
    }

    #[test]
    fn a_path_profile_takes_its_dropins_in_lexical_order() {
        let dir = std::env::temp_dir().join(format!("sbx-load-{}", std::process::id()));
        let d = dir.join("p.conf.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(dir.join("p.conf"), "[Service]\nPrivateTmp=yes\n").unwrap();
        std::fs::write(d.join("20-b.conf"), "[Service]\nPrivateTmp=no\n").unwrap();
        std::fs::write(d.join("10-a.conf"), "[Service]\nPrivateNetwork=yes\n").unwrap();
        std::fs::write(d.join("ignored.txt"), "garbage").unwrap();
        let l = load(&[dir.join("p.conf").display().to_string()], &[]).unwrap();
        let keys: Vec<_> = l.assignments.iter().map(|a| (a.key.as_str(), a.value.as_str())).collect();
        assert_eq!(keys, [("PrivateTmp", "yes"), ("PrivateNetwork", "yes"), ("PrivateTmp", "no")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_names_list_the_builtins() {
        let e = load(&["nope".into()], &[]).unwrap_err().to_string();
        assert!(e.contains("default, strict, web"), "{e}");
    }
}
