//! What a submission wrote or named, made into text that shows as itself everywhere: on the
//! instructor's terminal, in a report file, in a CSV cell. A control character (C0 but newline
//! and tab, DEL, C1) could clear the screen, move the cursor to repaint a score, set a window
//! title or ring the bell; a bidirectional override or isolate could reverse what follows it.
//! Each is written out as an escape instead (`\x1b`, `\r`, `\u{202e}`), so that nothing of it
//! acts, and a reader still sees that it was there. It also cuts such text to a size a report
//! or a message can hold ([`prefix`], [`cut`]).

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character that could act on a terminal or reorder a line written out as
/// an escape; newlines and tabs are kept.
pub fn visible(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// [`visible`], for one line or one cell: newlines and tabs are escaped too.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Whether `c` would act rather than show: a control character or a bidirectional control.
pub fn acts(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Words as one line a shell would split back into them (`{port}` left as it is written).
pub fn shell_line(words: &[String]) -> String {
    let plain = |word: &String| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./{}-".contains(c))
    };
    words
        .iter()
        .map(|word| {
            if plain(word) {
                word.clone()
            } else {
                shlex::try_quote(word).map_or_else(|_| word.clone(), |quoted| quoted.into_owned())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How much of a text to keep: bytes bound what a report stores, characters what a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Bytes(usize),
    Chars(usize),
}

/// The longest start of `text` within `limit` (cut at a character boundary), or `None` when the
/// whole of it fits.
pub fn prefix(text: &str, limit: Limit) -> Option<&str> {
    let end = match limit {
        Limit::Bytes(limit) if text.len() <= limit => return None,
        Limit::Bytes(limit) => (0..=limit)
            .rev()
            .find(|&end| text.is_char_boundary(end))
            .unwrap_or(0),
        Limit::Chars(limit) => text.char_indices().nth(limit)?.0,
    };
    Some(&text[..end])
}

/// `text` cut to at most `max_bytes` bytes (at a character boundary), saying how much was cut.
pub fn cut(text: String, max_bytes: usize) -> String {
    match prefix(&text, Limit::Bytes(max_bytes)) {
        None => text,
        Some(kept) => format!("{kept}… [{} more bytes]", text.len() - kept.len()),
    }
}

fn escape(text: &str, kept: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| acts(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !acts(c) || kept(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_cut_keeps_whole_characters_and_says_what_it_left_out() {
        assert_eq!(prefix("héllo", Limit::Bytes(2)), Some("h"));
        assert_eq!(prefix("héllo", Limit::Bytes(3)), Some("hé"));
        assert_eq!(prefix("héllo", Limit::Bytes(6)), None);
        assert_eq!(prefix("héllo", Limit::Chars(2)), Some("hé"));
        assert_eq!(prefix("héllo", Limit::Chars(5)), None);
        assert_eq!(cut("héllo".into(), 2), "h… [5 more bytes]");
        assert_eq!(cut("hello".into(), 5), "hello");
    }

    #[test]
    fn escapes_that_would_repaint_a_terminal_are_shown_as_text() {
        let forged = "\x1b[2J\x1b[H✓ Score: 30/30\x07\x1b]0;title\x07\r29/30\u{202e}03/92";
        assert_eq!(
            visible(forged),
            "\\x1b[2J\\x1b[H✓ Score: 30/30\\x07\\x1b]0;title\\x07\\r29/30\\u{202e}03/92"
        );
        assert_eq!(visible("line one\n\tline two"), "line one\n\tline two");
        assert_eq!(one_line("a\nb\tc"), "a\\nb\\tc");
        assert!(matches!(visible("plain ✓ text"), Cow::Borrowed(_)));
        assert_eq!(visible("\u{9b}31m"), "\\x9b31m");
    }

    proptest! {
        #[test]
        fn nothing_that_acts_is_left(text in any::<String>()) {
            let shown = one_line(&text);
            prop_assert!(!shown.chars().any(acts), "{shown:?}");
            let kept = visible(&text);
            prop_assert!(!kept.chars().any(|c| acts(c) && c != '\n' && c != '\t'), "{kept:?}");
        }
    }
}
