//! Value parsers for resource control (systemd.resource-control(5)): memory and task limits
//! with percentages and `infinity`, CPU quotas, weights, CPU sets, per-device I/O limits.
//!
//! Invariant: each parser accepts exactly systemd's syntax for its directive and says what
//! it expected otherwise; percentages are kept as such (resolved against the host in plan).

use serde::Serialize;

use crate::profile::values;

/// A limit in bytes or tasks: a number, a share of the host's total, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Limit {
    Value(u64),
    /// Hundredths of a percent (12.5% is 1250).
    Percent(u32),
    Infinity,
}

fn percent(s: &str) -> Option<Result<u32, String>> {
    let digits = s.strip_suffix('%')?;
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let parse = || -> Option<u32> {
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let f: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
        whole.parse::<u32>().ok()?.checked_mul(100)?.checked_add(f)
    };
    Some(parse().ok_or_else(|| format!("expected a percentage such as 50% or 12.5%, not {s:?}")))
}

/// MemoryMax= and friends: bytes with K/M/G/T/P/E, a percentage of physical memory, infinity.
pub fn parse_memory(s: &str) -> Result<Limit, String> {
    if s == "infinity" {
        return Ok(Limit::Infinity);
    }
    if let Some(p) = percent(s) {
        return p.and_then(|p| if p <= 10000 { Ok(Limit::Percent(p)) } else { Err("expected at most 100%".into()) });
    }
    values::parse_size(s).map(Limit::Value).map_err(|e| format!("{e}, a percentage of physical memory, or infinity"))
}

/// TasksMax=: a count, a percentage of the system's task limit, or infinity.
pub fn parse_tasks(s: &str) -> Result<Limit, String> {
    if s == "infinity" {
        return Ok(Limit::Infinity);
    }
    if let Some(p) = percent(s) {
        return p.map(Limit::Percent);
    }
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Limit::Value(n)),
        _ => Err("expected a number of tasks, a percentage, or infinity".into()),
    }
}

/// CPUQuota=: a percentage of one CPU (may exceed 100%), in hundredths of a percent.
pub fn parse_cpu_quota(s: &str) -> Result<u32, String> {
    match percent(s) {
        Some(Ok(p)) if p > 0 => Ok(p),
        Some(Ok(_)) => Err("expected a quota above 0%".into()),
        Some(Err(e)) => Err(e),
        None => Err("expected a percentage of one CPU, such as 20% or 150%".into()),
    }
}

/// CPUWeight=, IOWeight=: 1 to 10000.
pub fn parse_weight(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if (1..=10000).contains(&n) => Ok(n),
        _ => Err("expected a weight from 1 to 10000".into()),
    }
}

/// AllowedCPUs=: CPU indices and ranges, separated by commas or spaces ("0-3,6"); returned in
/// the kernel's comma form.
pub fn parse_cpuset(s: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for item in s.split(|c: char| c == ',' || c.is_whitespace()).filter(|i| !i.is_empty()) {
        let ok = match item.split_once('-') {
            Some((a, b)) => matches!((a.parse::<u32>(), b.parse::<u32>()), (Ok(a), Ok(b)) if a <= b),
            None => item.parse::<u32>().is_ok(),
        };
        if !ok {
            return Err(format!("expected CPU numbers and ranges such as 0-3,6; not {item:?}"));
        }
        parts.push(item.to_string());
    }
    if parts.is_empty() {
        return Err("expected CPU numbers and ranges such as 0-3,6".into());
    }
    Ok(parts.join(","))
}

/// IO{Read,Write}{Bandwidth,IOPS}Max=: `DEVICE VALUE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IoLimit {
    /// A block device node, or a path whose file system's device is meant.
    pub device: String,
    /// None is `infinity` ("max").
    pub value: Option<u64>,
}

pub fn parse_io_limit(s: &str, bandwidth: bool) -> Result<IoLimit, String> {
    let words = values::split_words(s)?;
    let [device, value] = words.as_slice() else {
        return Err("expected a device path and a value, such as /dev/sda 5M".into());
    };
    if !device.starts_with('/') {
        return Err(format!("expected an absolute device path, not {device:?}"));
    }
    let value = match value.as_str() {
        "infinity" => None,
        v if bandwidth => Some(values::parse_size(v).map_err(|e| format!("{e} (bytes per second)"))?),
        v => Some(v.parse::<u64>().ok().filter(|n| *n > 0).ok_or("expected a number of operations per second")?),
    };
    Ok(IoLimit { device: device.clone(), value })
}

/// OOMScoreAdjust=: -1000 to 1000.
pub fn parse_oom_score(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(n) if (-1000..=1000).contains(&n) => Ok(n),
        _ => Err("expected a number from -1000 to 1000".into()),
    }
}

/// RuntimeMaxSec=, TimeoutStopSec=: a time span or infinity, in microseconds.
pub fn parse_timeout(s: &str) -> Result<Option<u64>, String> {
    values::parse_time_or_infinity(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits() {
        assert_eq!(parse_memory("64M"), Ok(Limit::Value(64 << 20)));
        assert_eq!(parse_memory("12.5%"), Ok(Limit::Percent(1250)));
        assert_eq!(parse_memory("infinity"), Ok(Limit::Infinity));
        assert!(parse_memory("101%").is_err() && parse_memory("lots").is_err());
    }

    #[test]
    fn tasks_quota_weights() {
        assert_eq!(parse_tasks("40"), Ok(Limit::Value(40)));
        assert_eq!(parse_tasks("5%"), Ok(Limit::Percent(500)));
        assert!(parse_tasks("0").is_err());
        assert_eq!(parse_cpu_quota("20%"), Ok(2000));
        assert_eq!(parse_cpu_quota("150%"), Ok(15000));
        assert!(parse_cpu_quota("20").is_err() && parse_cpu_quota("0%").is_err());
        assert_eq!(parse_weight("100"), Ok(100));
        assert!(parse_weight("0").is_err() && parse_weight("10001").is_err());
    }

    #[test]
    fn cpusets_io_oom() {
        assert_eq!(parse_cpuset("0-3 6").as_deref(), Ok("0-3,6"));
        assert!(parse_cpuset("3-1").is_err() && parse_cpuset("x").is_err());
        assert_eq!(
            parse_io_limit("/dev/sda 5M", true),
            Ok(IoLimit { device: "/dev/sda".into(), value: Some(5 << 20) })
        );
        assert_eq!(parse_io_limit("/dev/sda infinity", false).unwrap().value, None);
        assert!(parse_io_limit("sda 5M", true).is_err() && parse_io_limit("/dev/sda", true).is_err());
        assert_eq!(parse_oom_score("-500"), Ok(-500));
        assert!(parse_oom_score("2000").is_err());
    }
}

/// One SocketBindAllow=/SocketBindDeny= entry: `any`, or `[ipv4|ipv6:][tcp|udp:]PORT[-PORT]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BindRule {
    /// None: both families.
    pub family: Option<String>,
    /// None: both protocols.
    pub transport: Option<String>,
    /// None: every port.
    pub ports: Option<(u16, u16)>,
}

pub fn parse_bind_rule(s: &str) -> Result<BindRule, String> {
    let mut rule = BindRule { family: None, transport: None, ports: None };
    if s == "any" {
        return Ok(rule);
    }
    for part in s.split(':') {
        match part {
            "ipv4" | "ipv6" if rule.family.is_none() && rule.transport.is_none() => rule.family = Some(part.into()),
            "tcp" | "udp" if rule.transport.is_none() => rule.transport = Some(part.into()),
            p if rule.ports.is_none() => {
                let (a, b) = p.split_once('-').unwrap_or((p, p));
                match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b)) if a <= b => rule.ports = Some((a, b)),
                    _ => return Err(format!("expected any or [ipv4|ipv6:][tcp|udp:]PORT[-PORT], not {s:?}")),
                }
            }
            _ => return Err(format!("expected any or [ipv4|ipv6:][tcp|udp:]PORT[-PORT], not {s:?}")),
        }
    }
    Ok(rule)
}

#[cfg(test)]
mod bind_rule_tests {
    use super::*;

    #[test]
    fn bind_rules_parse() {
        assert_eq!(parse_bind_rule("any").unwrap(), BindRule { family: None, transport: None, ports: None });
        let r = parse_bind_rule("ipv6:tcp:8000-8080").unwrap();
        assert_eq!(
            (r.family.as_deref(), r.transport.as_deref(), r.ports),
            (Some("ipv6"), Some("tcp"), Some((8000, 8080)))
        );
        assert_eq!(parse_bind_rule("tcp").unwrap().ports, None);
        assert_eq!(parse_bind_rule("80").unwrap().ports, Some((80, 80)));
        assert!(
            parse_bind_rule("tcp:ipv4:80").is_err()
                && parse_bind_rule("90-80").is_err()
                && parse_bind_rule("x").is_err()
        );
    }
}
