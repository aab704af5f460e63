//! Reading the cookies a client printed, in whatever shape it printed them: lines, a table,
//! JSON (one document or one object a line), Python reprs, a Netscape jar file.
//!
//! The output becomes lines, each about the cookies it names: a JSON object with a `name` is
//! one line, any other JSON member is a line of its own, and a text line that names several
//! cookies is cut before each name. A cookie is *listed* when a line names it, *listed as not
//! kept* when every such line also says so ("rejected", "not stored", "expired" …), and its
//! expiry is a date on its lines, in any common form.

use cookie::time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use regex::Regex;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

/// Words that say a cookie shown on a line was not kept, as whole words; not when negated
/// (`not expired`) or said to be false (`expired=False`, `"rejected": false`).
static NOT_KEPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(not stored|not kept|not saved|rejected|refused|ignored|discarded|blocked|dropped|expired|invalid)\b",
    )
    .expect("a valid pattern")
});
static NEGATED_BEFORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(not|non|never|un)[\s-]*$").expect("a valid pattern"));
static FALSE_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^["']?\s*[:=]\s*["']?(false|no|none|null|0)\b"#).expect("a valid pattern")
});

/// How a cookie appears in a client's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Absent,
    /// Named only on lines that say it was not kept: the last such line, and the word.
    NotKept {
        line: String,
        word: String,
    },
    /// Named on this line, which does not say it was not kept.
    Kept(String),
}

/// A client's output, as lines about cookies.
#[derive(Debug, Clone)]
pub struct Listing {
    lines: Vec<String>,
}

impl Listing {
    /// Reads `output`; `names` are the cookie names to cut lines at.
    pub fn read(output: &str, names: &[&str]) -> Self {
        let mut lines = Vec::new();
        let mut rest = output;
        while !rest.is_empty() {
            // A JSON document (one line or many) where one starts, text lines elsewhere.
            let trimmed = rest.trim_start();
            if trimmed.starts_with(['{', '[']) {
                let mut documents =
                    serde_json::Deserializer::from_str(trimmed).into_iter::<serde_json::Value>();
                if let Some(Ok(document)) = documents.next() {
                    if document.is_object() || document.is_array() {
                        flatten(&document, "", names, &mut lines);
                        rest = &trimmed[documents.byte_offset()..];
                        continue;
                    }
                }
            }
            let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
            lines.push(line.to_owned());
            rest = after;
        }
        let lines = lines
            .into_iter()
            .flat_map(|line| cut_at_names(&line, names))
            .collect();
        Self { lines }
    }

    /// The lines that name `name`.
    pub fn lines_naming<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines
            .iter()
            .map(String::as_str)
            .filter(move |line| names(line, name))
    }

    pub fn shown(&self, name: &str) -> Shown {
        let mut shown = Shown::Absent;
        for line in self.lines_naming(name) {
            match not_kept_word(line) {
                None => return Shown::Kept(line.trim().to_owned()),
                Some(word) => {
                    shown = Shown::NotKept {
                        line: line.trim().to_owned(),
                        word,
                    }
                }
            }
        }
        shown
    }

    /// Every date on the lines that name `name` and do not say it was not kept, with the
    /// text it was read from.
    pub fn dates(&self, name: &str) -> Vec<(SystemTime, String)> {
        self.lines_naming(name)
            .filter(|line| not_kept_word(line).is_none())
            .flat_map(dates_in)
            .collect()
    }
}

/// A JSON value as lines. An object that is one cookie (it has a `name`, `key` or `cookie`
/// member, or a member whose value is a cookie's name) is one line of its scalar members; in
/// any other object each member is a line of its own (`key=value`, `key=None` for a null, or
/// the nested value's lines). In a cookie's line, `null` and `false` say nothing and are left
/// out.
fn flatten(value: &serde_json::Value, key: &str, names: &[&str], lines: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            for item in items {
                flatten(item, key, names, lines);
            }
        }
        Value::Object(members) => {
            let is_cookie = members.iter().any(|(k, v)| {
                ["name", "key", "cookie"]
                    .iter()
                    .any(|field| k.eq_ignore_ascii_case(field))
                    || v.as_str().is_some_and(|text| names.contains(&text))
            });
            if is_cookie {
                let scalars: Vec<String> = members
                    .iter()
                    .filter_map(|(k, v)| scalar(v).map(|v| format!("{k}={v}")))
                    .collect();
                lines.push(scalars.join(" "));
                for (k, v) in members {
                    if v.is_object() || v.is_array() {
                        flatten(v, k, names, lines);
                    }
                }
            } else {
                for (k, v) in members {
                    match scalar(v) {
                        Some(v) => lines.push(format!("{k}={v}")),
                        None if v.is_object() || v.is_array() => flatten(v, k, names, lines),
                        None => lines.push(format!("{k}=None")),
                    }
                }
            }
        }
        other => {
            if let Some(text) = scalar(other) {
                lines.push(format!("{key}={text}"));
            }
        }
    }
}

fn scalar(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(true) => Some("true".into()),
        _ => None,
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Where `name` stands as a whole word in `line`.
fn positions(line: &str, name: &str) -> Vec<usize> {
    line.match_indices(name)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = line[..at].chars().next_back();
            let after = line[at + name.len()..].chars().next();
            !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
        })
        .collect()
}

fn names(line: &str, name: &str) -> bool {
    !positions(line, name).is_empty()
}

/// A line that names several cookies, cut before each name after the first (what comes
/// before the first name belongs to it, as in `127.0.0.1 … 1798000000 cookiemonster v`).
fn cut_at_names(line: &str, names: &[&str]) -> Vec<String> {
    let mut cuts: Vec<usize> = names
        .iter()
        .flat_map(|name| positions(line, name))
        .collect();
    cuts.sort_unstable();
    if cuts.len() < 2 {
        return vec![line.to_owned()];
    }
    // What comes before the first name belongs to it, unless it speaks of them all
    // (`refused: ernie, snuffy`): then every piece keeps it.
    let prefix = &line[..cuts[0]];
    let shared = if not_kept_word(prefix).is_some() {
        prefix
    } else {
        ""
    };
    cuts[0] = 0;
    cuts.push(line.len());
    cuts.windows(2)
        .enumerate()
        .map(|(index, pair)| {
            let piece = &line[pair[0]..pair[1]];
            if index == 0 {
                piece.to_owned()
            } else {
                format!("{shared}{piece}")
            }
        })
        .collect()
}

/// The word by which `line` says its cookie was not kept, if it says so.
fn not_kept_word(line: &str) -> Option<String> {
    NOT_KEPT
        .find_iter(line)
        .find(|word| {
            !NEGATED_BEFORE.is_match(&line[..word.start()])
                && !FALSE_AFTER.is_match(&line[word.end()..])
        })
        .map(|word| word.as_str().to_owned())
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

static UNIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{10}|\d{13})(?:\.\d+)?\b").expect("a valid pattern"));
/// No word boundary before the year: a table whose value column touches the date
/// (`c31c288f77f62027-01-03 02:21:56 UTC`) still shows it, and a year must be followed by its
/// dash, so the first four digits that are show where the date starts.
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(?:\s*(Z\b|[+-]\d{2}:?\d{2}\b|UTC\b|GMT\b))?",
    )
    .expect("a valid pattern")
});
/// IMF-fixdate, RFC 850 and their dashed or single-digit variants, with an optional zone.
static DAY_MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(\d{1,2})[ -](jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[ -](\d{4}|\d{2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s*(Z\b|[+-]\d{2}:?\d{2}\b|UTC\b|GMT\b))?",
    )
    .expect("a valid pattern")
});
/// asctime (`Sun Nov  6 08:49:37 1994`), as `time.ctime()` prints it.
static ASCTIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\b",
    )
    .expect("a valid pattern")
});

/// Every date in `text`: Unix seconds or milliseconds, ISO 8601 and `YYYY-MM-DD HH:MM:SS`,
/// HTTP dates (IMF-fixdate, RFC 850, asctime). A date without a zone is read as UTC.
pub fn dates_in(text: &str) -> Vec<(SystemTime, String)> {
    let mut found = Vec::new();
    for m in UNIX.captures_iter(text) {
        let digits = &m[1];
        let Ok(number) = digits.parse::<u64>() else {
            continue;
        };
        let seconds = if digits.len() == 13 {
            number / 1000
        } else {
            number
        };
        found.push((
            SystemTime::UNIX_EPOCH + Duration::from_secs(seconds),
            m[0].to_owned(),
        ));
    }
    let number = |text: &str| text.parse::<i32>().ok();
    for m in ISO.captures_iter(text) {
        let time = moment(
            number(&m[1]),
            m[2].parse().ok(),
            m[3].parse().ok(),
            [&m[4], &m[5], m.get(6).map_or("0", |s| s.as_str())],
            m.get(7).map(|zone| zone.as_str()),
        );
        found.extend(time.map(|time| (time, m[0].to_owned())));
    }
    for m in DAY_MONTH_YEAR.captures_iter(text) {
        let year = number(&m[3]).map(|year| match year {
            0..=69 => year + 2000,
            70..=99 => year + 1900,
            _ => year,
        });
        let time = moment(
            year,
            month(&m[2]),
            m[1].parse().ok(),
            [&m[4], &m[5], &m[6]],
            m.get(7).map(|zone| zone.as_str()),
        );
        found.extend(time.map(|time| (time, m[0].to_owned())));
    }
    for m in ASCTIME.captures_iter(text) {
        let time = moment(
            number(&m[6]),
            month(&m[1]),
            m[2].parse().ok(),
            [&m[3], &m[4], &m[5]],
            None,
        );
        found.extend(time.map(|time| (time, m[0].to_owned())));
    }
    found
}

fn month(name: &str) -> Option<u8> {
    let name = name.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == name)
        .and_then(|index| u8::try_from(index + 1).ok())
}

fn moment(
    year: Option<i32>,
    month: Option<u8>,
    day: Option<u8>,
    [hour, minute, second]: [&str; 3],
    zone: Option<&str>,
) -> Option<SystemTime> {
    let date = Date::from_calendar_date(year?, Month::try_from(month?).ok()?, day?).ok()?;
    let time = Time::from_hms(
        hour.parse().ok()?,
        minute.parse().ok()?,
        second.parse().ok()?,
    )
    .ok()?;
    let offset = match zone.map(str::to_ascii_uppercase).as_deref() {
        None | Some("Z" | "UTC" | "GMT") => UtcOffset::UTC,
        Some(offset) => {
            let sign: i8 = if offset.starts_with('-') { -1 } else { 1 };
            let digits: String = offset.chars().filter(char::is_ascii_digit).collect();
            let hours: i8 = digits.get(..2)?.parse().ok()?;
            let minutes: i8 = digits.get(2..4)?.parse().ok()?;
            UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
    };
    let moment: OffsetDateTime = PrimitiveDateTime::new(date, time).assume_offset(offset);
    Some(SystemTime::from(moment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const NAMES: &[&str] = &["grover", "cookiemonster", "snuffy", "ernie"];
    /// 2026-12-26 09:00:00 UTC
    const EXPIRES: u64 = 1_798_275_600;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[rstest]
    #[case::python_expires("cookiemonster abc 1798275600")]
    #[case::float_seconds("cookiemonster abc 1798275600.0")]
    #[case::milliseconds("cookiemonster: 1798275600000")]
    #[case::imf_fixdate("cookiemonster=abc; Expires=Sat, 26 Dec 2026 09:00:00 GMT")]
    #[case::rfc_850("cookiemonster Saturday, 26-Dec-26 09:00:00 GMT")]
    #[case::dashed_year("cookiemonster Sat, 26-Dec-2026 09:00:00 GMT")]
    #[case::iso_zulu("cookiemonster 2026-12-26T09:00:00Z")]
    #[case::iso_offset("cookiemonster 2026-12-26T14:30:00+05:30")]
    #[case::iso_fraction("cookiemonster 2026-12-26T09:00:00.000000+00:00")]
    #[case::plain_utc("cookiemonster expires 2026-12-26 09:00:00")]
    #[case::reference_table(
        "  cookiemonster  abc  127.0.0.1 (host-only)  /  2026-12-26 09:00:00 UTC (in 30 days)  no"
    )]
    #[case::asctime_utc("cookiemonster Sat Dec 26 09:00:00 2026")]
    #[case::netscape_jar("127.0.0.1\tFALSE\t/\tFALSE\t1798275600\tcookiemonster\tabc")]
    #[case::value_column_touching_the_date("cookiemonster c31c288f77f62026-12-26 09:00:00 UTC")]
    fn every_common_form_of_the_expiry_is_read(#[case] line: &str) {
        let listing = Listing::read(line, NAMES);
        let dates = listing.dates("cookiemonster");
        assert!(
            dates.iter().any(|(time, _)| *time == at(EXPIRES)),
            "{line}: {dates:?}"
        );
    }

    #[test]
    fn local_time_without_a_zone_is_read_as_utc_and_so_is_off() {
        let listing = Listing::read("cookiemonster 2026-12-26 14:30:00", NAMES);
        assert_eq!(
            listing.dates("cookiemonster")[0].0,
            at(EXPIRES + 5 * 3600 + 1800)
        );
    }

    #[test]
    fn a_line_naming_several_cookies_is_cut_before_each_name() {
        let listing = Listing::read("{'grover': None, 'cookiemonster': 1798275600}", NAMES);
        assert!(listing.dates("grover").is_empty());
        assert_eq!(listing.dates("cookiemonster")[0].0, at(EXPIRES));
    }

    #[test]
    fn json_records_and_maps_become_lines_of_their_own() {
        let records = r#"[{"name": "grover", "expires": null}, {"name": "cookiemonster", "expires": 1798275600}, {"name": "snuffy", "rejected": "expired"}]"#;
        let listing = Listing::read(records, NAMES);
        assert!(listing.dates("grover").is_empty());
        assert_eq!(listing.dates("cookiemonster")[0].0, at(EXPIRES));
        assert!(matches!(listing.shown("snuffy"), Shown::NotKept { .. }));
        assert_eq!(listing.shown("ernie"), Shown::Absent);

        let map = r#"{"grover": null, "cookiemonster": "2026-12-26T09:00:00Z"}"#;
        let listing = Listing::read(map, NAMES);
        assert_eq!(
            listing.shown("cookiemonster"),
            Shown::Kept("cookiemonster=2026-12-26T09:00:00Z".into())
        );
        assert_eq!(
            listing.shown("grover"),
            Shown::Kept("grover=None".into()),
            "a null expiry is a session cookie, listed"
        );
    }

    #[test]
    fn a_name_counts_only_as_a_whole_word() {
        let listing = Listing::read("ernie_x 1\nsnuffyness\nMYernie", NAMES);
        assert_eq!(listing.shown("ernie"), Shown::Absent);
        assert_eq!(listing.shown("snuffy"), Shown::Absent);
    }

    #[test]
    fn a_line_that_says_the_cookie_was_not_kept_does_not_list_it() {
        let listing = Listing::read(
            "snuffy  x  (expired 56 years ago)\nernie  y  .example.com  ✗ not stored: domain mismatch\ngrover z",
            NAMES,
        );
        assert!(matches!(listing.shown("snuffy"), Shown::NotKept { .. }));
        assert!(matches!(listing.shown("ernie"), Shown::NotKept { .. }));
        assert_eq!(listing.shown("grover"), Shown::Kept("grover z".into()));
    }

    #[rstest]
    #[case::negated("cookiemonster abc not expired")]
    #[case::python_false("cookiemonster abc expires=1798275600 expired=False")]
    #[case::json_false(r#"{"name": "cookiemonster", "expired": false, "rejected": null}"#)]
    fn a_word_that_is_negated_or_false_does_not_hide_a_cookie(#[case] output: &str) {
        let listing = Listing::read(output, NAMES);
        assert!(
            matches!(listing.shown("cookiemonster"), Shown::Kept(_)),
            "{output}: {:?}",
            listing.shown("cookiemonster")
        );
    }

    #[test]
    fn a_refusal_before_several_names_speaks_of_each() {
        let listing = Listing::read("refused by the jar: ernie, snuffy", NAMES);
        assert!(matches!(listing.shown("ernie"), Shown::NotKept { .. }));
        assert!(matches!(listing.shown("snuffy"), Shown::NotKept { .. }));
    }

    #[test]
    fn json_after_a_line_of_text_is_read_as_json() {
        let output = "rejected cookie: ernie\n[\n  {\n    \"key\": \"cookiemonster\",\n    \"expires\": \"2026-12-26T09:00:00.000Z\"\n  }\n]\n[1/3] done\n";
        let listing = Listing::read(output, NAMES);
        assert_eq!(listing.dates("cookiemonster")[0].0, at(EXPIRES));
        assert!(matches!(listing.shown("ernie"), Shown::NotKept { .. }));
    }

    #[test]
    fn json_printed_per_cookie_and_tough_cookies_keys_are_read() {
        let pretty = "{\n  \"key\": \"cookiemonster\",\n  \"expires\": \"2026-12-26T09:00:00.000Z\"\n}\n{\n  \"key\": \"grover\",\n  \"expires\": \"Infinity\"\n}\n";
        let listing = Listing::read(pretty, NAMES);
        assert_eq!(listing.dates("cookiemonster")[0].0, at(EXPIRES));
        assert!(matches!(listing.shown("grover"), Shown::Kept(_)));
    }
}
