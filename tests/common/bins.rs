//! Finding the sbx and probe binaries, building a missing or stale probe, and staging both
//! where every caller (the test user, www-data) can execute them and no sandbox hides them.

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsStr;
use std::fs;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::{ROOT_STATE, is_root};

pub(super) struct Bins {
    sbx: PathBuf,
    probe: PathBuf,
}

/// The probe as the tests run it (inside and outside sandboxes).
pub fn probe_path() -> PathBuf {
    bins().expect("binaries").probe.clone()
}

/// sbx as the tests run it.
pub fn sbx_path() -> PathBuf {
    bins().expect("binaries").sbx.clone()
}

pub(super) fn bins() -> Result<&'static Bins, String> {
    static BINS: OnceLock<Result<Bins, String>> = OnceLock::new();
    BINS.get_or_init(locate_and_stage).as_ref().map_err(|e| e.clone())
}

fn locate_and_stage() -> Result<Bins, String> {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_sbx"));
    let profile_dir = built.parent().expect("sbx has a directory").to_path_buf();
    // `SBX_TEST_SBX`: another sbx to test (the static release build, in CI).
    let sbx = std::env::var_os("SBX_TEST_SBX").map_or(built, PathBuf::from);
    let probe = profile_dir.join("examples").join("probe");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/probe.rs");
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&probe).is_none_or(|built| modified(&source).is_some_and(|src| src > built)) {
        build_probe(&profile_dir)?;
    }
    let stage = match std::env::var_os("SBX_TEST_BIN_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None if is_root() => Some(PathBuf::from(ROOT_STATE)),
        None => None,
    };
    let Some(stage) = stage else {
        return Ok(Bins { sbx, probe });
    };
    let mut hasher = DefaultHasher::new();
    for p in [&sbx, &probe] {
        let m = fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        (p, m.len(), m.mtime(), m.mtime_nsec()).hash(&mut hasher);
    }
    let dir = stage.join(format!("bin-{:016x}", hasher.finish()));
    make_dir(&stage, 0o755)?;
    make_dir(&dir, 0o755)?;
    let staged = Bins { sbx: dir.join("sbx"), probe: dir.join("probe") };
    copy_executable(&sbx, &staged.sbx)?;
    copy_executable(&probe, &staged.probe)?;
    remove_old_stages(&stage, &dir);
    Ok(staged)
}

/// Removes other builds' staged binaries once they are a day old (a concurrent run of another
/// checkout may still use a younger one).
fn remove_old_stages(stage: &Path, current: &Path) {
    let day = Duration::from_secs(24 * 3600);
    for entry in fs::read_dir(stage).into_iter().flatten().flatten() {
        let path = entry.path();
        let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let is_stage = entry.file_name().to_string_lossy().starts_with("bin-");
        if is_stage && path != current && age.is_some_and(|age| age > day) {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// `cargo test --all-targets` builds examples only as test harnesses and `cargo test --test X`
/// not at all, so the probe binary may be missing or older than its source: build it then.
fn build_probe(profile_dir: &Path) -> Result<(), String> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--example", "probe", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    if profile_dir.file_name() == Some(OsStr::new("release")) {
        cmd.arg("--release");
    }
    let out = cmd.output().map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !out.status.success() || !profile_dir.join("examples/probe").is_file() {
        return Err(format!(
            "building the probe failed (run `cargo build --examples`): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

pub(super) fn make_dir(dir: &Path, mode: u32) -> Result<(), String> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(format!("mkdir {}: {e}", dir.display())),
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).map_err(|e| format!("chmod {}: {e}", dir.display()))
}

fn copy_executable(from: &Path, to: &Path) -> Result<(), String> {
    if to.is_file() {
        return Ok(());
    }
    let tmp = to.with_extension(format!("tmp{}", std::process::id()));
    fs::copy(from, &tmp).map_err(|e| format!("copy {} to {}: {e}", from.display(), tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", tmp.display()))?;
    fs::rename(&tmp, to).map_err(|e| format!("rename to {}: {e}", to.display()))
}
