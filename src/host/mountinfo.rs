//! /proc/PID/mountinfo, parsed: the mounts doctor looks at for cgroup hierarchies, masked
//! /proc paths and container hints, and the planner for other names of a directory (a bind
//! mount shows the same directory at a second path).
//!
//! Invariant: pure; a line that does not parse is skipped, never an error.

/// One mount as mountinfo(5) describes it, with octal escapes (`\040`) decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The file system's device, `major:minor` (field 3): mounts with the same one show the
    /// same file system.
    pub dev: String,
    /// The path inside the filesystem that is mounted (field 4).
    pub root: String,
    pub point: String,
    /// Per-mount options (`rw,nosuid,...`).
    pub options: String,
    pub fstype: String,
    pub source: String,
    /// Per-superblock options (for cgroup v1: the controllers).
    pub super_options: String,
}

impl Mount {
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (head, tail) = line.split_once(" - ")?;
    let head: Vec<&str> = head.split(' ').collect();
    let mut tail = tail.split(' ');
    Some(Mount {
        dev: head.get(2)?.to_string(),
        root: unescape(head.get(3)?),
        point: unescape(head.get(4)?),
        options: head.get(5)?.to_string(),
        fstype: tail.next()?.to_string(),
        source: unescape(tail.next()?),
        super_options: tail.next().unwrap_or("").to_string(),
    })
}

/// Decodes the kernel's `\NNN` octal escapes (space, tab, newline, backslash).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_optional_fields_and_escapes() {
        let text = "\
36 25 0:31 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
35 31 0:32 / /sys/fs/cgroup/memory ro,relatime master:4 shared:7 - cgroup cgroup rw,memory
90 80 0:50 /data /mnt/my\\040disk rw - ext4 /dev/sda1 rw
garbage";
        let m = parse(text);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].fstype, "cgroup2");
        assert_eq!(m[0].super_options, "rw,nsdelegate");
        assert!(!m[0].read_only());
        assert_eq!(m[2].point, "/sys/fs/cgroup/memory");
        assert!(m[2].read_only());
        assert_eq!(m[3].point, "/mnt/my disk");
        assert_eq!(m[3].root, "/data");
        assert_eq!(m[3].source, "/dev/sda1");
    }
}
