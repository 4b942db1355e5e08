//! The unit-file lexer: profile text in, ordered `Assignment`s and warnings out, following
//! systemd.syntax(7).
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`. A line whose first non-blank character is `#` or
//! `;` is a comment, even inside a continuation. A line ending in an odd number of backslashes
//! continues: the last backslash becomes a space and the next line is appended as written.
//! `[Name]` opens a section; `Key=Value` assigns, with whitespace around the key and the value
//! trimmed. Values stay raw: quotes, escapes and specifiers are left for later stages.
//!
//! Invariant: every assignment and warning carries the origin of the line its statement starts
//! on, only assignments in `[Unit]`, `[Service]`, `[X-Sbx]` and `[Install]` are returned, and
//! anything that is not blank, a comment, a section header or `Key=Value` stops parsing with an
//! error that names the line. No input makes the lexer panic.

use std::fmt;
use std::sync::Arc;

use crate::error::ProfileError;
use crate::profile::{Assignment, Origin, Section};

/// The assignments of one profile, in file order, and what was ignored on the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedFile {
    pub assignments: Vec<Assignment>,
    pub warnings: Vec<Warning>,
}

/// Something the lexer skipped that the author probably wants to know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Splits `text` (the contents of `source`) into assignments.
///
/// Assignments in an unknown section or before any section header are dropped with a warning,
/// as is the unknown section header itself. A line that is not blank, a comment, a section
/// header or `Key=Value`, an unterminated section header, an empty or malformed key, or a NUL
/// character is a [`ProfileError::Syntax`]. A file that ends inside a continuation keeps what
/// was collected.
pub fn parse(text: &str, source: &Arc<str>) -> Result<ParsedFile, ProfileError> {
    let mut lexer = Lexer::new(source);
    for (number, line) in physical_lines(text) {
        lexer.line(number, line)?;
    }
    lexer.finish()
}

/// Blanks as systemd trims them around keys, values and whole lines.
const BLANKS: [char; 2] = [' ', '\t'];

fn trim_blanks(s: &str) -> &str {
    s.trim_matches(BLANKS)
}

/// The lines of `text` with their 1-based numbers; a leading byte order mark is skipped.
fn physical_lines(text: &str) -> Vec<(u32, &str)> {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut number: u32 = 1;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let (line, tail) = rest.split_at(end);
        lines.push((number, line));
        rest = strip_line_break(tail);
        number = number.saturating_add(1);
    }
    lines
}

fn strip_line_break(s: &str) -> &str {
    s.strip_prefix("\r\n").or_else(|| s.strip_prefix('\n')).or_else(|| s.strip_prefix('\r')).unwrap_or(s)
}

fn is_comment(line: &str) -> bool {
    line.trim_start_matches(BLANKS).starts_with(['#', ';'])
}

/// A line continues onto the next one when it ends in an unescaped backslash, that is an odd
/// number of backslashes (`\\` at the end is an escaped backslash).
fn continues(line: &str) -> bool {
    let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
    trailing % 2 == 1
}

/// Keys are what systemd's directive names are made of: ASCII letters and digits, with `-`,
/// `_` and `.` tolerated (systemd itself takes any text before `=` and then looks it up).
fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// At most 60 characters of `text`, for error messages.
fn abbreviate(text: &str) -> String {
    const LIMIT: usize = 60;
    if text.chars().count() <= LIMIT {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(LIMIT).collect();
    format!("{head:?}...")
}

/// The section the lexer is in.
#[derive(Clone, Debug)]
enum Current {
    /// Before the first section header.
    Nowhere,
    Known(Section),
    Unknown(String),
}

struct Lexer<'a> {
    source: &'a Arc<str>,
    section: Current,
    /// A statement being continued: the line it started on and the text so far.
    pending: Option<(u32, String)>,
    parsed: ParsedFile,
}

impl<'a> Lexer<'a> {
    fn new(source: &'a Arc<str>) -> Self {
        Lexer { source, section: Current::Nowhere, pending: None, parsed: ParsedFile::default() }
    }

    /// Takes one physical line: skips comments, joins continuations, and hands complete
    /// statements to [`Lexer::statement`].
    fn line(&mut self, number: u32, line: &str) -> Result<(), ProfileError> {
        if line.contains('\0') {
            return Err(self.error(number, "expected text, found a NUL character".to_string()));
        }
        if is_comment(line) {
            return Ok(());
        }
        let (start, mut text) = match self.pending.take() {
            Some((start, mut text)) => {
                text.push_str(line);
                (start, text)
            }
            None => (number, line.to_string()),
        };
        if continues(&text) {
            text.pop();
            text.push(' ');
            self.pending = Some((start, text));
            return Ok(());
        }
        self.statement(start, &text)
    }

    fn finish(mut self) -> Result<ParsedFile, ProfileError> {
        if let Some((start, text)) = self.pending.take() {
            self.statement(start, &text)?;
        }
        Ok(self.parsed)
    }

    /// One logical line, starting on line `number`.
    fn statement(&mut self, number: u32, text: &str) -> Result<(), ProfileError> {
        let text = trim_blanks(text);
        if text.is_empty() {
            Ok(())
        } else if text.starts_with('[') {
            self.section_header(number, text)
        } else {
            self.assignment(number, text)
        }
    }

    fn section_header(&mut self, number: u32, text: &str) -> Result<(), ProfileError> {
        let Some(name) = text.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) else {
            let message = format!("expected ']' at the end of the section header {}", abbreviate(text));
            return Err(self.error(number, message));
        };
        self.section = match Section::from_name(name) {
            Some(section) => Current::Known(section),
            None => {
                let message = format!(
                    "unknown section [{name}], its assignments are ignored: expected [Unit], [Service] or [X-Sbx]"
                );
                self.warn(number, message);
                Current::Unknown(name.to_string())
            }
        };
        Ok(())
    }

    fn assignment(&mut self, number: u32, text: &str) -> Result<(), ProfileError> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(self.error(number, missing_equals(text)));
        };
        let key = trim_blanks(key);
        if key.is_empty() {
            return Err(self.error(number, "expected a key before '='".to_string()));
        }
        if !valid_key(key) {
            let message = format!("invalid key {}: expected ASCII letters, digits, '-', '_' or '.'", abbreviate(key));
            return Err(self.error(number, message));
        }
        match &self.section {
            Current::Known(section) => {
                let assignment = Assignment {
                    section: *section,
                    key: key.to_string(),
                    value: trim_blanks(value).to_string(),
                    origin: Origin::new(self.source, number),
                };
                self.parsed.assignments.push(assignment);
            }
            Current::Unknown(name) => {
                let message = format!("{key}= is in unknown section [{name}] and is ignored");
                self.warn(number, message);
            }
            Current::Nowhere => {
                let message = format!(
                    "{key}= comes before any section header and is ignored: expected [Service] or another section first"
                );
                self.warn(number, message);
            }
        }
        Ok(())
    }

    fn error(&self, number: u32, message: String) -> ProfileError {
        ProfileError::Syntax { origin: Origin::new(self.source, number), message }
    }

    fn warn(&mut self, number: u32, message: String) {
        self.parsed.warnings.push(Warning { origin: Origin::new(self.source, number), message });
    }
}

/// The error for a line with no `=`.
fn missing_equals(text: &str) -> String {
    if text.starts_with(".include") {
        return "'.include' is not supported: expected Key=Value, a [Section] header or a comment".to_string();
    }
    format!("expected Key=Value, a [Section] header or a comment, found {}", abbreviate(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn source() -> Arc<str> {
        Arc::from("test.conf")
    }

    fn ok(text: &str) -> ParsedFile {
        parse(text, &source()).unwrap()
    }

    /// `(section, key, value, line)` for each assignment.
    fn summary(text: &str) -> Vec<(Section, String, String, u32)> {
        ok(text).assignments.into_iter().map(|a| (a.section, a.key, a.value, a.origin.line)).collect()
    }

    fn one(section: Section, key: &str, value: &str, line: u32) -> (Section, String, String, u32) {
        (section, key.to_string(), value.to_string(), line)
    }

    /// The origin line and message of a syntax error.
    fn error(text: &str) -> (u32, String) {
        match parse(text, &source()) {
            Err(ProfileError::Syntax { origin, message }) => {
                assert_eq!(&*origin.source, "test.conf");
                (origin.line, message)
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    fn warnings(text: &str) -> Vec<(u32, String)> {
        ok(text).warnings.into_iter().map(|w| (w.origin.line, w.message)).collect()
    }

    #[test]
    fn sections_and_assignments_in_order() {
        let text = "[Unit]\nDescription=web server\n\n[Service]\nExecStart=/usr/bin/web --port=80\nUser=web\n[X-Sbx]\nNetwork=none\n[Service]\nNice=5\n";
        assert_eq!(
            summary(text),
            [
                one(Section::Unit, "Description", "web server", 2),
                one(Section::Service, "ExecStart", "/usr/bin/web --port=80", 5),
                one(Section::Service, "User", "web", 6),
                one(Section::XSbx, "Network", "none", 8),
                one(Section::Service, "Nice", "5", 10),
            ]
        );
        assert!(ok(text).warnings.is_empty());
    }

    #[test]
    fn origin_names_the_source_and_line() {
        let parsed = ok("[Service]\n\nUser=web");
        let origin = &parsed.assignments[0].origin;
        assert_eq!(&*origin.source, "test.conf");
        assert_eq!(origin.line, 3);
        assert_eq!(origin.to_string(), "test.conf:3");
    }

    #[test]
    fn empty_and_blank_files() {
        assert_eq!(ok(""), ParsedFile::default());
        assert_eq!(ok("\n\n  \t\n"), ParsedFile::default());
        assert_eq!(ok("# only a comment"), ParsedFile::default());
    }

    #[test]
    fn comments_start_with_hash_or_semicolon() {
        let text = "[Service]\n# a comment\n; another\n   # indented\n\t; tabbed\nNice=4 # not a comment\nUser=a;b\n";
        assert_eq!(
            summary(text),
            [one(Section::Service, "Nice", "4 # not a comment", 6), one(Section::Service, "User", "a;b", 7),]
        );
    }

    #[test]
    fn whitespace_around_key_and_value_is_trimmed() {
        let text = "  [Service]  \n  Nice \t=\t 5 \t\nEnvironment=A=1   B=2  \nUser=\nGroup =   \n";
        assert_eq!(
            summary(text),
            [
                one(Section::Service, "Nice", "5", 2),
                one(Section::Service, "Environment", "A=1   B=2", 3),
                one(Section::Service, "User", "", 4),
                one(Section::Service, "Group", "", 5),
            ]
        );
    }

    #[test]
    fn values_are_kept_raw() {
        let text = "[Service]\nEnvironment=\"A=b c\" 'D=%h' E=\\x41\nExecStart=/bin/sh -c \"echo $HOME; exit 1\"\n";
        assert_eq!(
            summary(text),
            [
                one(Section::Service, "Environment", "\"A=b c\" 'D=%h' E=\\x41", 2),
                one(Section::Service, "ExecStart", "/bin/sh -c \"echo $HOME; exit 1\"", 3),
            ]
        );
    }

    /// The backslash becomes a space and the next line is appended as written, as systemd 252
    /// does (checked with `systemd-analyze verify`: `Nice=1\` + `   0` reads `1    0`).
    #[test]
    fn continuation_lines_join_with_a_space() {
        let text = "[Service]\nNice=1\\\n   0\nExecStart=/bin/echo \\\n  a \\\n  b\nUser=x\n";
        assert_eq!(
            summary(text),
            [
                one(Section::Service, "Nice", "1    0", 2),
                one(Section::Service, "ExecStart", "/bin/echo    a    b", 4),
                one(Section::Service, "User", "x", 7),
            ]
        );
        assert_eq!(summary("[Service]\nA=x\\\ny"), [one(Section::Service, "A", "x y", 2)]);
    }

    /// systemd.syntax(7): a comment block inside a continuation is skipped.
    #[test]
    fn comments_inside_a_continuation_are_skipped() {
        let text = "[Service]\nKeyThree=value 3\\\n# this line is ignored\n; this line is ignored too\n       value 3 continued\nNext=1\n";
        assert_eq!(
            summary(text),
            [
                one(Section::Service, "KeyThree", "value 3        value 3 continued", 2),
                one(Section::Service, "Next", "1", 6),
            ]
        );
    }

    #[test]
    fn a_blank_line_ends_a_continuation() {
        let text = "[Service]\nNice=1\\\n\nUser=x\n";
        assert_eq!(summary(text), [one(Section::Service, "Nice", "1", 2), one(Section::Service, "User", "x", 4)]);
    }

    #[test]
    fn only_an_odd_number_of_backslashes_continues() {
        let text = "[Service]\nA=a\\\\\nB=b\\\\\\\nc\nC=c \\  \nD=d\n";
        assert_eq!(
            summary(text),
            [
                one(Section::Service, "A", "a\\\\", 2),
                one(Section::Service, "B", "b\\\\ c", 3),
                one(Section::Service, "C", "c \\", 5),
                one(Section::Service, "D", "d", 6),
            ]
        );
    }

    #[test]
    fn a_comment_ending_in_a_backslash_does_not_continue() {
        let text = "[Service]\n# comment \\\nNice=1\n";
        assert_eq!(summary(text), [one(Section::Service, "Nice", "1", 3)]);
    }

    #[test]
    fn a_file_ending_inside_a_continuation_keeps_what_was_collected() {
        assert_eq!(summary("[Service]\nExecStart=/bin/true \\"), [one(Section::Service, "ExecStart", "/bin/true", 2)]);
        assert_eq!(
            summary("[Service]\nExecStart=/bin/a \\\n  b \\\n"),
            [one(Section::Service, "ExecStart", "/bin/a    b", 2)]
        );
        assert_eq!(summary("[Service]\nA=1 \\\n# trailing comment"), [one(Section::Service, "A", "1", 2)]);
    }

    #[test]
    fn section_headers_can_be_continued_too() {
        assert_eq!(summary("[Serv\\\nice]\nA=1").len(), 0);
        let (line, message) = error("[Service]\\\nNice=1\n");
        assert_eq!(line, 1);
        assert!(message.starts_with("expected ']' at the end of the section header"), "{message}");
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        assert_eq!(
            summary("[Service]\r\nNice=1\r\nUser=a b\r\n"),
            [one(Section::Service, "Nice", "1", 2), one(Section::Service, "User", "a b", 3),]
        );
        assert_eq!(
            summary("[Service]\rNice=1\rNice=2\n"),
            [one(Section::Service, "Nice", "1", 2), one(Section::Service, "Nice", "2", 3),]
        );
        assert_eq!(summary("[Service]\r\nA=x\\\r\n  y\r\n"), [one(Section::Service, "A", "x   y", 2)]);
        assert_eq!(summary("[Service]\n\r\n\rA=1"), [one(Section::Service, "A", "1", 4)]);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        assert_eq!(summary("\u{feff}[Service]\nA=1"), [one(Section::Service, "A", "1", 2)]);
    }

    #[test]
    fn keys_allow_letters_digits_dash_underscore_and_dot() {
        let text = "[X-Sbx]\nFoo=1\nFoo-Bar=2\nFoo_Bar=3\nFoo.Bar=4\nX-Custom2=5\n";
        let keys: Vec<String> = ok(text).assignments.into_iter().map(|a| a.key).collect();
        assert_eq!(keys, ["Foo", "Foo-Bar", "Foo_Bar", "Foo.Bar", "X-Custom2"]);
    }

    #[test]
    fn bad_keys_are_errors_naming_what_was_expected() {
        for (text, key) in [("Foo Bar=1", "Foo Bar"), ("Ümlaut=1", "Ümlaut"), ("A/B=1", "A/B"), ("\"A\"=1", "\"A\"")]
        {
            let (line, message) = error(&format!("[Service]\n{text}\n"));
            assert_eq!(line, 2);
            assert_eq!(message, format!("invalid key {key:?}: expected ASCII letters, digits, '-', '_' or '.'"));
        }
        let (line, message) = error("[Service]\nNice=1\n  =5\n");
        assert_eq!((line, message.as_str()), (3, "expected a key before '='"));
    }

    #[test]
    fn lines_that_are_not_assignments_are_errors() {
        let (line, message) = error("[Service]\nNice=1\nNoEquals\n");
        assert_eq!(line, 3);
        assert_eq!(message, "expected Key=Value, a [Section] header or a comment, found \"NoEquals\"");
        let (_, message) = error("[Service]\n.include /etc/other.conf\n");
        assert!(message.starts_with("'.include' is not supported: expected Key=Value"), "{message}");
        let (line, _) = error("[Service]\nA=1\\\n  still A\nB\n");
        assert_eq!(line, 4);
        let (line, _) = error("[Service]\nA\\\n=1\nB \\\n  C\n");
        assert_eq!(line, 4);
    }

    #[test]
    fn long_bad_lines_are_abbreviated_in_messages() {
        let long = "x".repeat(500);
        let (_, message) = error(&format!("[Service]\n{long}\n"));
        assert!(message.len() < 150, "{message}");
        assert!(message.ends_with("..."), "{message}");
        let (_, message) = error(&format!("[Service]\n{}\n", "é".repeat(100)));
        assert!(message.ends_with("..."), "{message}");
    }

    /// Checked against systemd 252: both are "Invalid section header".
    #[test]
    fn unterminated_section_headers_are_errors() {
        for (text, shown) in [("[Service", "[Service"), ("[Service] # c", "[Service] # c"), ("[", "[")] {
            let (line, message) = error(&format!("A=1\n{text}\nB=2"));
            assert_eq!(line, 2);
            assert_eq!(message, format!("expected ']' at the end of the section header {shown:?}"));
        }
    }

    #[test]
    fn unknown_sections_are_warnings_and_their_assignments_dropped() {
        let text = "[Service]\nA=1\n[Socket]\nListenStream=80\nAccept=no\n[Service]\nB=2\n";
        assert_eq!(summary(text), [one(Section::Service, "A", "1", 2), one(Section::Service, "B", "2", 7)]);
        assert_eq!(
            warnings(text),
            [
                (
                    3,
                    "unknown section [Socket], its assignments are ignored: expected [Unit], [Service] or [X-Sbx]"
                        .to_string()
                ),
                (4, "ListenStream= is in unknown section [Socket] and is ignored".to_string()),
                (5, "Accept= is in unknown section [Socket] and is ignored".to_string()),
            ]
        );
    }

    /// Section names are compared exactly, as systemd does (`[ Service ]` and `[]` are unknown).
    #[test]
    fn section_names_are_exact() {
        for header in ["[ Service ]", "[service]", "[]", "[X-Other]", "[Unit]]"] {
            let text = format!("{header}\nA=1\n");
            assert!(summary(&text).is_empty(), "{header}");
            let warned = warnings(&text);
            assert_eq!(warned.len(), 2, "{header}");
            assert!(warned[0].1.starts_with("unknown section ["), "{:?}", warned[0]);
        }
    }

    #[test]
    fn assignments_before_any_section_are_warnings() {
        let text = "Nice=1\n[Service]\nNice=2\n";
        assert_eq!(summary(text), [one(Section::Service, "Nice", "2", 3)]);
        assert_eq!(
            warnings(text),
            [(
                1,
                "Nice= comes before any section header and is ignored: expected [Service] or another section first"
                    .to_string()
            )]
        );
    }

    #[test]
    fn warnings_display_with_their_origin() {
        let parsed = ok("[Socket]\n");
        assert_eq!(
            parsed.warnings[0].to_string(),
            "test.conf:1: unknown section [Socket], its assignments are ignored: expected [Unit], [Service] or [X-Sbx]"
        );
    }

    #[test]
    fn nul_characters_are_errors() {
        let (line, message) = error("[Service]\nA=1\0B=2\n");
        assert_eq!((line, message.as_str()), (2, "expected text, found a NUL character"));
        let (line, _) = error("[Service]\n# comment \0\n");
        assert_eq!(line, 2);
    }

    #[test]
    fn the_error_display_names_file_and_line() {
        let err = parse("[Service]\nbogus\n", &source()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "test.conf:2: expected Key=Value, a [Section] header or a comment, found \"bogus\""
        );
    }

    #[test]
    fn later_lines_count_every_physical_line() {
        let text = "[Service]\nA=1\\\n# c\n; c\n 2\n\nB=3\n";
        assert_eq!(summary(text), [one(Section::Service, "A", "1  2", 2), one(Section::Service, "B", "3", 7)]);
    }

    fn unit_file_text() -> impl Strategy<Value = String> {
        "([\\[\\]=#; \t\r\n\\\\a-zA-Z0-9._\u{0}é-]|Service|Unit|X-Sbx){0,80}"
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = parse(&text, &source());
        }

        #[test]
        fn parse_never_panics_on_unit_file_like_text(text in unit_file_text()) {
            let _ = parse(&text, &source());
        }

        #[test]
        fn parsed_assignments_are_well_formed(text in unit_file_text()) {
            if let Ok(parsed) = parse(&text, &source()) {
                let line_count = text.split(['\n', '\r']).count() as u32;
                for assignment in parsed.assignments.iter() {
                    prop_assert!(valid_key(&assignment.key));
                    prop_assert_eq!(assignment.value.trim_matches(BLANKS), assignment.value.as_str());
                    prop_assert!((1..=line_count).contains(&assignment.origin.line));
                    prop_assert_eq!(&*assignment.origin.source, "test.conf");
                }
                let lines: Vec<u32> = parsed.assignments.iter().map(|a| a.origin.line).collect();
                prop_assert!(lines.windows(2).all(|pair| pair[0] < pair[1]));
            }
        }

        #[test]
        fn written_assignments_come_back(entries in prop::collection::vec(("[A-Za-z][A-Za-z0-9_.-]{0,10}", "[^\\\\\n\r\0]{0,20}"), 0..8)) {
            let mut text = String::from("[Service]\n");
            for (key, value) in &entries {
                text.push_str(&format!("{key}={value}\n"));
            }
            let parsed = parse(&text, &source()).unwrap();
            let expected: Vec<(String, String, u32)> = entries
                .iter()
                .enumerate()
                .map(|(i, (k, v))| (k.clone(), v.trim_matches(BLANKS).to_string(), i as u32 + 2))
                .collect();
            let got: Vec<(String, String, u32)> =
                parsed.assignments.into_iter().map(|a| (a.key, a.value, a.origin.line)).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
