//! Reading the files sbx takes configuration from: profiles and their drop-ins, unit files and
//! theirs, `EnvironmentFile=` and the host files the plan consults.
//!
//! Invariant: a configuration file is a regular file of at most [`MAX_SIZE`] bytes. It is
//! opened without blocking (O_NONBLOCK, so a FIFO cannot hold sbx at open) and without taking
//! a controlling terminal (O_NOCTTY), its type is checked on the open descriptor (fstat, so
//! what is checked is what is read), and never more than the bound is read, so neither a FIFO
//! nor /dev/zero nor a growing file can hang sbx or exhaust its memory. Anything else is an
//! error that names the path and says what was expected. No policy beyond that: which files
//! are read, and whether a missing one matters, is the caller's business.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// The largest configuration file sbx reads: 1 MiB, far above any real profile, unit or
/// environment file (systemd's own largest units are a few KiB), and small enough that reading
/// one costs nothing noticeable.
pub const MAX_SIZE: u64 = 1 << 20;

/// How the final path may be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Symlinks {
    /// Follow symlinks as open(2) does (files the user names on sbx's command line).
    Follow,
    /// Refuse every symlink on the way (ELOOP): for paths already resolved by
    /// `host::resolve`, so that a symlink swapped in after resolution is not followed.
    Refuse,
}

/// Why a file is not acceptable as configuration; carried inside an `io::Error` so callers
/// keep their own error types and `ErrorKind` (NotFound stays NotFound).
#[derive(Debug)]
pub enum Refusal {
    /// Not a regular file: the kind found.
    NotRegular(&'static str),
    /// Larger than [`MAX_SIZE`]: the size seen (at least `MAX_SIZE + 1`).
    TooLarge(u64),
    /// Not UTF-8 text.
    NotText,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotRegular(kind) => {
                write!(f, "is a {kind}, not a regular file (sbx reads configuration only from regular files)")
            }
            Refusal::TooLarge(size) => write!(
                f,
                "is at least {size} bytes, larger than the {} KiB sbx reads from a configuration file",
                MAX_SIZE / 1024
            ),
            Refusal::NotText => write!(f, "is not UTF-8 text"),
        }
    }
}

impl std::error::Error for Refusal {}

fn refused(kind: io::ErrorKind, why: Refusal) -> io::Error {
    io::Error::new(kind, why)
}

/// Reads a configuration file as text under the rules above.
pub fn read(path: &Path, symlinks: Symlinks) -> io::Result<String> {
    let file = open(path, symlinks)?;
    let meta = file.metadata()?;
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_dir() {
            "directory"
        } else if ft.is_fifo() {
            "FIFO"
        } else if ft.is_char_device() {
            "character device"
        } else if ft.is_block_device() {
            "block device"
        } else if ft.is_socket() {
            "socket"
        } else {
            "special file"
        };
        return Err(refused(io::ErrorKind::InvalidInput, Refusal::NotRegular(kind)));
    }
    if meta.len() > MAX_SIZE {
        return Err(refused(io::ErrorKind::InvalidInput, Refusal::TooLarge(meta.len())));
    }
    // procfs and sysfs files report size 0: the bound applies to what is read, not to st_size.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_SIZE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(refused(io::ErrorKind::InvalidInput, Refusal::TooLarge(bytes.len() as u64)));
    }
    String::from_utf8(bytes).map_err(|_| refused(io::ErrorKind::InvalidData, Refusal::NotText))
}

fn open(path: &Path, symlinks: Symlinks) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match symlinks {
        Symlinks::Follow => rustix::fs::open(path, flags, Mode::empty())?,
        Symlinks::Refuse => {
            let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            rustix::fs::openat2(rustix::fs::CWD, path, flags, Mode::empty(), resolve)?
        }
    };
    Ok(File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sbx-config-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_a_regular_file_and_refuses_others() {
        let dir = scratch("kinds");
        let file = dir.join("a.conf");
        std::fs::write(&file, "[Service]\n").unwrap();
        assert_eq!(read(&file, Symlinks::Follow).unwrap(), "[Service]\n");
        let fifo = dir.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        let e = read(&fifo, Symlinks::Follow).unwrap_err().to_string();
        assert!(e.contains("FIFO, not a regular file"), "{e}");
        let e = read(Path::new("/dev/zero"), Symlinks::Follow).unwrap_err().to_string();
        assert!(e.contains("character device"), "{e}");
        let e = read(&dir, Symlinks::Follow).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        assert_eq!(read(&dir.join("none"), Symlinks::Follow).unwrap_err().kind(), io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bounds_the_size() {
        let dir = scratch("size");
        let at = dir.join("at");
        std::fs::write(&at, vec![b'#'; MAX_SIZE as usize]).unwrap();
        assert_eq!(read(&at, Symlinks::Follow).unwrap().len() as u64, MAX_SIZE);
        let over = dir.join("over");
        std::fs::write(&over, vec![b'#'; MAX_SIZE as usize + 1]).unwrap();
        let e = read(&over, Symlinks::Follow).unwrap_err().to_string();
        assert!(e.contains("larger than the 1024 KiB"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuse_means_no_symlink_at_all() {
        let dir = scratch("links");
        std::fs::write(dir.join("target"), "A=1\n").unwrap();
        std::os::unix::fs::symlink(dir.join("target"), dir.join("link")).unwrap();
        assert_eq!(read(&dir.join("link"), Symlinks::Follow).unwrap(), "A=1\n");
        let e = read(&dir.join("link"), Symlinks::Refuse).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        assert_eq!(read(&dir.join("target"), Symlinks::Refuse).unwrap(), "A=1\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
