//! The page stage 3 adds: the login form, in the same document as the server's other pages.

use crate::html::escape;
use crate::server::pages::document;
use std::fmt::Write;

/// The login form; `next` is where a successful login goes, `error` is shown above the form,
/// `token` is the form's CSRF token.
pub fn login(next: Option<&str>, error: Option<&str>, token: &str) -> String {
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
    let _ = writeln!(
        body,
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(token)
    );
    body.push_str("<button type=\"submit\">Log in</button>\n</form>\n");
    document("Log in", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped() {
        let form = login(Some("/a\"b"), None, "t");
        assert!(form.contains("value=\"/a&quot;b\""));
    }
}
