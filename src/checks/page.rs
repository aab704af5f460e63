//! Reading what a server sent: the visible text of a page, `Hits: N`, and its login forms.
//! Lenient by design: any valid HTML a student might write must read the same.

/// The visible text of an HTML page: tags removed, common entities decoded, whitespace folded.
pub fn text(html: &str) -> String {
    let mut visible = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                visible.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => visible.push(c),
            _ => {}
        }
    }
    let decoded = visible
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The number in `Hits: N` (any case, any spacing, tags allowed around the number).
pub fn hits(html: &str) -> Option<u64> {
    let text = text(html);
    let at = text.to_ascii_lowercase().find("hits:")?;
    let digits: String = text[at + "hits:".len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A short, single-line excerpt of a page's text for failure messages.
pub fn excerpt(body: &str) -> String {
    const LIMIT: usize = 160;
    let text = text(body);
    if text.is_empty() {
        return "(empty body)".into();
    }
    match crate::text::prefix(&text, crate::text::Limit::Chars(LIMIT)) {
        Some(start) => format!("“{start}…”"),
        None => format!("“{text}”"),
    }
}

/// One `<input>` of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    /// Lowercased; `text` when absent, as in HTML.
    pub kind: String,
    pub value: String,
}

/// A `<form>` and its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// Lowercased; `get` when absent, as in HTML.
    pub method: String,
    pub action: Option<String>,
    pub inputs: Vec<Input>,
}

impl Form {
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|input| input.name == name)
    }

    pub fn has_password_field(&self) -> bool {
        self.inputs.iter().any(|input| input.kind == "password")
    }
}

fn attribute(tag: &tl::HTMLTag<'_>, name: &str) -> Option<String> {
    tag.attributes()
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.map(|v| v.into_owned()).unwrap_or_default())
}

fn is_named(tag: &tl::HTMLTag<'_>, name: &str) -> bool {
    tag.name().as_utf8_str().eq_ignore_ascii_case(name)
}

/// Every form of the page, in order.
pub fn forms(html: &str) -> Vec<Form> {
    let Ok(dom) = tl::parse(html, tl::ParserOptions::default()) else {
        return Vec::new();
    };
    let parser = dom.parser();
    dom.nodes()
        .iter()
        .filter_map(tl::Node::as_tag)
        .filter(|tag| is_named(tag, "form"))
        .map(|form| Form {
            method: attribute(form, "method")
                .map(|m| m.to_ascii_lowercase())
                .unwrap_or_else(|| "get".into()),
            action: attribute(form, "action"),
            inputs: form
                .children()
                .all(parser)
                .iter()
                .filter_map(tl::Node::as_tag)
                .filter(|tag| is_named(tag, "input"))
                .filter_map(|input| {
                    Some(Input {
                        name: attribute(input, "name")?,
                        kind: attribute(input, "type")
                            .map(|t| t.to_ascii_lowercase())
                            .unwrap_or_else(|| "text".into()),
                        value: attribute(input, "value").unwrap_or_default(),
                    })
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_read_whatever_the_markup() {
        assert_eq!(hits("<p>Hits: 12</p>"), Some(12));
        assert_eq!(hits("<p>hits:<b> 7 </b></p>"), Some(7));
        assert_eq!(hits("Hits:3"), Some(3));
        assert_eq!(hits("<p>Visits: 3</p>"), None);
        assert_eq!(hits("Hits: many"), None);
    }

    #[test]
    fn forms_are_read_in_any_case_and_quoting() {
        let html = "<FORM METHOD=POST ACTION='/login'><Input Name=username>\
                    <input type=PASSWORD name=\"password\"><input type=hidden name=csrf value=t0k></FORM>";
        let forms = forms(html);
        assert_eq!(forms.len(), 1);
        let form = &forms[0];
        assert_eq!(form.method, "post");
        assert_eq!(form.action.as_deref(), Some("/login"));
        assert_eq!(form.input("username").unwrap().kind, "text");
        assert!(form.has_password_field());
        assert_eq!(form.input("csrf").unwrap().value, "t0k");
    }

    #[test]
    fn text_drops_tags_and_decodes_entities() {
        assert_eq!(
            text("<p>Logged in as <b>alice</b></p>\n<p>a &amp; b</p>"),
            "Logged in as alice a & b"
        );
    }
}
