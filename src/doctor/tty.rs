//! Legacy TIOCSTI: whether any process may push input into a terminal it shares. sbx refuses
//! TIOCSTI in every sandbox's filter and starts the payload in a new session anyway, so this
//! only informs about the rest of the host.
//!
//! Invariant: pure over the text of /proc/sys/dev/tty/legacy_tiocsti (absent before 6.2).

use super::{Finding, Fix, Impact, Status};

pub fn finding(legacy_tiocsti: Option<&str>) -> Finding {
    const ID: &str = "tiocsti";
    const TITLE: &str = "legacy TIOCSTI";
    let why =
        "sbx refuses TIOCSTI in its filter and gives the payload a session of its own, so sandboxes are not affected";
    let f = match legacy_tiocsti.map(str::trim) {
        Some("0") => Finding::new(
            ID,
            TITLE,
            Status::Ok,
            "dev.tty.legacy_tiocsti is 0: only CAP_SYS_ADMIN may inject terminal input",
        ),
        Some(v) => Finding::new(
            ID,
            TITLE,
            Status::Limited,
            format!("dev.tty.legacy_tiocsti is {v}: any process may inject input into a terminal it shares"),
        )
        .detail(why)
        .fixes([Fix::sysctl("dev.tty.legacy_tiocsti", "0")]),
        None => Finding::new(
            ID,
            TITLE,
            Status::Limited,
            "no dev.tty.legacy_tiocsti (Linux before 6.2): TIOCSTI is always allowed",
        )
        .detail(why),
    };
    f.impact(Impact::Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn informs_only() {
        assert_eq!(finding(Some("0\n")).status, Status::Ok);
        let on = finding(Some("1\n"));
        assert_eq!(on.status, Status::Limited);
        assert_eq!(on.fixes, vec![Fix::sysctl("dev.tty.legacy_tiocsti", "0")]);
        assert_eq!(on.impact, Impact::Info);
        assert!(finding(None).summary.contains("before 6.2"));
    }
}
