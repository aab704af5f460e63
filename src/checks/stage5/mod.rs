//! Stage 5 — a cookie client: it follows redirects, lists the cookies it keeps with their
//! expiry, and keeps them in a jar between runs (RFC 6265: expiry, path, domain, deletion;
//! session cookies end with the run).
//!
//! The client visits the grader's scripted cookie site ([`site`]), which records every request
//! with its `Cookie` header; what it printed is read by [`listing`]. Run 1 collects the
//! cookies, run 2 must send back the persistent ones (and the site deletes cookiemonster),
//! run 3 must no longer send it. Each run happens once, for the first check that needs it.

mod hints;
mod listing;
mod runs;
mod site;

pub use hints::hint;
pub use runs::ClientUnderTest;
use runs::ordinal;

use super::{Check, Ctx, Failure, check, ensure};
use crate::under_test::submission_time_zone;
use listing::{Listing, Shown};
use site::{Cookie, Cookies, Site, SiteVisit};
use std::time::{Duration, SystemTime};

pub static CHECKS: &[Check] = &[
    check!(
        Client: "stage5.client-runs",
        5,
        "the client fetches the URL it is given and exits with status 0",
        [],
        "exercises.md, “Stage 5 — a cookie client”: take the URL from the command line (the grader puts it where you write {url}, and in the URL environment variable), GET it, print, exit 0; a crash on a cookie your code cannot parse shows in the output below.",
        client_runs
    ),
    check!(
        Client: "stage5.client-follows-redirects",
        5,
        "it follows redirects, keeping the cookie set on the way",
        ["stage5.client-runs"],
        "exercises.md, “Stage 5 — a cookie client”: follow redirects (requests does by default; curl needs -L) and send the cookies a redirect set to where it leads.",
        client_follows_redirects
    ),
    check!(
        Client: "stage5.client-lists-cookies",
        5,
        "it prints the name of every cookie it keeps, and none it must not keep",
        ["stage5.client-follows-redirects"],
        "exercises.md, “Stage 5 — a cookie client”: after the run, print the cookies in your jar (one line each, with its name); a cookie that expired when it was set, or whose Domain is another site's, is not kept, so print the jar rather than the Set-Cookie headers.",
        client_lists_cookies
    ),
    check!(
        Client: "stage5.client-shows-expiry",
        5,
        "it prints cookiemonster's expiry (30 days ahead) and grover as a session cookie",
        ["stage5.client-follows-redirects"],
        "exercises.md, “Stage 5 — a cookie client”: print each cookie's expiry on its line, as Unix seconds (Python's cookie.expires), or as a date in UTC (say UTC, GMT, Z or +00:00 if you like); a session cookie has none (None, session).",
        client_shows_expiry
    ),
    check!(
        Client: "stage5.jar-sends-back",
        5,
        "a second run sends back the persistent cookies from its jar",
        ["stage5.client-follows-redirects"],
        "exercises.md, “Stage 5 — a cookie client”: save the jar to a file in the client's folder when the run ends and load it when the next starts (MozillaCookieJar's save() and load(), curl's -c and -b).",
        jar_sends_back
    ),
    check!(
        Client: "stage5.jar-drops-session-cookies",
        5,
        "session cookies end with the run: the second run does not send them",
        ["stage5.jar-sends-back"],
        "exercises.md, “Stage 5 — a cookie client”: a cookie without Expires or Max-Age lives until the client ends; save() of MozillaCookieJar leaves such cookies out (unless ignore_discard=True), curl drops them with --junk-session-cookies, and a jar pickled whole keeps them, which is wrong.",
        jar_drops_session_cookies
    ),
    check!(
        Client: "stage5.jar-matches-path-and-domain",
        5,
        "a cookie goes only where its Path and Domain reach",
        ["stage5.jar-sends-back"],
        "exercises.md, “Stage 5 — a cookie client”: a cookie with Path=/private is sent to /private and below, not to /; a cookie for another domain is never stored or sent (RFC 6265 §5.1.3, §5.1.4; a cookie jar does this, a dict of names and values does not).",
        jar_matches_path_and_domain
    ),
    check!(
        Client: "stage5.jar-honours-deletion",
        5,
        "a cookie the server deletes (Max-Age=0, or an Expires past) is not sent again",
        ["stage5.jar-sends-back"],
        "exercises.md, “Stage 5 — a cookie client”: a Set-Cookie whose Max-Age is 0 (or whose Expires has passed) deletes the cookie; save the jar as it is after the run, not merged with the one you loaded.",
        jar_honours_deletion
    ),
    check!(
        ClientAndServer: "stage5.client-against-your-server",
        5,
        "the client, run twice against your server's /cookies, sends back cookiemonster",
        [
            "stage5.jar-sends-back",
            "stage4.cookies-set",
            "stage4.grover-session-cookie",
            "stage4.cookiemonster-expires",
            "stage4.cookies-echo"
        ],
        "exercises.md, “Stage 5 — a cookie client”: your client and your server must understand each other: the second run's GET /cookies carries cookiemonster=dsh93373 and not grover.",
        client_against_your_server
    ),
];

/// How far a printed expiry may be from the one the site set.
const EXPIRY_TOLERANCE: Duration = Duration::from_secs(120);

/// The first request of a run to `path`.
fn visit_to<'a>(visits: &'a [SiteVisit], path: &str) -> Option<&'a SiteVisit> {
    visits
        .iter()
        .find(|visit| visit.path.split('?').next() == Some(path))
}

/// The requests of a run, for a failure: the first few, and how many more.
fn describe_all(visits: &[SiteVisit], more: usize) -> String {
    const SHOWN: usize = 10;
    if visits.is_empty() {
        return "no request at all".into();
    }
    let mut text = visits
        .iter()
        .take(SHOWN)
        .map(SiteVisit::describe)
        .collect::<Vec<_>>()
        .join(", then ");
    let rest = visits.len().saturating_sub(SHOWN) + more;
    if rest > 0 {
        text.push_str(&format!(", and {rest} more requests"));
    }
    text
}

async fn client_runs(ctx: &mut Ctx) -> Result<(), Failure> {
    let run = ctx.cookie_client().run(1).await?;
    let visits = &run.visits;
    ensure(visit_to(visits, site::START).is_some(), || {
        Failure::new(format!(
            "the client exited with status 0 but never requested the URL it was given ({})",
            run.url
        ))
        .expected(format!("GET {}", site::START))
        .actual(describe_all(visits, run.more))
    })
}

async fn client_follows_redirects(ctx: &mut Ctx) -> Result<(), Failure> {
    let run = ctx.cookie_client().run(1).await?;
    let visits = &run.visits;
    let cookies = &run.cookies;
    let Some(target) = visit_to(visits, site::JAR) else {
        let stopped_at = if visit_to(visits, site::DOOR).is_some() {
            site::DOOR
        } else {
            site::START
        };
        return Err(Failure::new(format!(
            "the client did not follow the redirects: GET {} answers 302 Found to {}, which answers 302 Found to {}, but it stopped at {stopped_at}",
            site::START,
            site::DOOR,
            site::JAR
        ))
        .expected(format!("GET {}, GET {}, GET {}", site::START, site::DOOR, site::JAR))
        .actual(describe_all(visits, run.more)));
    };
    ensure(target.carries(&cookies.telly), || {
        Failure::new(format!(
            "the cookie set on the redirect was lost: GET {} set {} as it redirected, but the client came to {} without it",
            site::START,
            cookies.telly.pair(),
            site::JAR
        ))
        .expected(format!("GET {} with `Cookie: {}`", site::JAR, cookies.telly.pair()))
        .actual(target.describe())
    })
}

/// The first run's output, read for the scripted cookies' names.
async fn first_listing(
    ctx: &mut Ctx,
) -> Result<(Listing, Cookies, Option<SystemTime>, String), Failure> {
    let run = ctx.cookie_client().run(1).await?;
    let names: Vec<&str> = run.cookies.all().iter().map(|cookie| cookie.name).collect();
    Ok((
        Listing::read(&run.output.stdout, &names),
        run.cookies.clone(),
        run.cookiemonster_expires,
        run.output.stdout,
    ))
}

/// The start of a client's output, for a failure.
fn excerpt(output: &str) -> String {
    match crate::text::prefix(output, crate::text::Limit::Chars(1200)) {
        Some(start) => format!("{start}…"),
        None if output.trim().is_empty() => "nothing on stdout".into(),
        None => output.to_owned(),
    }
}

async fn client_lists_cookies(ctx: &mut Ctx) -> Result<(), Failure> {
    let (listing, cookies, _, output) = first_listing(ctx).await?;
    let mut absent = Vec::new();
    let mut said_not_kept = Vec::new();
    for cookie in cookies.stored_after_first_run() {
        match listing.shown(cookie.name) {
            Shown::Kept(_) => {}
            Shown::Absent => absent.push(cookie.name),
            Shown::NotKept { line, word } => {
                said_not_kept.push(format!("{} (its line {line:?} says `{word}`)", cookie.name))
            }
        }
    }
    ensure(absent.is_empty() && said_not_kept.is_empty(), || {
        let mut problems = Vec::new();
        if !absent.is_empty() {
            problems.push(format!(
                "the output does not list {} (the jar holds them after the run: print each cookie's name)",
                absent.join(", ")
            ));
        }
        if !said_not_kept.is_empty() {
            problems.push(format!(
                "the output says the jar did not keep {}, but it should have",
                said_not_kept.join(", ")
            ));
        }
        Failure::new(problems.join("; "))
            .expected(format!(
                "a line naming each of {}",
                cookies
                    .stored_after_first_run()
                    .map(|cookie| cookie.name)
                    .join(", ")
            ))
            .actual(excerpt(&output))
    })?;
    let wrongly_kept: Vec<String> = [
        (&cookies.snuffy, "it expired when it was set"),
        (&cookies.ernie, "its Domain=example.com is another site"),
    ]
    .iter()
    .filter_map(|(cookie, why)| match listing.shown(cookie.name) {
        Shown::Kept(line) => Some(format!("{} ({why}), on the line {line:?}", cookie.name)),
        Shown::Absent | Shown::NotKept { .. } => None,
    })
    .collect();
    ensure(wrongly_kept.is_empty(), || {
        Failure::new(format!(
            "the output lists cookies a cookie jar does not keep: {}; print the jar after the run, not every Set-Cookie header (or say on the line that it was not stored)",
            wrongly_kept.join("; ")
        ))
        .expected("no snuffy and no ernie among the cookies listed as kept")
        .actual(excerpt(&output))
    })
}

async fn client_shows_expiry(ctx: &mut Ctx) -> Result<(), Failure> {
    let (listing, cookies, expires, output) = first_listing(ctx).await?;
    let expires = expires.ok_or_else(|| {
        Failure::new("internal error: the site did not record when cookiemonster expires")
    })?;
    let expected = format!(
        "{} (Unix time {})",
        httpdate::fmt_http_date(expires),
        unix_seconds(expires)
    );
    let dates = listing.dates(cookies.cookiemonster.name);
    let close = |time: &SystemTime| distance(*time, expires) <= EXPIRY_TOLERANCE;
    if !dates.iter().any(|(time, _)| close(time)) {
        let message = match dates.first() {
            None => format!(
                "no expiry is printed for cookiemonster: its line should show when it expires, 30 days from now ({expected})"
            ),
            Some((time, text)) => {
                let off = distance(*time, expires);
                let zone = if off.as_secs().abs_diff(5 * 3600 + 1800) <= EXPIRY_TOLERANCE.as_secs()
                {
                    format!(
                        ", which is the client's local time (the grader runs it with TZ={}, 5 h 30 min east of UTC) printed without its zone: print UTC, e.g. datetime.fromtimestamp(c.expires, timezone.utc), or the Unix time itself",
                        submission_time_zone()
                    )
                } else {
                    String::new()
                };
                format!(
                    "cookiemonster's expiry is printed as {text:?}, {} away from when it expires ({expected}){zone}",
                    human_duration(off)
                )
            }
        };
        return Err(Failure::new(message)
            .expected(format!("cookiemonster's line showing {expected}"))
            .actual(excerpt(&output)));
    }
    let now = SystemTime::now();
    let dated_grover: Vec<String> = listing
        .dates(cookies.grover.name)
        .into_iter()
        .filter(|(time, _)| *time > now)
        .map(|(_, text)| text)
        .collect();
    ensure(dated_grover.is_empty(), || {
        Failure::new(format!(
            "grover is a session cookie (it was set without Expires or Max-Age), but its line shows an expiry, {}: show it as a session cookie (None, session, or no date)",
            dated_grover.join(", ")
        ))
        .expected("grover's line without a date")
        .actual(excerpt(&output))
    })
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn distance(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b)
        .or_else(|_| b.duration_since(a))
        .unwrap_or_default()
}

/// `5 h 30 min`, `3 days 2 h`, `40 s`.
fn human_duration(span: Duration) -> String {
    let seconds = span.as_secs();
    match seconds {
        0..120 => format!("{seconds} s"),
        120..86_400 => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{} days {} h", seconds / 86_400, seconds % 86_400 / 3600),
    }
}

/// The request for the URL in run `run`, with the grading's cookies.
async fn start_of_run(ctx: &mut Ctx, number: usize) -> Result<(SiteVisit, Cookies), Failure> {
    let run = ctx.cookie_client().run(number).await?;
    let start = visit_to(&run.visits, site::START).cloned().ok_or_else(|| {
        Failure::new(format!(
            "the client's {} run never requested {}",
            ordinal(number),
            site::START
        ))
        .actual(describe_all(&run.visits, run.more))
    })?;
    Ok((start, run.cookies))
}

async fn jar_sends_back(ctx: &mut Ctx) -> Result<(), Failure> {
    let (start, cookies) = start_of_run(ctx, 2).await?;
    let missing: Vec<&Cookie> = [&cookies.cookiemonster, &cookies.bigbird]
        .into_iter()
        .filter(|cookie| !start.carries(cookie))
        .collect();
    ensure(missing.is_empty(), || {
        let names: Vec<String> = missing.iter().map(|cookie| cookie.pair()).collect();
        let message = if start.cookie.is_none() {
            format!(
                "the second run sent no cookies at all: nothing of the first run was kept (save the jar to a file at the end of a run, load it at the start); expected {}",
                names.join(" and ")
            )
        } else {
            format!(
                "the second run did not send back {} (cookiemonster has Expires, bigbird Max-Age: both outlive the run)",
                names.join(" and ")
            )
        };
        Failure::new(message)
            .expected(format!(
                "GET {} with {} and {}",
                site::START,
                cookies.cookiemonster.pair(),
                cookies.bigbird.pair()
            ))
            .actual(start.describe())
    })
}

async fn jar_drops_session_cookies(ctx: &mut Ctx) -> Result<(), Failure> {
    let (start, cookies) = start_of_run(ctx, 2).await?;
    let kept: Vec<String> = [&cookies.grover, &cookies.telly]
        .into_iter()
        .filter(|cookie| start.carries_name(cookie.name))
        .map(|cookie| cookie.name.to_owned())
        .collect();
    ensure(kept.is_empty(), || {
        Failure::new(format!(
            "the second run sent {}, session cookies of the first run (no Expires, no Max-Age): they end with the run that got them. A jar pickled or dumped whole keeps them; save only cookies with an expiry (MozillaCookieJar.save() does, unless ignore_discard=True)",
            kept.join(" and ")
        ))
        .expected("no grover and no telly in the second run")
        .actual(start.describe())
    })
}

async fn jar_matches_path_and_domain(ctx: &mut Ctx) -> Result<(), Failure> {
    let first = ctx.cookie_client().run(1).await?;
    let run = ctx.cookie_client().run(2).await?;
    let cookies = &run.cookies;
    if let Some(visit) = first
        .visits
        .iter()
        .chain(&run.visits)
        .find(|visit| visit.carries_name(cookies.ernie.name))
    {
        return Err(Failure::new(
            "the client sent ernie, which was set with Domain=example.com: a cookie for another domain is refused when it is set (RFC 6265 §5.3 step 6) and never sent to 127.0.0.1",
        )
        .expected("no request to 127.0.0.1 carries ernie")
        .actual(visit.describe()));
    }
    // Every path outside /private: the URL's and the page that sets the cookies.
    for path in [site::START, site::JAR] {
        if let Some(visit) = visit_to(&run.visits, path) {
            ensure(!visit.carries_name(cookies.oscar.name), || {
                Failure::new(format!(
                    "the second run sent oscar to {path}, but oscar was set with Path=/private: it belongs to /private and the paths below it only (RFC 6265 §5.1.4)"
                ))
                .expected(format!("GET {path} without oscar"))
                .actual(visit.describe())
            })?;
        }
    }
    let door = visit_to(&run.visits, site::DOOR).ok_or_else(|| {
        Failure::new(format!(
            "the second run did not follow the redirect to {}",
            site::DOOR
        ))
        .actual(describe_all(&run.visits, run.more))
    })?;
    ensure(door.carries(&cookies.oscar), || {
        Failure::new(format!(
            "the second run did not send oscar to {}: it was set with Path=/private and an expiry a day ahead, so it belongs to every path under /private",
            site::DOOR
        ))
        .expected(format!("GET {} with {}", site::DOOR, cookies.oscar.pair()))
        .actual(door.describe())
    })
}

async fn jar_honours_deletion(ctx: &mut Ctx) -> Result<(), Failure> {
    let (start, cookies) = start_of_run(ctx, 3).await?;
    // snuffy expired as it was set: that Set-Cookie deletes, and so stores nothing.
    for number in [2, 3] {
        let run = ctx.cookie_client().run(number).await?;
        if let Some(visit) = run
            .visits
            .iter()
            .find(|visit| visit.carries_name(cookies.snuffy.name))
        {
            return Err(Failure::new(format!(
                "the {} run sent snuffy, which was set with an Expires long past: a cookie that has expired is deleted, never stored or sent (RFC 6265 §5.3 step 11)",
                ordinal(number)
            ))
            .expected("no request carries snuffy")
            .actual(visit.describe()));
        }
    }
    ensure(!start.carries_name(cookies.cookiemonster.name), || {
        Failure::new(
            "the third run still sent cookiemonster, which the second run's answer deleted with `Set-Cookie: cookiemonster=; Max-Age=0`: a cookie deleted by the server must leave the jar",
        )
        .expected(format!("GET {} without cookiemonster", site::START))
        .actual(start.describe())
    })?;
    ensure(start.carries(&cookies.bigbird), || {
        Failure::new(format!(
            "the third run did not send {}, which nobody deleted: the jar lost the cookies it should have kept",
            cookies.bigbird.pair()
        ))
        .expected(format!("GET {} with {}", site::START, cookies.bigbird.pair()))
        .actual(start.describe())
    })
}

/// The student's own `/cookies`, whose cookies are the exercise's.
const COOKIES_PATH: &str = "/cookies";
const COOKIEMONSTER: &str = "cookiemonster=dsh93373";

async fn client_against_your_server(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut relay = Site::relay(ctx.shared_client(), ctx.server().base_url());
    let client = ctx.cookie_client();
    client
        .reset()
        .map_err(|error| Failure::new(format!("cannot give the client a fresh folder: {error}")))?;
    for run in 1..=2 {
        let url = relay.open_run(run, COOKIES_PATH).await.map_err(|error| {
            Failure::new(format!(
                "internal error: the grader cannot relay to the server: {error}"
            ))
        })?;
        let outcome = client
            .run_at(&url)
            .await
            .map_err(|error| Failure::new(format!("the client could not start: {error}")))?;
        if !outcome.succeeded() {
            return Err(Failure::new(format!(
                "run {run} of the client against your server's {COOKIES_PATH} failed: {}",
                outcome.problem.unwrap_or_default()
            )));
        }
    }
    let (visits, more) = relay.visits(2);
    let second = visit_to(&visits, COOKIES_PATH).ok_or_else(|| {
        Failure::new(format!(
            "the client's second run against your server never requested {COOKIES_PATH}"
        ))
        .actual(describe_all(&visits, more))
    })?;
    let sent = |pair: &str| {
        second
            .cookie
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .any(|sent| sent.trim() == pair)
    };
    ensure(sent(COOKIEMONSTER), || {
        Failure::new(format!(
            "the client's second run did not send {COOKIEMONSTER} to your server: run it against the server yourself and compare what each side prints"
        ))
        .expected(format!("GET {COOKIES_PATH} with {COOKIEMONSTER}"))
        .actual(second.describe())
    })?;
    ensure(!second.carries_name("grover"), || {
        Failure::new("the client's second run sent grover, your server's session cookie, back to it: session cookies end with the run")
            .expected(format!("GET {COOKIES_PATH} without grover"))
            .actual(second.describe())
    })?;
    ensure(second.body.contains(COOKIEMONSTER), || {
        Failure::new(format!(
            "your server's answer to the second run does not echo {COOKIEMONSTER}"
        ))
        .expected(format!("a body with the line {COOKIEMONSTER}"))
        .actual(second.body.clone())
    })
}
