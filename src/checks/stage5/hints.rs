//! The stage-5 hints in the words of the client's language. A check's own hint names the calls
//! of Python and curl, which most clients use; a client in another language gets these instead,
//! for the checks whose fix is a library call.

use super::super::Check;
use super::super::language::Language;

/// (check, language, what to do): each text starts with the section of `exercises.md`.
static IN_LANGUAGE: &[(&str, Language, &str)] = &[
    (
        "stage5.client-follows-redirects",
        Language::Node,
        "exercises.md, “Stage 5 — a cookie client”: follow redirects and send the cookies a redirect set to where it leads; fetch follows redirects but hides each hop's Set-Cookie, so use redirect: 'manual' and follow the Location yourself, or http.get in a loop.",
    ),
    (
        "stage5.client-follows-redirects",
        Language::Go,
        "exercises.md, “Stage 5 — a cookie client”: follow redirects and send the cookies a redirect set to where it leads; an http.Client follows redirects by itself and, given a Jar (net/http/cookiejar.New), keeps each hop's cookies.",
    ),
    (
        "stage5.client-follows-redirects",
        Language::Java,
        "exercises.md, “Stage 5 — a cookie client”: follow redirects and send the cookies a redirect set to where it leads: HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).cookieHandler(new CookieManager()).",
    ),
    (
        "stage5.client-follows-redirects",
        Language::Ruby,
        "exercises.md, “Stage 5 — a cookie client”: follow redirects and send the cookies a redirect set to where it leads; Net::HTTP does not follow them: loop on the Location header, carrying the cookies each answer set.",
    ),
    (
        "stage5.client-follows-redirects",
        Language::Php,
        "exercises.md, “Stage 5 — a cookie client”: follow redirects and send the cookies a redirect set to where it leads: curl_setopt($ch, CURLOPT_FOLLOWLOCATION, true) with CURLOPT_COOKIEFILE set, so the cookie engine runs.",
    ),
    (
        "stage5.client-shows-expiry",
        Language::Node,
        "exercises.md, “Stage 5 — a cookie client”: print each cookie's expiry on its line, as Unix seconds or as a date in UTC: new Date(ms).toISOString() or .toUTCString(), never .toString() (local time); a session cookie has none (print session).",
    ),
    (
        "stage5.client-shows-expiry",
        Language::Go,
        "exercises.md, “Stage 5 — a cookie client”: print each cookie's expiry on its line, as Unix seconds (c.Expires.Unix()) or as a date in UTC (c.Expires.UTC().Format(time.RFC1123)); a cookie whose Expires is the zero time and whose MaxAge is 0 is a session cookie (print session).",
    ),
    (
        "stage5.client-shows-expiry",
        Language::Java,
        "exercises.md, “Stage 5 — a cookie client”: print each cookie's expiry on its line, as Unix seconds or as a date in UTC; HttpCookie.getMaxAge() is seconds from now (print Instant.now().plusSeconds(maxAge), which is UTC), and -1 means a session cookie.",
    ),
    (
        "stage5.client-shows-expiry",
        Language::Ruby,
        "exercises.md, “Stage 5 — a cookie client”: print each cookie's expiry on its line, as Unix seconds (time.to_i) or as a date in UTC (time.utc.httpdate); a session cookie has none (print session).",
    ),
    (
        "stage5.client-shows-expiry",
        Language::Php,
        "exercises.md, “Stage 5 — a cookie client”: print each cookie's expiry on its line, as Unix seconds or as a date in UTC (gmdate('D, d M Y H:i:s \\G\\M\\T', $t)); a session cookie has none (print session).",
    ),
    (
        "stage5.jar-sends-back",
        Language::Node,
        "exercises.md, “Stage 5 — a cookie client”: save the jar to a file in the client's folder when the run ends (fs.writeFileSync of its cookies as JSON, with their domain, path and expiry) and load it when the next starts.",
    ),
    (
        "stage5.jar-sends-back",
        Language::Go,
        "exercises.md, “Stage 5 — a cookie client”: save the jar to a file in the client's folder when the run ends and load it when the next starts; net/http/cookiejar keeps nothing on disk and its Cookies() gives only names and values, so record each Set-Cookie (resp.Cookies(): name, value, domain, path, expiry) in a file and SetCookies them back at start.",
    ),
    (
        "stage5.jar-sends-back",
        Language::Java,
        "exercises.md, “Stage 5 — a cookie client”: save the jar to a file in the client's folder when the run ends and load it when the next starts; CookieManager keeps nothing on disk: write its CookieStore's cookies (with domain, path and expiry) to a file and add them back at start.",
    ),
    (
        "stage5.jar-sends-back",
        Language::Ruby,
        "exercises.md, “Stage 5 — a cookie client”: save the jar to a file in the client's folder when the run ends and load it when the next starts (HTTP::CookieJar's save and load, from the http-cookie gem, or a file of your own).",
    ),
    (
        "stage5.jar-sends-back",
        Language::Php,
        "exercises.md, “Stage 5 — a cookie client”: save the jar to a file in the client's folder when the run ends and load it when the next starts: CURLOPT_COOKIEJAR saves it when the handle closes, CURLOPT_COOKIEFILE loads it.",
    ),
    (
        "stage5.jar-drops-session-cookies",
        Language::Node,
        "exercises.md, “Stage 5 — a cookie client”: a cookie without Expires or Max-Age lives until the client ends: save only the cookies that have an expiry.",
    ),
    (
        "stage5.jar-drops-session-cookies",
        Language::Go,
        "exercises.md, “Stage 5 — a cookie client”: a cookie without Expires or Max-Age lives until the client ends: save only the cookies whose Expires is set or whose MaxAge is positive.",
    ),
    (
        "stage5.jar-drops-session-cookies",
        Language::Java,
        "exercises.md, “Stage 5 — a cookie client”: a cookie without Expires or Max-Age lives until the client ends: save only the cookies whose getMaxAge() is not -1.",
    ),
    (
        "stage5.jar-drops-session-cookies",
        Language::Ruby,
        "exercises.md, “Stage 5 — a cookie client”: a cookie without Expires or Max-Age lives until the client ends: save only the cookies that have an expiry (HTTP::CookieJar#save leaves session cookies out unless told session: true).",
    ),
    (
        "stage5.jar-drops-session-cookies",
        Language::Php,
        "exercises.md, “Stage 5 — a cookie client”: a cookie without Expires or Max-Age lives until the client ends; curl's cookie jar keeps them, so set CURLOPT_COOKIESESSION when loading it.",
    ),
];

/// `check`'s hint for a client in `language`: its own where none is written for that language.
pub fn hint(check: &'static Check, language: Language) -> &'static str {
    IN_LANGUAGE
        .iter()
        .find(|(id, written_for, _)| *id == check.id && *written_for == language)
        .map_or(check.hint, |(_, _, hint)| hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTION: &str = "exercises.md, “Stage 5 — a cookie client”: ";

    #[test]
    fn every_hint_in_a_language_is_for_a_stage_5_check_and_points_to_its_section() {
        let checks = super::super::CHECKS;
        for (id, language, text) in IN_LANGUAGE {
            let check = checks.iter().find(|check| check.id == *id);
            assert!(check.is_some(), "{id} is no stage-5 check");
            assert!(text.starts_with(SECTION), "{id} for {language:?}: {text}");
            assert_eq!(hint(check.unwrap(), *language), *text);
        }
        let follows = checks
            .iter()
            .find(|check| check.id == "stage5.client-follows-redirects")
            .unwrap();
        assert_eq!(hint(follows, Language::Python), follows.hint);
    }
}
