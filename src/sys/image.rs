//! Releasing the page mappings of sbx's own code and constant data once a process of it only
//! waits (the monitor, pid 1): planning touched most of the binary, waiting needs a few pages.
//!
//! Invariant: only pages of the program image that are never written are released: PT_LOAD
//! segments without PF_W, whole pages inside them, none overlapping PT_GNU_RELRO (relocated
//! at start-up). MADV_DONTNEED on such private file pages drops their page-table entries and a
//! later access faults the same bytes back in from the file; written pages (.data, .bss, the
//! relocated data) are never touched.

use std::ffi::{c_int, c_void};

/// Releases the never-written pages of the main program's image. Best effort: nothing
/// changes for the process but its resident set.
pub fn release_code_pages() {
    // SAFETY: dl_iterate_phdr calls `each` with valid dl_phdr_info pointers for the duration
    // of each call; `each` reads them and returns non-zero after the first (main) object.
    unsafe { libc::dl_iterate_phdr(Some(each), std::ptr::null_mut()) };
}

unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, _data: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid info pointer; its phdr array has dlpi_phnum
    // entries and lives as long as the object is loaded (the main program: always).
    let (bias, phdrs) = unsafe {
        let info = &*info;
        (info.dlpi_addr as usize, std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)))
    };
    // From glibc's copy of the auxiliary vector: rustix's page_size() would read
    // /proc/self/auxv on kernels before 6.4, which a non-dumpable process cannot open.
    // SAFETY: sysconf takes an integer and reads no memory of ours.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as usize,
        _ => return 1,
    };
    let relro = phdrs
        .iter()
        .find(|p| p.p_type == libc::PT_GNU_RELRO)
        .map(|p| (bias + p.p_vaddr as usize, bias + (p.p_vaddr + p.p_memsz) as usize));
    for p in phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD && p.p_flags & libc::PF_W == 0) {
        let start = (bias + p.p_vaddr as usize).next_multiple_of(page);
        let end = (bias + (p.p_vaddr + p.p_filesz) as usize) / page * page;
        let overlaps_relro = relro.is_some_and(|(a, b)| start < b && a < end);
        if start < end && !overlaps_relro {
            // SAFETY: [start, end) lies inside a read-only PT_LOAD segment of the running
            // program, mapped privately from its file and never written (no PF_W, outside
            // RELRO): dropping the pages loses nothing, they fault back in from the file.
            let _ =
                unsafe { rustix::mm::madvise(start as *mut c_void, end - start, rustix::mm::Advice::LinuxDontNeed) };
        }
    }
    1 // the first object is the main program; the rest are not sbx's
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_file_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find_map(|l| l.strip_prefix("RssFile:")).unwrap();
        line.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// The test binary's own code pages go, and the process runs on (every test after this
    /// one in the same binary runs with its code faulted back in).
    #[test]
    fn released_code_faults_back_in() {
        let before = rss_file_kib();
        release_code_pages();
        let after = rss_file_kib();
        assert!(after < before, "RssFile {before} kB -> {after} kB");
        let v: Vec<u64> = (1..1000).collect();
        assert_eq!(v.iter().sum::<u64>(), 499_500);
    }
}
