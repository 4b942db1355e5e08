//! `%` specifier expansion in profile values, after the "Specifiers" table of systemd.unit(5).
//!
//! Invariant: expansion is a pure function of the input text and the [`SpecifierContext`] the
//! caller filled in. Nothing here reads the environment or the system, and every `%` in the
//! input is either replaced or reported as an error; none passes through unexamined.

use std::borrow::Cow;

/// The values specifiers expand to, filled in by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecifierContext {
    /// `%n`: the full unit name, e.g. `web.service`.
    pub unit_full: String,
    /// `%N`: the unit name without its type suffix, e.g. `web`.
    pub unit_name: String,
    /// `%u`: the user name.
    pub user: String,
    /// `%U`: the numeric user id.
    pub uid: u32,
    /// `%g`: the group name.
    pub group: String,
    /// `%G`: the numeric group id.
    pub gid: u32,
    /// `%h`: the user's home directory.
    pub home: String,
    /// `%s`: the user's shell.
    pub shell: String,
    /// `%t`: the runtime directory root (`/run` or `$XDG_RUNTIME_DIR`).
    pub runtime_dir: String,
    /// `%S`: the state directory root.
    pub state_dir: String,
    /// `%C`: the cache directory root.
    pub cache_dir: String,
    /// `%L`: the logs directory root.
    pub logs_dir: String,
    /// `%E`: the configuration directory root.
    pub config_dir: String,
    /// `%H`: the host name (`%l` is the part before the first dot).
    pub host_name: String,
    /// `%m`: the machine id.
    pub machine_id: String,
}

/// Specifiers systemd knows that sbx has no value for; they get their own error message.
const SYSTEMD_ONLY: &str = "aAbBdMoqvwWyY";

const SUPPORTED: &str = "%n %N %p %P %i %I %j %J %f %u %U %g %G %h %s %t %S %C %L %E %H %l %m %T %V %%";

/// Replaces every `%X` in `input` with its value from `ctx`. `%T` is `/tmp`, `%V` is
/// `/var/tmp`, `%%` is a literal `%`. An unknown specifier, one sbx does not support, or a
/// lone `%` at the end is an error naming it.
pub fn expand(input: &str, ctx: &SpecifierContext) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(specifier) = chars.next() else {
            return Err("expected a specifier letter after the final % (write %% for a literal %)".to_string());
        };
        out.push_str(&resolve(specifier, ctx)?);
    }
    Ok(out)
}

/// The value of the specifier `%specifier`.
fn resolve(specifier: char, ctx: &SpecifierContext) -> Result<Cow<'_, str>, String> {
    let value: &str = match specifier {
        '%' => "%",
        'n' => &ctx.unit_full,
        'N' => &ctx.unit_name,
        'p' => template::prefix(&ctx.unit_name),
        'i' => template::instance(&ctx.unit_name),
        'j' => template::last_part(template::prefix(&ctx.unit_name)),
        'P' => return template::unescape(template::prefix(&ctx.unit_name)).map(Cow::Owned),
        'I' => return template::unescape(template::instance(&ctx.unit_name)).map(Cow::Owned),
        'J' => return template::unescape(template::last_part(template::prefix(&ctx.unit_name))).map(Cow::Owned),
        'f' => return template::unescape_path(&ctx.unit_name).map(Cow::Owned),
        'u' => &ctx.user,
        'U' => return Ok(Cow::Owned(ctx.uid.to_string())),
        'g' => &ctx.group,
        'G' => return Ok(Cow::Owned(ctx.gid.to_string())),
        'h' => &ctx.home,
        's' => &ctx.shell,
        't' => &ctx.runtime_dir,
        'S' => &ctx.state_dir,
        'C' => &ctx.cache_dir,
        'L' => &ctx.logs_dir,
        'E' => &ctx.config_dir,
        'H' => &ctx.host_name,
        'l' => short_host_name(&ctx.host_name),
        'm' => &ctx.machine_id,
        'T' => "/tmp",
        'V' => "/var/tmp",
        _ if SYSTEMD_ONLY.contains(specifier) => {
            return Err(format!("specifier %{specifier} is not supported by sbx: expected one of {SUPPORTED}"));
        }
        _ => {
            return Err(format!("unknown specifier %{specifier}: expected one of {SUPPORTED}"));
        }
    };
    Ok(Cow::Borrowed(value))
}

/// Template units: `NAME@INSTANCE` names, and systemd's unit-name escaping (`-` for `/`,
/// `\xNN` for other bytes), after systemd.unit(5) "Specifiers" and systemd-escape(1).
mod template {
    /// `%p`: the part before the first `@`, or the whole name of a unit that is no instance.
    pub fn prefix(name: &str) -> &str {
        name.split_once('@').map_or(name, |(p, _)| p)
    }

    /// `%i`: the part after the first `@`, empty for a unit that is no instance.
    pub fn instance(name: &str) -> &str {
        name.split_once('@').map_or("", |(_, i)| i)
    }

    /// `%j`: the prefix after its last `-`.
    pub fn last_part(prefix: &str) -> &str {
        prefix.rsplit_once('-').map_or(prefix, |(_, j)| j)
    }

    /// `%I`, `%P`, `%J`: `-` becomes `/`, `\xNN` the byte NN.
    pub fn unescape(text: &str) -> Result<String, String> {
        let mut bytes = Vec::with_capacity(text.len());
        let mut rest = text.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            rest = tail;
            match b {
                b'-' => bytes.push(b'/'),
                b'\\' => {
                    let hex = rest.get(1..3).filter(|_| rest.first() == Some(&b'x'));
                    let byte =
                        hex.and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
                    let Some(byte) = byte else {
                        return Err(format!("invalid escape in the unit name {text:?}: expected \\xNN"));
                    };
                    bytes.push(byte);
                    rest = &rest[3..];
                }
                _ => bytes.push(b),
            }
        }
        String::from_utf8(bytes).map_err(|_| format!("the unit name {text:?} unescapes to invalid UTF-8"))
    }

    /// `%f`: the instance (or, for a unit that is no instance, the prefix) unescaped as a path.
    pub fn unescape_path(name: &str) -> Result<String, String> {
        let text = if name.contains('@') { instance(name) } else { prefix(name) };
        if text == "-" { Ok("/".to_string()) } else { Ok(format!("/{}", unescape(text)?)) }
    }
}

/// The host name up to its first dot.
fn short_host_name(host_name: &str) -> &str {
    host_name.split('.').next().unwrap_or(host_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx() -> SpecifierContext {
        SpecifierContext {
            unit_full: "web.service".into(),
            unit_name: "web".into(),
            user: "alice".into(),
            uid: 1000,
            group: "staff".into(),
            gid: 50,
            home: "/home/alice".into(),
            shell: "/bin/bash".into(),
            runtime_dir: "/run/user/1000".into(),
            state_dir: "/home/alice/.local/state".into(),
            cache_dir: "/home/alice/.cache".into(),
            logs_dir: "/home/alice/.local/state/log".into(),
            config_dir: "/home/alice/.config".into(),
            host_name: "box.example.org".into(),
            machine_id: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    fn ok(input: &str) -> String {
        expand(input, &ctx()).unwrap()
    }

    #[test]
    fn text_without_specifiers_is_unchanged() {
        assert_eq!(ok(""), "");
        assert_eq!(ok("/usr/bin/env -i a=b"), "/usr/bin/env -i a=b");
        assert_eq!(ok("héllo wörld ✓"), "héllo wörld ✓");
    }

    #[test]
    fn every_supported_specifier() {
        let cases = [
            ("%n", "web.service"),
            ("%N", "web"),
            ("%u", "alice"),
            ("%U", "1000"),
            ("%g", "staff"),
            ("%G", "50"),
            ("%h", "/home/alice"),
            ("%s", "/bin/bash"),
            ("%t", "/run/user/1000"),
            ("%S", "/home/alice/.local/state"),
            ("%C", "/home/alice/.cache"),
            ("%L", "/home/alice/.local/state/log"),
            ("%E", "/home/alice/.config"),
            ("%H", "box.example.org"),
            ("%l", "box"),
            ("%m", "0123456789abcdef0123456789abcdef"),
            ("%T", "/tmp"),
            ("%V", "/var/tmp"),
            ("%%", "%"),
        ];
        for (input, expected) in cases {
            assert_eq!(ok(input), expected, "{input}");
        }
    }

    #[test]
    fn specifiers_inside_text() {
        assert_eq!(ok("%h/.config/%N.conf"), "/home/alice/.config/web.conf");
        assert_eq!(ok("%t/%n.sock"), "/run/user/1000/web.service.sock");
        assert_eq!(ok("uid=%U:%G"), "uid=1000:50");
        assert_eq!(ok("100%%"), "100%");
        assert_eq!(ok("%%%%"), "%%");
        assert_eq!(ok("%%n"), "%n");
        assert_eq!(ok("é%ué"), "éaliceé");
    }

    #[test]
    fn short_host_name_without_a_dot_is_the_host_name() {
        let ctx = SpecifierContext { host_name: "box".into(), ..ctx() };
        assert_eq!(expand("%l", &ctx).unwrap(), "box");
        let empty = SpecifierContext::default();
        assert_eq!(expand("%l%H", &empty).unwrap(), "");
    }

    #[test]
    fn default_context_expands_to_empty_and_zero() {
        let empty = SpecifierContext::default();
        assert_eq!(expand("[%u][%U][%h]", &empty).unwrap(), "[][0][]");
    }

    #[test]
    fn unknown_specifier_is_named() {
        let err = expand("a%Qb", &ctx()).unwrap_err();
        assert!(err.starts_with("unknown specifier %Q"), "{err}");
        assert!(err.contains("expected one of"), "{err}");
        let err = expand("%é", &ctx()).unwrap_err();
        assert!(err.starts_with("unknown specifier %é"), "{err}");
        let err = expand("% ", &ctx()).unwrap_err();
        assert!(err.starts_with("unknown specifier % "), "{err}");
    }

    /// Checked against systemd 252 (`systemd-analyze` on `getty@tty1.service` and
    /// `systemd-escape`).
    #[test]
    fn template_specifiers() {
        let unit = SpecifierContext { unit_name: r"back-up@home-alice\x2dx".into(), ..ctx() };
        let x = |s: &str| expand(s, &unit).unwrap();
        assert_eq!(x("%p %i %j"), r"back-up home-alice\x2dx up");
        assert_eq!(x("%P|%I|%J"), "back/up|home/alice-x|up");
        assert_eq!(x("%f"), "/home/alice-x");
        let plain = SpecifierContext { unit_name: "web-front".into(), ..ctx() };
        assert_eq!(expand("[%p][%i][%j][%I][%f]", &plain).unwrap(), "[web-front][][front][][/web/front]");
        let bad = SpecifierContext { unit_name: r"a@b\q".into(), ..ctx() };
        assert!(expand("%I", &bad).unwrap_err().contains("invalid escape"));
    }

    #[test]
    fn systemd_only_specifier_is_reported_as_unsupported() {
        for spec in SYSTEMD_ONLY.chars() {
            let err = expand(&format!("%{spec}"), &ctx()).unwrap_err();
            assert_eq!(err, format!("specifier %{spec} is not supported by sbx: expected one of {SUPPORTED}"));
        }
    }

    #[test]
    fn lone_percent_at_the_end_is_an_error() {
        for input in ["%", "abc%", "%%%"] {
            let err = expand(input, &ctx()).unwrap_err();
            assert!(err.contains("after the final %"), "{input}: {err}");
            assert!(err.contains("%%"), "{err}");
        }
    }

    #[test]
    fn values_are_not_expanded_again() {
        let ctx = SpecifierContext { home: "/home/%u".into(), ..ctx() };
        assert_eq!(expand("%h", &ctx).unwrap(), "/home/%u");
    }

    fn any_ctx() -> impl Strategy<Value = SpecifierContext> {
        (any::<String>(), any::<String>(), any::<u32>(), any::<String>()).prop_map(|(a, b, uid, c)| SpecifierContext {
            unit_full: a,
            home: b,
            uid,
            host_name: c,
            ..SpecifierContext::default()
        })
    }

    proptest! {
        #[test]
        fn expand_never_panics(input in any::<String>(), ctx in any_ctx()) {
            let _ = expand(&input, &ctx);
        }

        #[test]
        fn expand_never_panics_on_percent_heavy_text(input in "[%a-zA-Z0-9é /]{0,40}", ctx in any_ctx()) {
            let _ = expand(&input, &ctx);
        }

        #[test]
        fn text_without_percent_is_unchanged(input in "[^%]*") {
            prop_assert_eq!(expand(&input, &ctx()).unwrap(), input);
        }

        #[test]
        fn doubled_percents_give_back_the_text(input in any::<String>()) {
            let escaped = input.replace('%', "%%");
            prop_assert_eq!(expand(&escaped, &ctx()).unwrap(), input);
        }
    }
}
