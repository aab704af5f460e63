//! The HTML the reference server sends. Small on purpose: the contract only fixes the text
//! `Hits: N`, `Logged in as <user>` and the login form's fields (the form is stage 3's, in
//! `stage3/pages.rs`).

use crate::html::escape;
use std::fmt::Write;

/// A whole page: the document every page of the server shares around its `body`.
pub(super) fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// The page at `/`: the hit count once stage 1 exists; once logged in, the user and a logout
/// button whose form carries `signed_in`'s token.
pub fn home(hits: Option<u64>, signed_in: Option<(&str, &str)>) -> String {
    let mut body = String::from("<h1>session-lab</h1>\n");
    if let Some((user, _)) = signed_in {
        let _ = writeln!(body, "<p>Logged in as {}</p>", escape(user));
    }
    if let Some(hits) = hits {
        let _ = writeln!(body, "<p>Hits: {hits}</p>");
    }
    if let Some((_, token)) = signed_in {
        let _ = writeln!(
            body,
            "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Log out</button></form>",
            escape(token)
        );
    }
    document("session-lab", &body)
}

/// A short page for an error status.
pub fn problem(title: &str, detail: &str) -> String {
    document(
        title,
        &format!("<h1>{}</h1>\n<p>{}</p>\n", escape(title), escape(detail)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped() {
        let page = home(Some(1), Some(("<script>", "t")));
        assert!(page.contains("Logged in as &lt;script&gt;"));
    }
}
