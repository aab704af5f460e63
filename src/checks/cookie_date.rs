//! Which date format a cookie's `Expires` uses. RFC 6265 asks servers for the IMF-fixdate of
//! RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`); browsers accept much else, so a server that
//! sends another format works by luck. A failure names what was sent and what is expected.

use regex::Regex;
use std::fmt;
use std::sync::LazyLock;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    ImfFixdate,
    OneDigitDay,
    Rfc850,
    Asctime,
    DashedYear,
    Iso8601,
    WithoutGmt,
    Unrecognised,
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ImfFixdate => "an IMF-fixdate (Sun, 06 Nov 1994 08:49:37 GMT)",
            Self::OneDigitDay => {
                "an RFC 1123 date with a one-digit day (Sun, 6 Nov 1994 08:49:37 GMT), which Java's DateTimeFormatter.RFC_1123_DATE_TIME writes on days 1 to 9"
            }
            Self::Rfc850 => "an RFC 850 date (Sunday, 06-Nov-94 08:49:37 GMT)",
            Self::Asctime => "an asctime date (Sun Nov  6 08:49:37 1994)",
            Self::DashedYear => "a dashed date (Sun, 06-Nov-1994 08:49:37 GMT)",
            Self::Iso8601 => "an ISO 8601 date (1994-11-06T08:49:37Z)",
            Self::WithoutGmt => "a date without GMT (local time?)",
            Self::Unrecognised => "an unrecognised date",
        })
    }
}

const DAY: &str = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH: &str = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME: &str = r"\d{2}:\d{2}:\d{2}";

static PATTERNS: LazyLock<Vec<(DateFormat, Regex)>> = LazyLock::new(|| {
    let pattern = |format, source: String| (format, Regex::new(&source).expect("a valid pattern"));
    vec![
        pattern(
            DateFormat::ImfFixdate,
            format!(r"^{DAY}, \d{{2}} {MONTH} \d{{4}} {TIME} GMT$"),
        ),
        pattern(
            DateFormat::OneDigitDay,
            format!(r"^{DAY}, \d {MONTH} \d{{4}} {TIME} GMT$"),
        ),
        pattern(
            DateFormat::Rfc850,
            format!(
                r"^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{{2}}-{MONTH}-\d{{2}} {TIME} GMT$"
            ),
        ),
        pattern(
            DateFormat::Asctime,
            format!(r"^{DAY} {MONTH} [ \d]\d {TIME} \d{{4}}$"),
        ),
        pattern(
            DateFormat::DashedYear,
            format!(r"(?i)^{DAY}, \d{{1,2}}-{MONTH}-\d{{4}} {TIME} GMT$"),
        ),
        pattern(
            DateFormat::Iso8601,
            r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}".to_owned(),
        ),
    ]
});

/// The format of `text`, an `Expires` value.
pub fn classify(text: &str) -> DateFormat {
    let text = text.trim();
    if let Some((format, _)) = PATTERNS.iter().find(|(_, pattern)| pattern.is_match(text)) {
        return *format;
    }
    if !text.to_ascii_uppercase().contains("GMT")
        && httpdate::parse_http_date(&format!("{text} GMT")).is_ok()
    {
        return DateFormat::WithoutGmt;
    }
    DateFormat::Unrecognised
}

/// The moment a strict IMF-fixdate names (its weekday must match its date).
pub fn parse_imf_fixdate(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if classify(text) != DateFormat::ImfFixdate {
        return None;
    }
    let time = httpdate::parse_http_date(text).ok()?;
    (httpdate::fmt_http_date(time) == text).then_some(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_named() {
        for (text, format) in [
            ("Sun, 06 Nov 1994 08:49:37 GMT", DateFormat::ImfFixdate),
            ("Sun, 6 Nov 1994 08:49:37 GMT", DateFormat::OneDigitDay),
            ("Sunday, 06-Nov-94 08:49:37 GMT", DateFormat::Rfc850),
            ("Sun Nov  6 08:49:37 1994", DateFormat::Asctime),
            ("Sun, 06-Nov-1994 08:49:37 GMT", DateFormat::DashedYear),
            ("1994-11-06T08:49:37Z", DateFormat::Iso8601),
            ("1994-11-06 08:49:37", DateFormat::Iso8601),
            ("Sun, 06 Nov 1994 08:49:37", DateFormat::WithoutGmt),
            ("next tuesday", DateFormat::Unrecognised),
        ] {
            assert_eq!(classify(text), format, "{text}");
        }
    }

    #[test]
    fn a_fixdate_must_be_a_real_day() {
        assert!(parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT").is_some());
        assert!(
            parse_imf_fixdate("Mon, 06 Nov 1994 08:49:37 GMT").is_none(),
            "wrong weekday"
        );
        assert!(parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 UTC").is_none());
    }
}
