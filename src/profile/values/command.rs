//! Command lines: the values of `ExecStart=` and its siblings, after systemd.service(5),
//! "Command lines".
//!
//! A value holds one or more commands separated by a lone `;` word (`\;` is a literal `;`
//! argument). Words are split like every quoted list (quotes group and are removed, C escapes
//! are decoded); the first word of each command may start with the prefixes `-`, `@`, `:`,
//! `+`, `!` and `!!`. systemd expands specifiers word by word once quotes are removed
//! ([`expand_specifiers`] does that before the command is parsed) and environment variables
//! when the command starts ([`expand_variables`], called by the plan).
//!
//! Invariant: every command that leaves here has a non-empty argv and an executable that is
//! an absolute path or a bare file name. Every function is total; nothing here looks at the
//! file system or the environment.

use std::collections::BTreeMap;
use std::fmt;

use super::words::{next_word, quote_word as quote};
use super::{WHITESPACE, is_whitespace};

/// One command of a command-line directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandLine {
    /// The executable as written after the prefixes: absolute, or a bare name to look up in
    /// the fixed search path. Never variable-expanded.
    pub path: String,
    /// The arguments, argv[0] first (the path itself, or the word after it with `@`).
    /// Variables are not expanded yet.
    pub argv: Vec<String>,
    pub flags: CommandFlags,
}

/// The prefixes of a command's first word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommandFlags {
    /// `-`: a failure (non-zero exit, a signal, not found) is recorded and has no effect.
    pub ignore_failure: bool,
    /// `@`: the word after the executable is argv[0].
    pub separate_argv0: bool,
    /// `:`: no environment-variable expansion.
    pub no_env_expand: bool,
    /// `+`: full privileges, no sandboxing and no id switch.
    pub privileged: bool,
    /// `!`: sandboxed, but without the switch to User=/Group=.
    pub no_setuid: bool,
    /// `!!`: like `!` on systems without ambient capabilities; otherwise no effect.
    pub ambient_fallback: bool,
}

/// A word of a command-line value, or the `;` between two commands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Separator,
}

/// Splits a value into words and separators the way systemd's `config_parse_exec` does: a
/// word that is exactly `;` (unquoted, followed by whitespace or the end) separates commands,
/// and `\;` in the same position is a literal `;` argument.
fn tokens(value: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(WHITESPACE);
        if rest.is_empty() {
            return Ok(out);
        }
        let ends_word = |after: &str| after.is_empty() || after.starts_with(is_whitespace);
        if let Some(after) = rest.strip_prefix(';').filter(|a| ends_word(a)) {
            out.push(Token::Separator);
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("\\;").filter(|a| ends_word(a)) {
            out.push(Token::Word(";".into()));
            rest = after;
            continue;
        }
        let mut chars = rest.chars();
        match next_word(&mut chars)? {
            Some(word) => out.push(Token::Word(word)),
            None => return Ok(out),
        }
        rest = chars.as_str();
    }
}

/// Expands specifiers in each word of a command-line value after quotes and escapes are
/// removed, as systemd does (so a `%h` with spaces stays one word and a `\x2d` in `%i` stays
/// as written), and writes the value back quoted for [`parse_command_lines`].
pub fn expand_specifiers(value: &str, expand: impl Fn(&str) -> Result<String, String>) -> Result<String, String> {
    let mut out = Vec::new();
    for token in tokens(value)? {
        out.push(match token {
            Token::Separator => ";".to_string(),
            Token::Word(w) => quote(&expand(&w)?),
        });
    }
    Ok(out.join(" "))
}

/// Parses a command-line value into its commands (none for a value that is only `;`).
pub fn parse_command_lines(value: &str) -> Result<Vec<CommandLine>, String> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for token in tokens(value)?.into_iter().chain([Token::Separator]) {
        match token {
            // systemd compares the unquoted first word with ";", so `";"` there separates too.
            Token::Word(w) if !(words.is_empty() && w == ";") => words.push(w),
            _ if words.is_empty() => {}
            _ => commands.push(parse_command(std::mem::take(&mut words))?),
        }
    }
    Ok(commands)
}

/// One command from its words: the prefixes of the first word, the executable, argv.
fn parse_command(words: Vec<String>) -> Result<CommandLine, String> {
    let mut words = words.into_iter();
    let first = words.next().unwrap_or_default();
    let (flags, path) = prefixes(&first);
    if path.is_empty() {
        return Err(format!("expected an executable after the prefix {first:?}"));
    }
    if !path.starts_with('/') && path.contains('/') {
        return Err(format!(
            "expected an absolute path or a bare file name (looked up in the fixed search path), found {path:?}"
        ));
    }
    if path.ends_with('/') {
        return Err(format!("expected an executable, found the directory {path:?}"));
    }
    let mut argv: Vec<String> = if flags.separate_argv0 { Vec::new() } else { vec![path.to_string()] };
    argv.extend(words);
    if argv.is_empty() {
        return Err(format!("expected argv[0] after {first:?} (the @ prefix takes it from the next word)"));
    }
    Ok(CommandLine { path: path.to_string(), argv, flags })
}

/// The prefixes at the start of `word`, in any order, each at most once; `+`, `!` and `!!`
/// exclude one another (as in systemd, a third `!` or a `+` after `!` ends the prefixes).
fn prefixes(word: &str) -> (CommandFlags, &str) {
    let mut f = CommandFlags::default();
    let mut rest = word;
    loop {
        let privilege_set = f.privileged || f.no_setuid || f.ambient_fallback;
        match rest.chars().next() {
            Some('-') if !f.ignore_failure => f.ignore_failure = true,
            Some('@') if !f.separate_argv0 => f.separate_argv0 = true,
            Some(':') if !f.no_env_expand => f.no_env_expand = true,
            Some('+') if !privilege_set => f.privileged = true,
            Some('!') if !privilege_set => f.no_setuid = true,
            Some('!') if f.no_setuid => {
                f.no_setuid = false;
                f.ambient_fallback = true;
            }
            _ => return (f, rest),
        }
        rest = &rest[1..];
    }
}

impl CommandLine {
    /// The prefixes as written, e.g. `-@`.
    pub fn prefix(&self) -> String {
        let f = &self.flags;
        let mut p = String::new();
        for (on, c) in [(f.ignore_failure, "-"), (f.separate_argv0, "@"), (f.no_env_expand, ":"), (f.privileged, "+")] {
            if on {
                p.push_str(c);
            }
        }
        p.push_str(if f.ambient_fallback {
            "!!"
        } else if f.no_setuid {
            "!"
        } else {
            ""
        });
        p
    }
}

/// The command as it could be written in a unit file (words with spaces or quotes quoted).
impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |w: &str| {
            if w.is_empty() || w.contains(|c: char| is_whitespace(c) || "\"'\\;".contains(c)) {
                quote(w)
            } else {
                w.to_string()
            }
        };
        write!(f, "{}{}", self.prefix(), show(&self.path))?;
        let args = if self.flags.separate_argv0 { &self.argv[..] } else { &self.argv[1..] };
        for a in args {
            write!(f, " {}", show(a))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Environment variables at start
// ---------------------------------------------------------------------------------------------

/// Expands variables in argv the way systemd 252 does when a command starts
/// (`replace_env_argv`): a word that is `$NAME` as a whole is replaced by the value split at
/// whitespace (quotes in the value group and are removed; an unset or empty variable leaves no
/// word at all); elsewhere `${NAME}` is replaced as-is (unset is empty, and the empty word is
/// kept) and `$$` is a literal `$`. `$NAME` inside a longer word and `${NAME:-default}` are
/// left as written.
pub fn expand_variables(argv: &[String], env: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    for word in argv {
        match word.strip_prefix('$').filter(|name| !name.starts_with(['{', '$'])) {
            Some(name) => out.extend(env.get(name).map(|v| split_relaxed(v)).unwrap_or_default()),
            None => out.push(replace_braced(word, env)),
        }
    }
    out
}

/// `${NAME}` → its value, `$$` → `$`; anything else stays as written (systemd's `replace_env`
/// without its extended syntax: a `:` inside the braces leaves the whole reference alone).
fn replace_braced(word: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            match body.find(['}', ':']) {
                Some(end) if body.as_bytes()[end] == b'}' => {
                    out.push_str(env.get(&body[..end]).map_or("", String::as_str));
                    rest = &body[end + 1..];
                }
                // Unsupported syntax or no closing brace: copied as written.
                Some(end) => {
                    out.push_str(&rest[i..i + 2 + end + 1]);
                    rest = &body[end + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Words split at whitespace, quotes grouping and removed, a backslash making the next
/// character literal; an unterminated quote runs to the end (systemd's
/// `EXTRACT_UNQUOTE|EXTRACT_RELAX`, used for variable values and the kernel command line).
pub fn split_relaxed(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && is_whitespace(c) {
            words.extend(word.take());
            continue;
        }
        let w = word.get_or_insert_with(String::new);
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (_, '\\') => w.push(chars.next().unwrap_or('\\')),
            _ => w.push(c),
        }
    }
    words.extend(word);
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(value: &str) -> CommandLine {
        let mut v = parse_command_lines(value).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(v.len(), 1, "{value}");
        v.remove(0)
    }

    fn argv(value: &str) -> Vec<String> {
        one(value).argv
    }

    #[test]
    fn words_are_split_and_unquoted() {
        assert_eq!(argv("/bin/echo a  b\tc"), ["/bin/echo", "a", "b", "c"]);
        assert_eq!(argv(r#"/bin/echo "a b" 'c d' e"f g"h"#), ["/bin/echo", "a b", "c d", "ef gh"]);
        assert_eq!(argv(r#"/bin/echo "" x"#), ["/bin/echo", "", "x"]);
        assert_eq!(argv(r"/bin/printf a\tb\x41"), ["/bin/printf", "a\tbA"]);
        // A '#' later in the line is part of the value.
        assert_eq!(argv("/bin/echo a # b"), ["/bin/echo", "a", "#", "b"]);
    }

    #[test]
    fn a_lone_semicolon_separates_commands() {
        let v = parse_command_lines("/bin/a 1 ; /bin/b 2;x ; -/bin/c").unwrap();
        let argvs: Vec<Vec<String>> = v.iter().map(|c| c.argv.clone()).collect();
        assert_eq!(argvs, [vec!["/bin/a", "1"], vec!["/bin/b", "2;x"], vec!["/bin/c"]]);
        assert!(v[2].flags.ignore_failure);
        assert_eq!(argv(r"/bin/find . -exec rm {} \;"), ["/bin/find", ".", "-exec", "rm", "{}", ";"]);
        assert_eq!(argv(r#"/bin/echo ";" x"#), ["/bin/echo", ";", "x"], "a quoted ; is an argument");
        assert_eq!(argv("/bin/echo a;"), ["/bin/echo", "a;"]);
        assert_eq!(argv("; /bin/true ;"), ["/bin/true"]);
        assert!(parse_command_lines(";").unwrap().is_empty());
    }

    #[test]
    fn prefixes_combine_in_any_order() {
        let c = one("-@:/bin/sh sh -c true");
        assert!(c.flags.ignore_failure && c.flags.separate_argv0 && c.flags.no_env_expand);
        assert_eq!(c.path, "/bin/sh");
        assert_eq!(c.argv, ["sh", "-c", "true"]);
        assert_eq!(one(":-/bin/true").flags, one("-:/bin/true").flags);
        assert!(one("+/bin/true").flags.privileged);
        let bang = one("!/bin/true").flags;
        assert!(bang.no_setuid && !bang.ambient_fallback);
        let double = one("!!/bin/true").flags;
        assert!(double.ambient_fallback && !double.no_setuid);
        assert!(one("-!!/bin/true").flags.ignore_failure);
        // A repeated prefix is part of the executable's name (and then not a valid path).
        assert!(parse_command_lines("--/bin/true").unwrap_err().contains("\"-/bin/true\""));
        assert_eq!(one("--x").path, "-x", "a bare name may start with '-' after the prefix");
        assert!(parse_command_lines("+!/bin/true").is_err(), "! after + is not a prefix");
    }

    #[test]
    fn at_takes_argv0_from_the_next_word() {
        let c = one("@/usr/bin/busybox sh -c 'echo hi'");
        assert_eq!(c.path, "/usr/bin/busybox");
        assert_eq!(c.argv, ["sh", "-c", "echo hi"]);
        let e = parse_command_lines("@/bin/true").unwrap_err();
        assert!(e.contains("argv[0]"), "{e}");
    }

    #[test]
    fn executables_are_absolute_or_bare_names() {
        assert_eq!(one("echo hi").path, "echo");
        for bad in ["bin/echo", "./echo", "/usr/bin/", "-", "@", "-@:"] {
            assert!(parse_command_lines(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(parse_command_lines(r#"/bin/echo "unterminated"#).unwrap_err().contains("unterminated"));
        assert!(parse_command_lines(r"/bin/echo \q").unwrap_err().contains("unknown escape"));
    }

    #[test]
    fn display_round_trips() {
        for value in ["-@/bin/sh sh -c \"echo a b\"", "/bin/echo \"\" \";\" x", "!!/bin/true", ":+/bin/env"] {
            let c = one(value);
            assert_eq!(one(&c.to_string()), c, "{value} → {c}");
        }
        assert_eq!(one("-/bin/echo 'a b'").to_string(), "-/bin/echo \"a b\"");
    }

    #[test]
    fn specifiers_are_expanded_per_word_after_unquoting() {
        let expand = |w: &str| Ok(w.replace("%h", "/home/a b").replace("%i", r"x\x2dy"));
        let v = expand_specifiers(r#"/bin/ls "%h" %i ; /bin/echo '%%'"#, expand).unwrap();
        let cmds = parse_command_lines(&v).unwrap();
        assert_eq!(cmds[0].argv, ["/bin/ls", "/home/a b", r"x\x2dy"]);
        assert_eq!(cmds[1].argv, ["/bin/echo", "%%"]);
        let failing = |_: &str| Err("bad".to_string());
        assert_eq!(expand_specifiers("/bin/x %Q", failing).unwrap_err(), "bad");
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Checked against systemd 252's `replace_env_argv` (src/basic/env-util.c).
    #[test]
    fn variables_expand_like_systemd() {
        let e = env(&[("A", "x  y"), ("Q", r#""a b" c\ d"#), ("E", ""), ("P", "/p")]);
        let x = |argv: &[&str]| expand_variables(&words(argv), &e);
        assert_eq!(x(&["/bin/e", "$A"]), ["/bin/e", "x", "y"], "a whole-word $NAME is split");
        assert_eq!(x(&["/bin/e", "${A}"]), ["/bin/e", "x  y"], "${{NAME}} is kept whole");
        assert_eq!(x(&["/bin/e", "$Q"]), ["/bin/e", "a b", "c d"], "quotes in the value group");
        assert_eq!(x(&["/bin/e", "$UNSET", "$E", "z"]), ["/bin/e", "z"], "unset or empty leaves no word");
        assert_eq!(x(&["/bin/e", "${UNSET}", "${E}"]), ["/bin/e", "", ""], "${{...}} keeps an empty word");
        assert_eq!(x(&["/bin/e", "pre${P}post", "a$Px"]), ["/bin/e", "pre/ppost", "a$Px"], "$NAME inside a word");
        // A word starting with $ names a variable up to its end: "$P/x" looks up "P/x".
        assert_eq!(x(&["/bin/e", "$P/x"]), ["/bin/e"]);
        assert_eq!(x(&["/bin/e", "$$", "a$$b", "$${A}"]), ["/bin/e", "$", "a$b", "${A}"]);
        assert_eq!(x(&["/bin/e", "${A:-d}", "${A", "$", "x$"]), ["/bin/e", "${A:-d}", "${A", "x$"]);
        assert_eq!(x(&["/bin/e", "${P}${P}"]), ["/bin/e", "/p/p"]);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(value in any::<String>()) {
            let _ = parse_command_lines(&value);
            let _ = expand_specifiers(&value, |w| Ok(w.to_string()));
        }

        #[test]
        fn expansion_never_panics(argv in prop::collection::vec("[$}{: a-zA-Z\"'\\\\]{0,12}", 0..5)) {
            let _ = expand_variables(&argv, &env(&[("a", "b c"), ("A", "'x")]));
        }

        #[test]
        fn identity_expansion_keeps_the_commands(value in "[-@:!+]{0,3}/[a-z]{1,5}( [a-z;\"' ]{0,6}){0,4}") {
            if let Ok(cmds) = parse_command_lines(&value) {
                let requoted = expand_specifiers(&value, |w| Ok(w.to_string())).unwrap();
                prop_assert_eq!(parse_command_lines(&requoted).unwrap(), cmds);
            }
        }
    }
}
