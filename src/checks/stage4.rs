//! Stage 4 — cookies: `GET /cookies` sets a session cookie and a cookie that expires in 30
//! days, written the way RFC 6265 asks, and echoes the cookies it was sent.

use super::browser::Reply;
use super::cookie_date::{self, DateFormat};
use super::{Check, Ctx, Failure, check, ensure};
use crate::under_test::{TIME_ZONE_OFFSET, day_of_month, submission_time_zone};
use reqwest::{Method, StatusCode};
use std::time::{Duration, SystemTime};

const HINT: &str = "exercises.md, “Stage 4 — cookies”: GET /cookies answers 200 without login and sets `grover=zaq1234` (no Expires, no Max-Age) and `cookiemonster=dsh93373` expiring 30 days later as an IMF-fixdate in GMT.";

pub static CHECKS: &[Check] = &[
    check!(
        "stage4.cookies-public",
        4,
        "GET /cookies answers 200 without logging in",
        ["stage1.listens"],
        "exercises.md, “Stage 4 — cookies”: /cookies is public like /login: let it through before the login redirect.",
        cookies_public
    ),
    check!(
        "stage4.cookies-set",
        4,
        "GET /cookies sets grover=zaq1234 and cookiemonster=dsh93373",
        ["stage4.cookies-public"],
        HINT,
        cookies_set
    ),
    check!(
        "stage4.grover-session-cookie",
        4,
        "grover is a session cookie: no Expires, no Max-Age",
        ["stage4.cookies-set"],
        "exercises.md, “Stage 4 — cookies”: a cookie without Expires and Max-Age lives until the browser closes; that is what makes it a session cookie.",
        grover_session_cookie
    ),
    check!(
        "stage4.cookiemonster-expires",
        4,
        "cookiemonster's Expires is an IMF-fixdate in GMT, 30 days after the response",
        ["stage4.cookies-set"],
        "exercises.md, “Stage 4 — cookies”: write Expires as `Sun, 06 Nov 1994 08:49:37 GMT`, 30 days after now, in GMT (Python: email.utils.formatdate(t, usegmt=True)).",
        cookiemonster_expires
    ),
    check!(
        "stage4.max-age-agrees",
        4,
        "a Max-Age on cookiemonster, if any, says 30 days too",
        ["stage4.cookies-set"],
        "exercises.md, “Stage 4 — cookies”: Max-Age is optional; when present it wins over Expires in browsers, so it must say the same 30 days (2592000 seconds).",
        max_age_agrees
    ),
    check!(
        "stage4.cookies-echo",
        4,
        "GET /cookies lists the cookies the request carried",
        ["stage4.cookies-public"],
        "exercises.md, “Stage 4 — cookies”: the body (text/plain) has one `name=value` line per cookie the request sent.",
        cookies_echo
    ),
];

/// Thirty days, and how far a server's idea of now may be from the `Date` it sent.
const LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const TOLERANCE: Duration = Duration::from_secs(120);

/// One `Set-Cookie` line: name, value and attributes with lowercased names, as sent.
struct SetCookie {
    line: String,
    name: String,
    value: String,
    attributes: Vec<(String, String)>,
}

impl SetCookie {
    fn parse(line: &str) -> Self {
        let mut parts = line.split(';');
        let (name, value) = parts
            .next()
            .unwrap_or_default()
            .split_once('=')
            .unwrap_or_default();
        Self {
            line: line.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attributes: parts
                .map(|attribute| {
                    let (name, value) = attribute.split_once('=').unwrap_or((attribute, ""));
                    (name.trim().to_ascii_lowercase(), value.trim().to_owned())
                })
                .collect(),
        }
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

async fn get_cookies(ctx: &mut Ctx) -> Result<Reply, Failure> {
    let reply = ctx.browser().get("/cookies").await?;
    ensure(reply.status == StatusCode::OK, || {
        Failure::unexpected("anonymous GET /cookies", "200 OK", &reply)
    })?;
    Ok(reply)
}

/// The `Set-Cookie` for `name` in a GET /cookies answer.
async fn set_cookie(ctx: &mut Ctx, name: &str) -> Result<(Reply, SetCookie), Failure> {
    let reply = get_cookies(ctx).await?;
    let found = reply
        .set_cookies()
        .iter()
        .map(|line| SetCookie::parse(line))
        .find(|cookie| cookie.name == name);
    match found {
        Some(cookie) => Ok((reply, cookie)),
        None => Err(
            Failure::new(format!("GET /cookies sets no cookie named {name}"))
                .actual(format!("Set-Cookie: {}", reply.set_cookies().join(" | "))),
        ),
    }
}

async fn cookies_public(ctx: &mut Ctx) -> Result<(), Failure> {
    get_cookies(ctx).await.map(drop)
}

async fn cookies_set(ctx: &mut Ctx) -> Result<(), Failure> {
    for (name, value) in [("grover", "zaq1234"), ("cookiemonster", "dsh93373")] {
        let (_, cookie) = set_cookie(ctx, name).await?;
        ensure(cookie.value == value, || {
            Failure::new(format!("{name} has the value {:?}", cookie.value))
                .expected(format!("{name}={value}"))
                .actual(format!("Set-Cookie: {}", cookie.line))
        })?;
    }
    Ok(())
}

async fn grover_session_cookie(ctx: &mut Ctx) -> Result<(), Failure> {
    let (_, grover) = set_cookie(ctx, "grover").await?;
    for attribute in ["expires", "max-age"] {
        ensure(grover.attribute(attribute).is_none(), || {
            Failure::new(format!(
                "grover has {attribute}, so it outlives the browser session; a session cookie has neither Expires nor Max-Age"
            ))
            .expected("Set-Cookie: grover=zaq1234 (no Expires, no Max-Age)")
            .actual(format!("Set-Cookie: {}", grover.line))
        })?;
    }
    Ok(())
}

/// The moments the response may have been made at: its `Date`; without one, the server's
/// clock (the grader's, moved as far as the server's was meant to be) or, for a program whose
/// clock could not be moved, the grader's own.
fn response_times(reply: &Reply, clock_shift: Duration) -> Vec<SystemTime> {
    if let Some(date) = reply
        .header("date")
        .and_then(|date| httpdate::parse_http_date(date).ok())
    {
        return vec![date];
    }
    let now = SystemTime::now();
    let mut times = vec![now + clock_shift];
    if !clock_shift.is_zero() {
        times.push(now);
    }
    times
}

fn distance(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b).unwrap_or_else(|e| e.duration())
}

fn hours_and_minutes(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    format!("{} h {:02} min", minutes / 60, minutes % 60)
}

async fn cookiemonster_expires(ctx: &mut Ctx) -> Result<(), Failure> {
    let (reply, monster) = set_cookie(ctx, "cookiemonster").await?;
    let expected = "Expires=<the response's Date + 30 days, as Sun, 06 Nov 1994 08:49:37 GMT>";
    let Some(expires) = monster.attribute("expires") else {
        return Err(Failure::new("cookiemonster has no Expires attribute")
            .expected(expected)
            .actual(format!("Set-Cookie: {}", monster.line)));
    };
    let format = cookie_date::classify(expires);
    let Some(moment) = cookie_date::parse_imf_fixdate(expires) else {
        let message = if format == DateFormat::ImfFixdate {
            format!(
                "cookiemonster's Expires {expires:?} has the right shape but its weekday does not match its date"
            )
        } else {
            format!(
                "cookiemonster's Expires {expires:?} is {format}; RFC 6265 asks for {}",
                DateFormat::ImfFixdate
            )
        };
        return Err(Failure::new(message)
            .expected(expected)
            .actual(format!("Set-Cookie: {}", monster.line)));
    };
    let sent_at = response_times(&reply, ctx.server().clock_shift());
    let in_time = sent_at
        .iter()
        .any(|sent_at| distance(moment, *sent_at + LIFETIME) <= TOLERANCE);
    if !in_time {
        let sent_at = sent_at[0];
        let target = sent_at + LIFETIME;
        let local_time = distance(moment, target).abs_diff(TIME_ZONE_OFFSET) <= TOLERANCE;
        let days = moment
            .duration_since(sent_at)
            .map(|ahead| format!("{:.2} days after", ahead.as_secs_f64() / 86_400.0))
            .unwrap_or_else(|_| "before".into());
        let why = if local_time {
            format!(
                ": it is off by {}, the offset of the grader's time zone for servers (TZ={}), so it is local time labelled GMT; write the time in UTC",
                hours_and_minutes(TIME_ZONE_OFFSET),
                submission_time_zone(),
            )
        } else {
            String::new()
        };
        return Err(Failure::new(format!(
            "cookiemonster expires {expires}, {days} the response ({}); expected 30 days after, within 2 minutes{why}",
            httpdate::fmt_http_date(sent_at)
        ))
        .expected(format!("Expires={}", httpdate::fmt_http_date(target)))
        .actual(format!("Set-Cookie: {}", monster.line)));
    }
    let expiry_day = day_of_month(moment);
    if expiry_day >= 10 {
        ctx.note(format!(
            "cookiemonster expires on day {expiry_day} of its month, so a formatter that writes days 1 to 9 with one digit (Java's RFC_1123_DATE_TIME) could not be seen in this grading: the server's clock could not be moved to such a date (libfaketime moves programs linked to the C library, not Go's)"
        ));
    }
    Ok(())
}

async fn max_age_agrees(ctx: &mut Ctx) -> Result<(), Failure> {
    let (_, monster) = set_cookie(ctx, "cookiemonster").await?;
    let Some(max_age) = monster.attribute("max-age") else {
        return Ok(());
    };
    let seconds: Option<u64> = max_age.parse().ok();
    ensure(
        seconds.is_some_and(|s| Duration::from_secs(s).abs_diff(LIFETIME) <= TOLERANCE),
        || {
            Failure::new(format!(
                "cookiemonster's Max-Age={max_age} does not say 30 days; browsers obey Max-Age over Expires"
            ))
            .expected(format!("Max-Age={} (or no Max-Age)", LIFETIME.as_secs()))
            .actual(format!("Set-Cookie: {}", monster.line))
        },
    )
}

async fn cookies_echo(ctx: &mut Ctx) -> Result<(), Failure> {
    let sent = "flavour=oatmeal; jar=full";
    let reply = ctx
        .browser()
        .with_cookie_header(Method::GET, "/cookies", sent)
        .await?;
    ensure(reply.status == StatusCode::OK, || {
        Failure::unexpected("GET /cookies with cookies", "200 OK", &reply)
    })?;
    let lines: Vec<&str> = reply.body.lines().map(str::trim).collect();
    for pair in ["flavour=oatmeal", "jar=full"] {
        ensure(lines.contains(&pair), || {
            Failure::new(format!(
                "GET /cookies with `Cookie: {sent}` does not list `{pair}` on a line of its own"
            ))
            .expected("flavour=oatmeal\njar=full")
            .actual(super::page::excerpt(&reply.body))
        })?;
    }
    Ok(())
}
