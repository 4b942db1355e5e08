//! Word lists: splitting a value at unquoted whitespace, removing quotes and decoding C escapes
//! the way systemd does for quoted lists, or keeping them for values decoded field by field.
//!
//! Invariant: a word from `split_words` is valid UTF-8 without NUL; `split_raw_words` only
//! splits and keeps every character as written. An unterminated quote, an unknown escape or a
//! trailing backslash is an error, never a guess, and nothing here panics, whatever the input.

use std::str::Chars;

use super::is_whitespace;

const ESCAPES_EXPECTED: &str =
    "expected one of \\a \\b \\f \\n \\r \\t \\v \\\\ \\\" \\' \\s \\xNN \\NNN \\uNNNN \\UNNNNNNNN";
pub(super) const TRAILING_BACKSLASH: &str =
    "expected a character after the backslash at the end (write \\\\ for a literal backslash)";
const NUL_ESCAPE: &str = "expected an escape sequence for a character other than NUL";
const NUL_CHAR: &str = "expected text without NUL characters";
const INVALID_UTF8: &str = "expected \\x and octal escapes to form valid UTF-8 (use \\u for a unicode character)";

/// Splits a list value into words the way systemd does for quoted lists: unquoted whitespace
/// separates words; `"..."` and `'...'` group (anywhere in a word) and are removed; C escapes
/// (`\n \t \\ \" \' \s \xNN \NNN \uNNNN \UNNNNNNNN`, also `\a \b \f \r \v`) are decoded inside
/// and outside quotes. `""` is an empty word. An unterminated quote, an unknown escape or a
/// trailing backslash is an error.
pub fn split_words(value: &str) -> Result<Vec<String>, String> {
    collect_words(value, next_word)
}

type WordReader = fn(&mut Chars<'_>) -> Result<Option<String>, String>;

fn collect_words(value: &str, next: WordReader) -> Result<Vec<String>, String> {
    let mut chars = value.chars();
    let mut words = Vec::new();
    while let Some(word) = next(&mut chars)? {
        words.push(word);
    }
    Ok(words)
}

pub(super) fn next_word(chars: &mut Chars<'_>) -> Result<Option<String>, String> {
    let mut word: Option<Vec<u8>> = None;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if quote.is_none() && is_whitespace(c) {
            if word.is_some() {
                break;
            }
            continue;
        }
        let bytes = word.get_or_insert_with(Vec::new);
        match (quote, c) {
            (_, '\0') => return Err(NUL_CHAR.to_string()),
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (_, '\\') => push_escape(chars, bytes)?,
            _ => push_char(bytes, c),
        }
    }
    if let Some(open) = quote {
        return Err(format!("expected a closing {open} (unterminated quote)"));
    }
    word.map(|bytes| String::from_utf8(bytes).map_err(|_| INVALID_UTF8.to_string())).transpose()
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buffer = [0u8; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
}

/// Decodes the escape sequence after a backslash into `bytes`. `\x` and octal escapes give
/// single bytes (so `\xc3\xa9` spells `é`); the word is checked for UTF-8 once complete.
fn push_escape(chars: &mut Chars<'_>, bytes: &mut Vec<u8>) -> Result<(), String> {
    let Some(c) = chars.next() else {
        return Err(TRAILING_BACKSLASH.to_string());
    };
    match c {
        'a' => bytes.push(0x07),
        'b' => bytes.push(0x08),
        'f' => bytes.push(0x0c),
        'n' => bytes.push(b'\n'),
        'r' => bytes.push(b'\r'),
        't' => bytes.push(b'\t'),
        'v' => bytes.push(0x0b),
        's' => bytes.push(b' '),
        '\\' | '"' | '\'' => push_char(bytes, c),
        'x' => bytes.push(escaped_byte(take_digits(chars, 2, 16), "two hexadecimal digits after \\x")?),
        'u' => push_char(bytes, escaped_char(take_digits(chars, 4, 16), "\\u")?),
        'U' => push_char(bytes, escaped_char(take_digits(chars, 8, 16), "\\U")?),
        '0'..='7' => bytes.push(octal_escape(c, chars)?),
        other => {
            return Err(format!("unknown escape sequence \\{other}: {ESCAPES_EXPECTED}"));
        }
    }
    Ok(())
}

/// Reads exactly `count` digits in `radix`; `None` if fewer are there.
fn take_digits(chars: &mut Chars<'_>, count: usize, radix: u32) -> Option<u32> {
    let mut value: u32 = 0;
    for _ in 0..count {
        let digit = chars.next()?.to_digit(radix)?;
        value = value.checked_mul(radix)?.checked_add(digit)?;
    }
    Some(value)
}

fn escaped_byte(value: Option<u32>, expected: &str) -> Result<u8, String> {
    match value.map(u8::try_from) {
        Some(Ok(0)) => Err(NUL_ESCAPE.to_string()),
        Some(Ok(byte)) => Ok(byte),
        _ => Err(format!("expected {expected}")),
    }
}

fn escaped_char(value: Option<u32>, escape: &str) -> Result<char, String> {
    let digits = if escape == "\\u" { "four" } else { "eight" };
    let expected = || format!("expected {digits} hexadecimal digits after {escape} naming a unicode character");
    match value {
        Some(0) => Err(NUL_ESCAPE.to_string()),
        Some(code) => char::from_u32(code).ok_or_else(expected),
        None => Err(expected()),
    }
}

/// `\NNN`: three octal digits, the first already read, for a byte from 1 to 255.
fn octal_escape(first: char, chars: &mut Chars<'_>) -> Result<u8, String> {
    let expected = "three octal digits from \\001 to \\377";
    let high = first.to_digit(8).unwrap_or(0);
    let low = take_digits(chars, 2, 8);
    escaped_byte(low.map(|low| high * 64 + low), expected)
}

/// Splits at unquoted, unescaped whitespace but keeps every quote and backslash as written,
/// for values whose entries are decoded field by field (`BindPaths=`, see [`parse_bind_spec`](super::parse_bind_spec)).
/// An unterminated quote or a trailing backslash is an error.
pub fn split_raw_words(value: &str) -> Result<Vec<String>, String> {
    collect_words(value, next_raw_word)
}

fn next_raw_word(chars: &mut Chars<'_>) -> Result<Option<String>, String> {
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if quote.is_none() && is_whitespace(c) {
            if word.is_some() {
                break;
            }
            continue;
        }
        let text = word.get_or_insert_with(String::new);
        text.push(c);
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (_, '\\') => text.push(chars.next().ok_or(TRAILING_BACKSLASH)?),
            _ => {}
        }
    }
    if let Some(open) = quote {
        return Err(format!("expected a closing {open} (unterminated quote)"));
    }
    Ok(word)
}

/// Writes `word` in double quotes, so that `split_words` (and the command-line splitter) gives
/// it back unchanged.
pub fn quote_word(word: &str) -> String {
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('"');
    for c in word.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(value: &str) -> Vec<String> {
        split_words(value).unwrap()
    }

    #[test]
    fn words_split_on_whitespace() {
        assert_eq!(words("a b\tc\n d  "), ["a", "b", "c", "d"]);
        assert!(words("").is_empty());
        assert!(words("  \t ").is_empty());
        assert_eq!(words("é ✓"), ["é", "✓"]);
    }

    /// Quote handling checked against systemd 252 (`Environment=` and `ReadOnlyPaths=`).
    #[test]
    fn quotes_group_and_are_removed() {
        assert_eq!(words(r#""a b" 'c d'"#), ["a b", "c d"]);
        assert_eq!(words(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(words(r#"'rel q'x"#), ["rel qx"]);
        assert_eq!(words(r#""it's" 'say "hi"'"#), ["it's", r#"say "hi""#]);
        assert_eq!(words(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(words(r#"a""b"#), ["ab"]);
        assert_eq!(
            words(r#""VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6""#),
            ["VAR1=word1 word2", "VAR2=word3", "VAR3=$word 5 6"]
        );
    }

    /// Escapes checked against systemd 252 (`Environment=`).
    #[test]
    fn escapes_are_decoded_inside_and_outside_quotes() {
        assert_eq!(words(r"a\nb"), ["a\nb"]);
        assert_eq!(words(r"'x\ny'"), ["x\ny"]);
        assert_eq!(words(r#""a\tb""#), ["a\tb"]);
        assert_eq!(words(r#"\\ \' \""#), ["\\", "'", "\""]);
        assert_eq!(words(r"a\sb \a\b\f\r\v"), ["a b", "\x07\x08\x0c\r\x0b"]);
        assert_eq!(words(r"\x41\101\u00e9"), ["AAé"]);
        assert_eq!(words(r"\xc3\xa9 \303\251"), ["é", "é"]);
        assert_eq!(words(r"\U0001F600 \U0010FFFF"), ["\u{1F600}", "\u{10FFFF}"]);
        assert_eq!(words(r#""a\"b" 'c\'d'"#), ["a\"b", "c'd"]);
        assert_eq!(words(r"\x7e\177"), ["~\x7f"]);
    }

    #[test]
    fn bad_escapes_say_what_was_expected() {
        for input in [r"a\ b", r"a\:b", r"\q", r"\8", r"\c"] {
            let err = split_words(input).unwrap_err();
            assert!(err.starts_with("unknown escape sequence \\"), "{input}: {err}");
            assert!(err.contains("expected one of \\a"), "{err}");
        }
        for input in [r"\x", r"\x4", r"\xg0", r"\x4 "] {
            assert_eq!(split_words(input).unwrap_err(), "expected two hexadecimal digits after \\x", "{input}");
        }
        for input in [r"\u12", r"\ud800", r"\uzzzz"] {
            let err = split_words(input).unwrap_err();
            assert!(err.starts_with("expected four hexadecimal digits after \\u"), "{input}: {err}");
        }
        for input in [r"\U00110000", r"\U0000"] {
            let err = split_words(input).unwrap_err();
            assert!(err.starts_with("expected eight hexadecimal digits after \\U"), "{input}: {err}");
        }
        for input in [r"\400", r"\1", r"\19"] {
            let err = split_words(input).unwrap_err();
            assert!(err.contains("three octal digits"), "{input}: {err}");
        }
    }

    #[test]
    fn nul_is_refused_in_every_spelling() {
        for input in [r"\x00", r"\000", r"\u0000", r"\U00000000", "'\\x00'"] {
            assert_eq!(
                split_words(input).unwrap_err(),
                "expected an escape sequence for a character other than NUL",
                "{input}"
            );
        }
        assert_eq!(split_words("a\0b").unwrap_err(), "expected text without NUL characters");
    }

    #[test]
    fn byte_escapes_must_form_utf8() {
        let err = split_words(r"\xc3").unwrap_err();
        assert!(err.contains("valid UTF-8"), "{err}");
        assert!(split_words(r"\377").is_err());
    }

    #[test]
    fn unterminated_quotes_and_trailing_backslashes_are_errors() {
        assert_eq!(split_words(r#"a "b c"#).unwrap_err(), "expected a closing \" (unterminated quote)");
        assert_eq!(split_words("'abc").unwrap_err(), "expected a closing ' (unterminated quote)");
        assert_eq!(split_words(r#""a'"#).unwrap_err(), "expected a closing \" (unterminated quote)");
        let err = split_words("abc\\").unwrap_err();
        assert!(err.starts_with("expected a character after the backslash at the end"), "{err}");
        assert!(split_words("\"abc\\").is_err());
    }

    #[test]
    fn raw_words_keep_quotes_and_backslashes() {
        assert_eq!(split_raw_words(r#"/a\:b:/c "/d e":/f  x\ y"#).unwrap(), [r"/a\:b:/c", r#""/d e":/f"#, r"x\ y"]);
        assert_eq!(split_raw_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_raw_words(r"'a\'b'").unwrap(), [r"'a\'b'"]);
        assert_eq!(split_raw_words("'a").unwrap_err(), "expected a closing ' (unterminated quote)");
        assert!(split_raw_words("a\\").is_err());
    }

    // --- properties ----------------------------------------------------------------------------

    proptest! {
        #[test]
        fn split_words_never_panics(value in any::<String>()) {
            let _ = split_words(&value);
            let _ = split_raw_words(&value);
        }

        #[test]
        fn split_words_never_panics_on_escape_heavy_text(value in r#"[\\"' a-fx0-9uUé\t]{0,40}"#) {
            let _ = split_words(&value);
            let _ = split_raw_words(&value);
        }

        #[test]
        fn quoted_words_round_trip(list in prop::collection::vec("[^\0]*", 0..5)) {
            let value = list.iter().map(|w| quote_word(w)).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(split_words(&value).unwrap(), list);
        }

        #[test]
        fn plain_words_split_on_whitespace(list in prop::collection::vec("[a-zA-Z0-9/._=-]{1,8}", 0..6)) {
            prop_assert_eq!(split_words(&list.join(" \t ")).unwrap(), list);
        }
    }
}
