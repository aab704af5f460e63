//! The Netscape `cookies.txt` jar: the format curl (`-b`/`-c`), wget and Python's
//! `MozillaCookieJar` read and write. One cookie a line, seven tab-separated fields:
//! domain, include-subdomains, path, secure, expiry (Unix seconds, 0 for a session cookie),
//! name, value; `#HttpOnly_` before the domain marks an HttpOnly cookie. Session cookies are
//! written with expiry 0, as curl writes them (Python's own writer leaves the field empty; both
//! are read).

use cookie_store::{CookieDomain, CookieExpiration, CookieStore};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use url::Url;

const HTTP_ONLY_PREFIX: &str = "#HttpOnly_";

#[derive(Debug, thiserror::Error)]
pub enum JarError {
    #[error("cannot read the cookie jar {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the cookie jar {path}, line {line}: {reason}; is it a Netscape cookies.txt file?")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("cannot write the cookie jar {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// Reads a jar file; a missing file is an empty jar.
pub fn load(path: &Path) -> Result<CookieStore, JarError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(CookieStore::default()),
        Err(cause) => Err(JarError::Read {
            path: path.to_owned(),
            cause,
        }),
    }
}

/// Parses jar text. Cookies that have expired, or that the RFC 6265 rules would refuse, are
/// left out, as a browser would; a line that is not a cookie line is an error.
pub fn parse(text: &str, path: &Path) -> Result<CookieStore, JarError> {
    let mut store = CookieStore::default();
    for (index, line) in text.lines().enumerate() {
        let error = |reason: String| JarError::Line {
            path: path.to_owned(),
            line: index + 1,
            reason,
        };
        let line = line.trim_end_matches('\r');
        let (http_only, line) = match line.strip_prefix(HTTP_ONLY_PREFIX) {
            Some(rest) => (true, rest),
            None if line.starts_with('#') || line.trim().is_empty() => continue,
            None => (false, line),
        };
        let fields: Vec<&str> = line.split('\t').collect();
        let [
            domain,
            include_subdomains,
            cookie_path,
            secure,
            expiry,
            name,
            value,
        ] = match fields[..] {
            [d, i, p, s, e, n, v] => [d, i, p, s, e, n, v],
            // Some writers drop the tab before an empty value.
            [d, i, p, s, e, n] => [d, i, p, s, e, n, ""],
            _ => {
                return Err(error(format!(
                    "expected 7 tab-separated fields, found {}",
                    fields.len()
                )));
            }
        };
        let flag = |field: &str, what: &str| match field {
            "TRUE" => Ok(true),
            "FALSE" => Ok(false),
            other => Err(error(format!(
                "the {what} field is {other:?}, not TRUE or FALSE"
            ))),
        };
        let include_subdomains = flag(include_subdomains, "include-subdomains")?;
        let secure = flag(secure, "secure")?;
        // Python's MozillaCookieJar writes an empty expiry for a session cookie, curl a 0.
        let expiry: i64 = match expiry {
            "" => 0,
            seconds => seconds
                .parse()
                .map_err(|_| error(format!("the expiry {seconds:?} is not a number of seconds")))?,
        };
        let host = domain.trim_start_matches('.');
        let mut raw = cookie::Cookie::build((name.to_owned(), value.to_owned()))
            .path(cookie_path.to_owned())
            .secure(secure)
            .http_only(http_only);
        if include_subdomains {
            raw = raw.domain(host.to_owned());
        }
        if expiry > 0 {
            match cookie::time::OffsetDateTime::from_unix_timestamp(expiry) {
                Ok(moment) => raw = raw.expires(moment),
                Err(_) => return Err(error(format!("the expiry {expiry} is out of range"))),
            }
        }
        let scheme = if secure { "https" } else { "http" };
        let Ok(url) = Url::parse(&format!("{scheme}://{host}{cookie_path}")) else {
            return Err(error(format!(
                "{host:?} with path {cookie_path:?} is not a valid place"
            )));
        };
        if let Ok(cookie) = cookie_store::Cookie::try_from_raw_cookie(&raw.build(), &url) {
            let _ = store.insert(cookie.into_owned(), &url);
        }
    }
    Ok(store)
}

/// The jar as text: persistent cookies, and session cookies (expiry 0, as curl writes them)
/// only when `keep_session_cookies`. Sorted, so that a jar diffs well.
pub fn render(store: &CookieStore, keep_session_cookies: bool) -> String {
    let mut lines: Vec<String> = store
        .iter_unexpired()
        .filter(|cookie| keep_session_cookies || cookie.is_persistent())
        .filter_map(|cookie| {
            let (domain, include_subdomains) = match &cookie.domain {
                CookieDomain::HostOnly(host) => (host.clone(), "FALSE"),
                CookieDomain::Suffix(suffix) => (format!(".{suffix}"), "TRUE"),
                CookieDomain::NotPresent | CookieDomain::Empty => return None,
            };
            let expiry = match &cookie.expires {
                CookieExpiration::AtUtc(moment) => moment.unix_timestamp(),
                CookieExpiration::SessionEnd => 0,
            };
            let prefix = if cookie.http_only().unwrap_or(false) {
                HTTP_ONLY_PREFIX
            } else {
                ""
            };
            let secure = if cookie.secure().unwrap_or(false) {
                "TRUE"
            } else {
                "FALSE"
            };
            Some(format!(
                "{prefix}{domain}\t{include_subdomains}\t{}\t{secure}\t{expiry}\t{}\t{}",
                String::from(&cookie.path),
                cookie.name(),
                cookie.value()
            ))
        })
        .collect();
    lines.sort();
    let mut text = String::from(
        "# Netscape HTTP Cookie File\n# Written by session-lab: curl -b/-c, wget and Python's MozillaCookieJar read it.\n\n",
    );
    for line in lines {
        let _ = writeln!(text, "{line}");
    }
    text
}

/// Writes the jar atomically: a reader never sees half a file.
pub fn save(path: &Path, store: &CookieStore, keep_session_cookies: bool) -> Result<(), JarError> {
    let error = |cause| JarError::Write {
        path: path.to_owned(),
        cause,
    };
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(directory).map_err(error)?;
    temp.write_all(render(store, keep_session_cookies).as_bytes())
        .map_err(error)?;
    temp.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURL_JAR: &str = "# Netscape HTTP Cookie File\n\
        # https://curl.se/docs/http-cookies.html\n\
        # This file was generated by libcurl! Edit at your own risk.\n\n\
        #HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tcookiemonster\tdsh93373\n\
        127.0.0.1\tFALSE\t/\tFALSE\t0\tgrover\tzaq1234\n\
        .example.org\tTRUE\t/docs\tTRUE\t4102444800\twide\tyes\n\
        example.org\tFALSE\t/\tFALSE\t946684800\told\tgone\n";

    #[test]
    fn a_curl_jar_loads_with_every_attribute() {
        let store = parse(CURL_JAR, Path::new("jar.txt")).unwrap();
        let monster = store.get("127.0.0.1", "/", "cookiemonster").unwrap();
        assert_eq!(monster.http_only(), Some(true));
        assert!(monster.is_persistent());
        let grover = store.get("127.0.0.1", "/", "grover").unwrap();
        assert!(!grover.is_persistent(), "expiry 0 is a session cookie");
        let wide = store.get("example.org", "/docs", "wide").unwrap();
        assert_eq!(wide.domain, CookieDomain::Suffix("example.org".into()));
        assert_eq!(wide.secure(), Some(true));
        assert!(
            store.get("example.org", "/", "old").is_none(),
            "expired in 2000"
        );
    }

    #[test]
    fn render_then_parse_round_trips_and_drops_session_cookies_unless_kept() {
        let store = parse(CURL_JAR, Path::new("jar.txt")).unwrap();
        let persistent = render(&store, false);
        assert!(!persistent.contains("grover"));
        assert!(persistent.contains(
            "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tcookiemonster\tdsh93373\n"
        ));
        assert!(persistent.contains(".example.org\tTRUE\t/docs\tTRUE\t4102444800\twide\tyes\n"));
        let kept = render(&store, true);
        assert!(kept.contains("127.0.0.1\tFALSE\t/\tFALSE\t0\tgrover\tzaq1234\n"));
        assert_eq!(
            render(&parse(&kept, Path::new("again")).unwrap(), true),
            kept
        );
    }

    #[test]
    fn a_line_that_is_not_a_cookie_names_the_file_and_line() {
        let error = parse("# ok\nnot a cookie line\n", Path::new("jar.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("jar.txt, line 2") && error.contains("7 tab-separated"),
            "{error}"
        );
        let error = parse("a\tMAYBE\t/\tFALSE\t0\tn\tv\n", Path::new("jar.txt"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("MAYBE"), "{error}");
    }
}
