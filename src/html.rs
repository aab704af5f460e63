//! Text made safe for HTML: the reference server's pages and the grader's class overview both
//! show text that someone else chose (a user name, a student's id or output).

/// `text` safe in HTML content and in quoted attribute values. A control character (other
/// than line breaks and tabs) or a bidirectional control (which would reorder what follows
/// it) is shown as `�`, not passed on to be obeyed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if crate::text::acts(c) && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
