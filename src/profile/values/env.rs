//! The environment: variable names, `Environment=` assignments and `EnvironmentFile=`
//! contents.
//!
//! Invariant: every assignment that leaves here has a valid name (ASCII letters, digits and
//! `_`, not starting with a digit) and a value without NUL; an error in a file carries the
//! 1-based line it starts on. Every parser is total; nothing here reads a file.

use super::words::split_words;
use super::{WHITESPACE, is_whitespace};

const ENV_NAME_EXPECTED: &str = "expected ASCII letters, digits and '_', not starting with a digit";

/// systemd's rule for variable names: ASCII letters, digits and `_`, not empty, not starting
/// with a digit.
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

/// An `Environment=` value: words as [`split_words`] splits them, each `NAME=VALUE`.
/// Quote a whole assignment to put spaces in its value: `"A=x y" B=z`.
pub fn parse_env_assignments(value: &str) -> Result<Vec<(String, String)>, String> {
    split_words(value)?.iter().map(|word| parse_env_word(word)).collect()
}

fn parse_env_word(word: &str) -> Result<(String, String), String> {
    let Some((name, value)) = word.split_once('=') else {
        return Err(format!("expected NAME=VALUE, found {word:?}"));
    };
    check_env_pair(name, value)?;
    Ok((name.to_string(), value.to_string()))
}

fn check_env_pair(name: &str, value: &str) -> Result<(), String> {
    if !valid_env_name(name) {
        let hint = if name.starts_with("export ") { " (a shell 'export' prefix is not understood)" } else { "" };
        return Err(format!("invalid variable name {name:?}: {ENV_NAME_EXPECTED}{hint}"));
    }
    if value.contains('\0') {
        return Err(format!("expected a value for {name} without NUL characters"));
    }
    Ok(())
}

/// Parses `EnvironmentFile=` contents as systemd.exec(5) describes them:
///
/// * `NAME=VALUE` lines; blank lines, lines without `=` and lines whose first non-blank
///   character is `#` or `;` are skipped (a comment never continues onto the next line);
///   `export NAME=...` is not special, and so is refused as an invalid name;
/// * whitespace around the name and the value is dropped;
/// * an unquoted value keeps its inner whitespace and any quotes after its first character;
///   a backslash makes the next character literal, and backslash-newline joins lines;
/// * a value starting with `'` runs verbatim to the next `'`, possibly over several lines;
/// * a value starting with `"` runs to the next unescaped `"`; inside, a backslash before
///   `" \ ` $` keeps just that character, before a newline joins lines, and is otherwise kept.
///
/// sbx is stricter than systemd, which skips bad lines with a warning: an invalid variable name
/// or an unterminated quote is an error, with the 1-based line it starts on.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (u32, String)> {
    let mut parser = EnvFileParser::default();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        parser.feed(c)?;
    }
    parser.finish()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EnvState {
    #[default]
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuoted,
    DoubleQuoted,
    DoubleQuotedEscape,
    Comment,
}

#[derive(Debug)]
struct EnvFileParser {
    state: EnvState,
    /// The 1-based line being read.
    line: u32,
    key: String,
    key_line: u32,
    value: String,
    /// How much of `value` to keep: unquoted trailing whitespace is dropped.
    value_keep: usize,
    quote_line: u32,
    assignments: Vec<(String, String)>,
}

impl Default for EnvFileParser {
    fn default() -> Self {
        EnvFileParser {
            state: EnvState::PreKey,
            line: 1,
            key: String::new(),
            key_line: 1,
            value: String::new(),
            value_keep: 0,
            quote_line: 1,
            assignments: Vec::new(),
        }
    }
}

fn is_env_newline(c: char) -> bool {
    c == '\n' || c == '\r'
}

impl EnvFileParser {
    fn feed(&mut self, c: char) -> Result<(), (u32, String)> {
        match self.state {
            EnvState::PreKey => self.pre_key(c),
            EnvState::Key => self.key_char(c),
            EnvState::PreValue => return self.pre_value(c),
            EnvState::Value => return self.value_char(c),
            EnvState::ValueEscape => {
                self.state = EnvState::Value;
                self.push_kept(c);
            }
            EnvState::SingleQuoted => self.quoted_char(c, '\''),
            EnvState::DoubleQuoted if c == '\\' => self.state = EnvState::DoubleQuotedEscape,
            EnvState::DoubleQuoted => self.quoted_char(c, '"'),
            EnvState::DoubleQuotedEscape => self.double_quoted_escape(c),
            EnvState::Comment if is_env_newline(c) => self.next_line(EnvState::PreKey),
            EnvState::Comment => {}
        }
        Ok(())
    }

    fn next_line(&mut self, state: EnvState) {
        self.line = self.line.saturating_add(1);
        self.state = state;
    }

    fn pre_key(&mut self, c: char) {
        if is_env_newline(c) {
            self.next_line(EnvState::PreKey);
        } else if c == '#' || c == ';' {
            self.state = EnvState::Comment;
        } else if !is_whitespace(c) {
            self.key.clear();
            self.key.push(c);
            self.key_line = self.line;
            self.state = EnvState::Key;
        }
    }

    fn key_char(&mut self, c: char) {
        if is_env_newline(c) {
            // A line without '=' is skipped.
            self.next_line(EnvState::PreKey);
        } else if c == '=' {
            self.value.clear();
            self.value_keep = 0;
            self.state = EnvState::PreValue;
        } else {
            self.key.push(c);
        }
    }

    fn pre_value(&mut self, c: char) -> Result<(), (u32, String)> {
        match c {
            _ if is_env_newline(c) => {
                self.push_assignment()?;
                self.next_line(EnvState::PreKey);
            }
            '\'' => self.open_quote(EnvState::SingleQuoted),
            '"' => self.open_quote(EnvState::DoubleQuoted),
            '\\' => self.state = EnvState::ValueEscape,
            _ if is_whitespace(c) => {}
            _ => {
                self.push_kept(c);
                self.state = EnvState::Value;
            }
        }
        Ok(())
    }

    fn value_char(&mut self, c: char) -> Result<(), (u32, String)> {
        if is_env_newline(c) {
            self.push_assignment()?;
            self.next_line(EnvState::PreKey);
        } else if c == '\\' {
            self.state = EnvState::ValueEscape;
        } else if is_whitespace(c) {
            self.value.push(c);
        } else {
            self.push_kept(c);
        }
        Ok(())
    }

    /// Appends a character that is never trimmed. An escaped newline joins lines instead.
    fn push_kept(&mut self, c: char) {
        if is_env_newline(c) {
            self.line = self.line.saturating_add(1);
            return;
        }
        self.value.push(c);
        self.value_keep = self.value.len();
    }

    fn open_quote(&mut self, state: EnvState) {
        self.quote_line = self.line;
        self.state = state;
    }

    fn quoted_char(&mut self, c: char, close: char) {
        if c == close {
            self.state = EnvState::PreValue;
            return;
        }
        if is_env_newline(c) {
            self.line = self.line.saturating_add(1);
        }
        self.value.push(c);
        self.value_keep = self.value.len();
    }

    fn double_quoted_escape(&mut self, c: char) {
        self.state = EnvState::DoubleQuoted;
        if is_env_newline(c) {
            self.line = self.line.saturating_add(1);
            return;
        }
        if !"\"\\`$".contains(c) {
            self.value.push('\\');
        }
        self.value.push(c);
        self.value_keep = self.value.len();
    }

    fn push_assignment(&mut self) -> Result<(), (u32, String)> {
        let name = self.key.trim_end_matches(WHITESPACE);
        let value = self.value.get(..self.value_keep).unwrap_or(&self.value);
        check_env_pair(name, value).map_err(|message| (self.key_line, message))?;
        self.assignments.push((name.to_string(), value.to_string()));
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<(String, String)>, (u32, String)> {
        match self.state {
            EnvState::PreValue | EnvState::Value | EnvState::ValueEscape => self.push_assignment()?,
            EnvState::SingleQuoted => return Err(self.unterminated('\'')),
            EnvState::DoubleQuoted | EnvState::DoubleQuotedEscape => {
                return Err(self.unterminated('"'));
            }
            EnvState::PreKey | EnvState::Key | EnvState::Comment => {}
        }
        Ok(self.assignments)
    }

    fn unterminated(&self, quote: char) -> (u32, String) {
        let message = format!("expected a closing {quote} for the value of {} (unterminated quote)", self.key.trim());
        (self.quote_line, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    // --- environment ---------------------------------------------------------------------------

    #[test]
    fn env_names() {
        for name in ["A", "_", "a_b", "PATH", "X1", "_1"] {
            assert!(valid_env_name(name), "{name}");
        }
        for name in ["", "1B", "C-D", "E.F", "É", "A B", "A=B", "export X"] {
            assert!(!valid_env_name(name), "{name}");
        }
    }

    /// The example from systemd.exec(5), and empty values.
    #[test]
    fn env_assignments() {
        let parsed = parse_env_assignments(r#"VAR1="word1 word2" VAR2=word3 "VAR3=$word 5 6""#);
        assert_eq!(parsed, Ok(pairs(&[("VAR1", "word1 word2"), ("VAR2", "word3"), ("VAR3", "$word 5 6")])));
        assert_eq!(parse_env_assignments("A= B==x"), Ok(pairs(&[("A", ""), ("B", "=x")])));
        assert_eq!(parse_env_assignments(r"M=\u00e9 O=\s"), Ok(pairs(&[("M", "é"), ("O", " ")])));
        assert_eq!(parse_env_assignments(""), Ok(vec![]));
    }

    #[test]
    fn bad_env_assignments_say_what_was_expected() {
        let err = parse_env_assignments("A=1 1B=2").unwrap_err();
        assert_eq!(
            err,
            "invalid variable name \"1B\": expected ASCII letters, digits and '_', not starting with a digit"
        );
        assert!(parse_env_assignments("C-D=3").unwrap_err().starts_with("invalid variable name \"C-D\""));
        assert!(parse_env_assignments("É=1").is_err());
        assert_eq!(parse_env_assignments("NOEQUALS").unwrap_err(), "expected NAME=VALUE, found \"NOEQUALS\"");
        assert_eq!(parse_env_assignments(r#""""#).unwrap_err(), "expected NAME=VALUE, found \"\"");
        assert_eq!(
            parse_env_assignments("=x").unwrap_err(),
            "invalid variable name \"\": expected ASCII letters, digits and '_', not starting with a digit"
        );
        assert!(parse_env_assignments(r#"P="unterminated"#).unwrap_err().contains("unterminated quote"));
        assert!(parse_env_assignments(r"J=\q").unwrap_err().starts_with("unknown escape sequence"));
        assert!(parse_env_assignments(r"L=\x00").unwrap_err().contains("other than NUL"));
    }

    // --- environment files ---------------------------------------------------------------------

    fn env_file(text: &str) -> Vec<(String, String)> {
        parse_env_file(text).unwrap()
    }

    #[test]
    fn env_file_basics() {
        let text = "# comment\n; other comment\n\nA=1\n  B = two words  \nC=\nNOEQUALS\n   # indented comment\nD=x#y\n";
        assert_eq!(env_file(text), pairs(&[("A", "1"), ("B", "two words"), ("C", ""), ("D", "x#y")]));
        assert_eq!(env_file(""), vec![]);
        assert_eq!(env_file("A=1"), pairs(&[("A", "1")]));
        assert_eq!(env_file("A=1\r\nB=2\r\n"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(env_file("A=1\rB=2"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(env_file("A=1\nA=2"), pairs(&[("A", "1"), ("A", "2")]));
    }

    #[test]
    fn env_file_unquoted_values() {
        assert_eq!(env_file(r#"A=x "y" 'z'"#), pairs(&[("A", r#"x "y" 'z'"#)]));
        assert_eq!(env_file("A=a\\\\b"), pairs(&[("A", "a\\b")]));
        assert_eq!(env_file("A=a\\nb"), pairs(&[("A", "anb")]));
        assert_eq!(env_file("A=a\\ "), pairs(&[("A", "a ")]));
        assert_eq!(env_file("A=one\\\ntwo\nB=3"), pairs(&[("A", "onetwo"), ("B", "3")]));
        assert_eq!(env_file("A=\\\"q\\\""), pairs(&[("A", "\"q\"")]));
        assert_eq!(env_file("A=x\t \n"), pairs(&[("A", "x")]));
        assert_eq!(env_file("A=tail\\"), pairs(&[("A", "tail")]));
    }

    #[test]
    fn env_file_single_quotes_are_verbatim() {
        assert_eq!(env_file("A='a \\n \"b\" $c'"), pairs(&[("A", "a \\n \"b\" $c")]));
        assert_eq!(env_file("A='line1\nline2'\nB=2"), pairs(&[("A", "line1\nline2"), ("B", "2")]));
        assert_eq!(env_file("A=  'x'  "), pairs(&[("A", "x")]));
        assert_eq!(env_file("A='x'y"), pairs(&[("A", "xy")]));
        assert_eq!(env_file("A='x' 'y'"), pairs(&[("A", "xy")]));
        assert_eq!(env_file("A='  '"), pairs(&[("A", "  ")]));
    }

    #[test]
    fn env_file_double_quotes_follow_the_shell() {
        assert_eq!(env_file(r#"A="a \" \\ \` \$ b""#), pairs(&[("A", r#"a " \ ` $ b"#)]));
        assert_eq!(env_file(r#"A="keep \n and \q""#), pairs(&[("A", r"keep \n and \q")]));
        assert_eq!(env_file("A=\"one\\\ntwo\""), pairs(&[("A", "onetwo")]));
        assert_eq!(env_file("A=\"one\ntwo\""), pairs(&[("A", "one\ntwo")]));
        assert_eq!(env_file("A=\"x\"  \nB=1"), pairs(&[("A", "x"), ("B", "1")]));
    }

    #[test]
    fn env_file_comments_do_not_continue() {
        assert_eq!(env_file("# comment \\\nA=1"), pairs(&[("A", "1")]));
    }

    #[test]
    fn env_file_errors_carry_the_line() {
        assert_eq!(
            parse_env_file("A=1\nexport B=2\n").unwrap_err(),
            (
                2,
                "invalid variable name \"export B\": expected ASCII letters, digits and '_', not starting with \
                 a digit (a shell 'export' prefix is not understood)"
                    .to_string()
            )
        );
        assert_eq!(parse_env_file("\n\n1X=2").unwrap_err().0, 3);
        assert_eq!(
            parse_env_file("A=\"x\ny\nB-C=1").unwrap_err(),
            (1, "expected a closing \" for the value of A (unterminated quote)".to_string())
        );
        assert_eq!(
            parse_env_file("A='x\ny\n\n").unwrap_err(),
            (1, "expected a closing ' for the value of A (unterminated quote)".to_string())
        );
        assert_eq!(parse_env_file("A='x\ny'\nB-C=1").unwrap_err().0, 3);
        assert_eq!(parse_env_file("A=1\r\nB=\"2\r\n3\"\r\nC-D=4").unwrap_err().0, 4);
        assert_eq!(parse_env_file("A=1\\\n2\n-=3").unwrap_err().0, 3);
        assert_eq!(
            parse_env_file("A=a\0b").unwrap_err(),
            (1, "expected a value for A without NUL characters".to_string())
        );
        assert_eq!(parse_env_file("\u{feff}A=1").unwrap_err().0, 1);
    }

    // --- properties ----------------------------------------------------------------------------

    proptest! {
        #[test]
        fn env_file_never_panics(text in "[A-Z_=#; \t\n\r'\"\\\\$`a-z0-9]{0,60}") {
            let _ = parse_env_file(&text);
        }
    }
}
