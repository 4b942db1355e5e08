//! User-mode networking helpers (pasta, slirp4netns): not used yet — PrivateNetwork= gives
//! a sandbox only loopback — but what a future network for rootless sandboxes would need.
//!
//! Invariant: looks for executables in PATH and nowhere else; `finding` is pure.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{Finding, Fix, Impact, Status};

const HELPERS: &[&str] = &["pasta", "slirp4netns"];

/// (name, path) of each helper found in the directories of `path`.
pub fn find_in_path(path: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for name in HELPERS {
        let hit = path
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(name))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0));
        if let Some(p) = hit {
            found.push((name.to_string(), p.to_string_lossy().into_owned()));
        }
    }
    found
}

pub fn finding(found: &[(String, String)]) -> Finding {
    const ID: &str = "user-network";
    const TITLE: &str = "user-mode networking";
    let f = if found.is_empty() {
        Finding::new(
            ID,
            TITLE,
            Status::Missing,
            "neither pasta nor slirp4netns is in PATH (not used yet: PrivateNetwork= gives only loopback)",
        )
        .fixes([Fix::note("install passt (for pasta) or slirp4netns, e.g. apt-get install passt")])
    } else {
        let list: Vec<String> = found.iter().map(|(n, p)| format!("{n} ({p})")).collect();
        Finding::new(
            ID,
            TITLE,
            Status::Ok,
            format!("{} in PATH (not used yet: PrivateNetwork= gives only loopback)", list.join(", ")),
        )
    };
    f.impact(Impact::Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_executables_in_path() {
        let dir = std::env::temp_dir().join(format!("sbx-doctor-usernet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pasta = dir.join("pasta");
        std::fs::write(&pasta, "").unwrap();
        std::fs::write(dir.join("slirp4netns"), "").unwrap();
        std::fs::set_permissions(&pasta, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_in_path(&format!("/nonexistent::{}", dir.display()));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            found,
            vec![("pasta".to_string(), pasta.to_string_lossy().into_owned())],
            "slirp4netns is not executable"
        );
        assert_eq!(finding(&found).status, Status::Ok);
        let none = finding(&[]);
        assert_eq!((none.status, none.impact), (Status::Missing, Impact::Info));
    }
}
