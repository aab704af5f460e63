//! The HTML the reference server sends. Small on purpose: the contract only fixes the text
//! `Hits: N`, `Logged in as <user>` and the login form's fields.

use std::fmt::Write;

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// The page at `/`: the hit count once stage 1 exists, the user and a logout button once logged in.
pub fn home(hits: Option<u64>, user: Option<&str>) -> String {
    let mut body = String::from("<h1>session-lab</h1>\n");
    if let Some(user) = user {
        let _ = writeln!(body, "<p>Logged in as {}</p>", escape(user));
    }
    if let Some(hits) = hits {
        let _ = writeln!(body, "<p>Hits: {hits}</p>");
    }
    if user.is_some() {
        body.push_str(
            "<form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form>\n",
        );
    }
    document("session-lab", &body)
}

/// The login form; `next` is where a successful login goes, `error` is shown above the form.
#[cfg(feature = "stage3")]
pub fn login(next: Option<&str>, error: Option<&str>) -> String {
    let mut body = String::from("<h1>Log in</h1>\n");
    if let Some(error) = error {
        let _ = writeln!(body, "<p role=\"alert\">{}</p>", escape(error));
    }
    body.push_str("<form method=\"post\" action=\"/login\">\n");
    body.push_str(
        "<label>Username <input name=\"username\" autocomplete=\"username\" required></label>\n",
    );
    body.push_str("<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n");
    if let Some(next) = next {
        let _ = writeln!(
            body,
            "<input type=\"hidden\" name=\"next\" value=\"{}\">",
            escape(next)
        );
    }
    body.push_str("<button type=\"submit\">Log in</button>\n</form>\n");
    document("Log in", &body)
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
        let page = home(Some(1), Some("<script>"));
        assert!(page.contains("Logged in as &lt;script&gt;"));
        #[cfg(feature = "stage3")]
        let form = login(Some("/a\"b"), None);
        #[cfg(feature = "stage3")]
        assert!(form.contains("value=\"/a&quot;b\""));
    }
}
