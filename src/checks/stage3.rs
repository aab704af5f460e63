//! Stage 3 — login: anonymous visitors are sent to a login form; a right password starts a
//! server-side session carried by a random, HttpOnly cookie; logout ends it on the server.

use super::browser::{Browser, Reply};
use super::page::{self, Form};
use super::{Check, Ctx, Failure, check, ensure};
use crate::under_test::StopSignal;
use base64::Engine;
use reqwest::{Method, StatusCode};

const HINT_REDIRECT: &str = "exercises.md, “Stage 3 — login”: without a logged-in session, answer every path but /login with a 303 (or 302/307) and `Location: /login`.";
const HINT_COOKIE: &str = "exercises.md, “Stage 3 — login”: the session cookie's value is a random id (at least 128 bits from a CSPRNG, e.g. secrets.token_urlsafe(32)), new at every login, sent with HttpOnly.";

pub static CHECKS: &[Check] = &[
    check!(
        "stage3.redirects-home",
        3,
        "an anonymous GET / is redirected to /login",
        ["stage1.listens"],
        HINT_REDIRECT,
        redirects_home
    ),
    check!(
        "stage3.redirects-any-path",
        3,
        "an anonymous GET of another path is redirected to /login",
        ["stage1.listens"],
        HINT_REDIRECT,
        redirects_any_path
    ),
    check!(
        "stage3.login-form",
        3,
        "GET /login answers 200 with a POST form to /login with username and password fields",
        ["stage1.listens"],
        "exercises.md, “Stage 3 — login”: serve `<form method=\"post\" action=\"/login\">` with `<input name=\"username\">` and `<input type=\"password\" name=\"password\">` with status 200.",
        login_form
    ),
    check!(
        "stage3.wrong-password",
        3,
        "a wrong password or unknown user gets 401 with the form and a message, and no session",
        ["stage3.login-form"],
        "exercises.md, “Stage 3 — login”: compare both username and password; on a mismatch answer 401 with the form and an error message, and create no session.",
        wrong_password
    ),
    check!(
        "stage3.no-http-auth",
        3,
        "no response asks for HTTP authentication (no WWW-Authenticate)",
        ["stage1.listens"],
        "exercises.md, “Stage 3 — login”: this is form login; a WWW-Authenticate header makes browsers pop up their own password dialog.",
        no_http_auth
    ),
    check!(
        "stage3.login-redirects-home",
        3,
        "the right password redirects to / and sets a cookie",
        ["stage3.login-form"],
        "exercises.md, “Stage 3 — login”: on success answer 303 (or 302/307) with `Location: /` and a Set-Cookie carrying the session id.",
        login_redirects_home
    ),
    check!(
        "stage3.logged-in-page",
        3,
        "logged in, GET / shows `Logged in as alice` and `Hits: N`",
        ["stage3.login-redirects-home"],
        "exercises.md, “Stage 3 — login”: find the session from the cookie the browser sends back and show `Logged in as <user>` with the count.",
        logged_in_page
    ),
    check!(
        "stage3.session-cookie-httponly",
        3,
        "the session cookie is HttpOnly",
        ["stage3.login-redirects-home"],
        HINT_COOKIE,
        session_cookie_httponly
    ),
    check!(
        "stage3.session-id-random",
        3,
        "the session id looks random (≥128 bits), is new at every login and is not derived from the username",
        ["stage3.login-redirects-home"],
        HINT_COOKIE,
        session_id_random
    ),
    check!(
        "stage3.logout-ends-session",
        3,
        "POST /logout redirects to /login and the old cookie no longer works",
        ["stage3.logged-in-page"],
        "exercises.md, “Stage 3 — login”: logout must delete the session on the server; clearing the cookie alone leaves a stolen copy working.",
        logout_ends_session
    ),
    check!(
        "stage3.login-survives-restart",
        3,
        "a login survives a SIGINT restart",
        ["stage3.logged-in-page"],
        "exercises.md, “Stage 2 — persistence” and “Stage 3 — login”: the sessions are session data too: save and restore them with the count.",
        login_survives_restart
    ),
    check!(
        "stage3.odd-cookie-header",
        3,
        "malformed Cookie headers get an answer below 500",
        ["stage1.listens"],
        "exercises.md, “Stage 3 — login”: any client may send any Cookie header; skip what you cannot parse, treat an unknown session id as logged out, never crash.",
        odd_cookie_header
    ),
];

async fn expect_login_redirect(browser: &mut Browser, path: &str) -> Result<(), Failure> {
    let reply = browser.get(path).await?;
    ensure(reply.redirects_to("/login"), || {
        Failure::unexpected(
            &format!("anonymous GET {path}"),
            "a redirect (303, 302 or 307) to /login",
            &reply,
        )
    })
}

async fn redirects_home(ctx: &mut Ctx) -> Result<(), Failure> {
    expect_login_redirect(&mut ctx.browser(), "/").await
}

async fn redirects_any_path(ctx: &mut Ctx) -> Result<(), Failure> {
    expect_login_redirect(&mut ctx.browser(), "/private/page?x=1").await
}

/// The login form of a page: a POST form with a password field whose action is /login.
fn login_form_of(reply: &Reply) -> Option<Form> {
    page::forms(&reply.body).into_iter().find(|form| {
        let action = form
            .action
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or("/login");
        form.method == "post"
            && form.has_password_field()
            && reply
                .url
                .join(action)
                .is_ok_and(|url| url.path() == "/login")
    })
}

async fn login_form(ctx: &mut Ctx) -> Result<(), Failure> {
    let reply = ctx.browser().get("/login").await?;
    ensure(reply.status == StatusCode::OK, || {
        Failure::unexpected("GET /login", "200 OK with the login form", &reply)
    })?;
    let form = login_form_of(&reply).ok_or_else(|| {
        Failure::new("GET /login has no form with method=\"post\", action=\"/login\" and a type=\"password\" field")
            .expected("<form method=\"post\" action=\"/login\"> with <input type=\"password\" name=\"password\">")
            .actual(reply.describe())
    })?;
    let password = form.input("password");
    ensure(
        form.input("username").is_some() && password.is_some_and(|i| i.kind == "password"),
        || {
            let names: Vec<_> = form
                .inputs
                .iter()
                .map(|i| format!("{} ({})", i.name, i.kind))
                .collect();
            Failure::new(
                "the login form must name its fields `username` and `password` (type=\"password\")",
            )
            .expected("inputs username and password (type=password)")
            .actual(format!("inputs: {}", names.join(", ")))
        },
    )
}

async fn wrong_password(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut browser = ctx.browser();
    let plain_form = browser.get("/login").await?;
    let username = ctx.credentials.username.clone();
    let attempts = [
        (
            username.clone(),
            format!("{}-wrong", ctx.credentials.password),
        ),
        (
            format!("{username}-unknown"),
            ctx.credentials.password.clone(),
        ),
        (username, String::new()),
    ];
    for (user, password) in &attempts {
        let what = format!("POST /login as {user:?} with password {password:?}");
        let reply = browser.log_in(user, password).await?;
        ensure(reply.status == StatusCode::UNAUTHORIZED, || {
            Failure::unexpected(
                &what,
                "401 Unauthorized with the form and an error message",
                &reply,
            )
        })?;
        ensure(login_form_of(&reply).is_some(), || {
            Failure::new(format!(
                "{what}: the 401 page must show the login form again"
            ))
            .actual(reply.describe())
        })?;
        ensure(
            page::text(&reply.body) != page::text(&plain_form.body),
            || {
                Failure::new(format!(
                    "{what}: the 401 page is the plain login form; add an error message"
                ))
                .actual(reply.describe())
            },
        )?;
        let home = browser.get("/").await?;
        ensure(!shows_logged_in(&home, &ctx.credentials.username), || {
            Failure::new(format!(
                "{what} logged the browser in: GET / then showed `Logged in as`"
            ))
            .expected("no session after a failed login")
            .actual(home.describe())
        })?;
    }
    Ok(())
}

async fn no_http_auth(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut browser = ctx.browser();
    let replies = [
        browser.get("/").await?,
        browser.get("/login").await?,
        browser
            .log_in(&ctx.credentials.username, "not-the-password")
            .await?,
    ];
    for reply in &replies {
        if let Some(challenge) = reply.header("www-authenticate") {
            return Err(Failure::new(format!(
                "{} {} answered with WWW-Authenticate: {challenge}; use the login form, not HTTP authentication",
                reply.method,
                reply.url.path()
            ))
            .expected("no WWW-Authenticate header")
            .actual(format!("WWW-Authenticate: {challenge}")));
        }
    }
    Ok(())
}

/// Logs a fresh browser in and checks the answer is a redirect home with a cookie.
async fn logged_in_browser(ctx: &mut Ctx) -> Result<(Browser, Reply), Failure> {
    let mut browser = ctx.browser();
    let reply = browser
        .log_in(&ctx.credentials.username, &ctx.credentials.password)
        .await?;
    let what = format!(
        "POST /login as {} with the right password",
        ctx.credentials.username
    );
    ensure(reply.redirects_to("/"), || {
        Failure::unexpected(&what, "a redirect (303, 302 or 307) to /", &reply)
    })?;
    ensure(!reply.set_cookies().is_empty(), || {
        Failure::new(format!(
            "{what}: the redirect sets no cookie, so the browser cannot stay logged in"
        ))
        .expected("a Set-Cookie header with the session id")
        .actual(reply.summary())
    })?;
    Ok((browser, reply))
}

async fn login_redirects_home(ctx: &mut Ctx) -> Result<(), Failure> {
    logged_in_browser(ctx).await.map(drop)
}

/// Whether a page is the logged-in view of `/` for `username`.
fn shows_logged_in(reply: &Reply, username: &str) -> bool {
    reply.status == StatusCode::OK
        && page::text(&reply.body).contains(&format!("Logged in as {username}"))
}

async fn expect_logged_in(
    browser: &mut Browser,
    username: &str,
    when: &str,
) -> Result<(), Failure> {
    let reply = browser.get("/").await?;
    let expected = format!("Logged in as {username}");
    ensure(reply.status == StatusCode::OK, || {
        Failure::unexpected(
            &format!("GET / {when}"),
            format!("200 OK showing `{expected}`"),
            &reply,
        )
    })?;
    let text = page::text(&reply.body);
    ensure(text.contains(&expected), || {
        Failure::new(format!("GET / {when}: the page does not say `{expected}`"))
            .expected(expected.clone())
            .actual(reply.describe())
    })?;
    ensure(page::hits(&reply.body).is_some(), || {
        Failure::new(format!("GET / {when}: the page has no `Hits: N`")).actual(reply.describe())
    })
}

async fn logged_in_page(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut browser, _) = logged_in_browser(ctx).await?;
    expect_logged_in(&mut browser, &ctx.credentials.username, "after logging in").await
}

/// The session cookie as two logins set it: the cookie whose value differs between them.
struct SessionCookie {
    name: String,
    lines: [String; 2],
    values: [String; 2],
}

async fn session_cookie(ctx: &mut Ctx) -> Result<SessionCookie, Failure> {
    let (_, first) = logged_in_browser(ctx).await?;
    let (_, second) = logged_in_browser(ctx).await?;
    let parse = |reply: &Reply| -> Vec<(String, String, String)> {
        reply
            .set_cookies()
            .into_iter()
            .filter_map(|line| {
                let cookie = cookie::Cookie::parse(line.clone()).ok()?;
                Some((cookie.name().to_owned(), cookie.value().to_owned(), line))
            })
            .collect()
    };
    let (first, second) = (parse(&first), parse(&second));
    first
        .iter()
        .find_map(|(name, value, line)| {
            let (_, other_value, other_line) = second.iter().find(|(other, ..)| other == name)?;
            (other_value != value).then(|| SessionCookie {
                name: name.clone(),
                lines: [line.clone(), other_line.clone()],
                values: [value.clone(), other_value.clone()],
            })
        })
        .ok_or_else(|| {
            let set: Vec<_> = first.iter().map(|(_, _, line)| line.as_str()).collect();
            Failure::new("two logins set the same cookie values: the session id is not new and random at every login")
                .expected("a session cookie with a different random value at each login")
                .actual(format!("both logins set: {}", set.join(" | ")))
        })
}

async fn session_cookie_httponly(ctx: &mut Ctx) -> Result<(), Failure> {
    let cookie = session_cookie(ctx).await?;
    let http_only = cookie::Cookie::parse(cookie.lines[0].clone())
        .ok()
        .and_then(|parsed| parsed.http_only())
        .unwrap_or(false);
    ensure(http_only, || {
        Failure::new(format!(
            "the session cookie {} lacks HttpOnly, so any script on the page can steal it",
            cookie.name
        ))
        .expected(format!("Set-Cookie: {}=…; HttpOnly", cookie.name))
        .actual(format!("Set-Cookie: {}", cookie.lines[0]))
    })
}

/// Bits of randomness a value can hold at most, judged by its length and alphabet.
pub fn apparent_bits(value: &str) -> f64 {
    let value = value.trim_end_matches('=');
    let per_char: f64 = if value.chars().all(|c| c.is_ascii_hexdigit()) {
        4.0
    } else if value.chars().all(|c| c.is_ascii_alphanumeric()) {
        62f64.log2()
    } else if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_+/".contains(c))
    {
        6.0
    } else {
        // Printable ASCII at most; a generous upper bound.
        95f64.log2()
    };
    per_char * value.chars().count() as f64
}

/// Whether `value` spells out `username`, plainly or in hex or base64.
fn reveals(value: &str, username: &str) -> bool {
    let needle = username.to_ascii_lowercase();
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let hex: Option<Vec<u8>> = (value.len() % 2 == 0)
        .then(|| {
            (0..value.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten();
    std::iter::once(value.as_bytes().to_vec())
        .chain(
            engines
                .iter()
                .filter_map(|engine| engine.decode(value).ok()),
        )
        .chain(hex)
        .any(|decoded| {
            String::from_utf8_lossy(&decoded)
                .to_ascii_lowercase()
                .contains(&needle)
        })
}

async fn session_id_random(ctx: &mut Ctx) -> Result<(), Failure> {
    let cookie = session_cookie(ctx).await?;
    for value in &cookie.values {
        let bits = apparent_bits(value);
        ensure(bits >= 128.0, || {
            Failure::new(format!(
                "the session id {value:?} can hold at most {bits:.0} bits of randomness; 128 is the minimum"
            ))
            .expected("at least 128 bits: e.g. 32 hex digits or 22 base64url characters from a CSPRNG")
            .actual(format!("{}={value}", cookie.name))
        })?;
        ensure(!reveals(value, &ctx.credentials.username), || {
            Failure::new(format!(
                "the session id {value:?} is derived from the username: anyone can forge it"
            ))
            .actual(format!("{}={value}", cookie.name))
        })?;
    }
    Ok(())
}

async fn logout_ends_session(ctx: &mut Ctx) -> Result<(), Failure> {
    let (mut browser, _) = logged_in_browser(ctx).await?;
    let home = browser.get("/").await?;
    let stolen = browser.cookie_header().unwrap_or_default();
    let logout_form = page::forms(&home.body).into_iter().find(|form| {
        form.action
            .as_deref()
            .and_then(|action| home.url.join(action).ok())
            .is_some_and(|url| url.path() == "/logout")
    });
    let fields: Vec<(String, String)> = logout_form
        .iter()
        .flat_map(|form| &form.inputs)
        .filter(|input| input.kind == "hidden")
        .map(|input| (input.name.clone(), input.value.clone()))
        .collect();
    let reply = browser.post_form("/logout", &fields).await?;
    ensure(reply.redirects_to("/login"), || {
        Failure::unexpected(
            "POST /logout",
            "a redirect (303, 302 or 307) to /login",
            &reply,
        )
    })?;
    let username = ctx.credentials.username.clone();
    let after = browser.get("/").await?;
    ensure(!shows_logged_in(&after, &username), || {
        Failure::new("GET / after logging out still shows `Logged in as`")
            .expected("logged out")
            .actual(after.describe())
    })?;
    let replayed = ctx
        .browser()
        .with_cookie_header(Method::GET, "/", &stolen)
        .await?;
    ensure(!shows_logged_in(&replayed, &username), || {
        Failure::new(format!(
            "the session cookie still works after logout: GET / with `Cookie: {stolen}` got {}; delete the session on the server, not only the cookie",
            replayed.summary()
        ))
        .expected("logged out (a redirect to /login)")
        .actual(replayed.describe())
    })
}

/// Judged on the SIGINT restart the persistence checks observe: the observer was logged in
/// before it, and must still be after it, with the same cookie.
async fn login_survives_restart(ctx: &mut Ctx) -> Result<(), Failure> {
    let observed = ctx.observed_restart(StopSignal::Interrupt).await?;
    let (before, after) = (observed.before?, observed.after?);
    let expected = format!("Logged in as {}", ctx.credentials.username);
    ensure(page::text(&before.reply.body).contains(&expected), || {
        Failure::new(format!(
            "GET / before the restart does not say `{expected}`"
        ))
        .actual(before.reply.describe())
    })?;
    ensure(!after.logged_in_again, || {
        Failure::new("after a SIGINT restart the session cookie no longer works: GET / sent the browser to log in again")
            .expected(format!("GET / still showing `{expected}` with the same cookie"))
            .actual("a redirect to /login (the session was not saved, or not restored)")
    })
}

/// Cookie headers real clients send, none of which should trouble a server.
const ODD_COOKIE_HEADERS: &[&str] = &[
    "theme; a=b=c; ;;",
    "=; =x; sid=; session=\"quoted value\"",
    "%%%; ===; a=%ZZ; sid=../../etc/passwd",
    "sid=0; sid=1; session_id=not-a-session; token=\u{e9}t\u{e9}",
];

async fn odd_cookie_header(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut browser = ctx.browser();
    let long = format!("big={}", "x".repeat(4000));
    for header in ODD_COOKIE_HEADERS.iter().copied().chain([long.as_str()]) {
        for path in ["/", "/login"] {
            let reply = browser
                .with_cookie_header(Method::GET, path, header)
                .await
                .map_err(|failure| {
                    Failure::new(format!(
                        "GET {path} with `Cookie: {header}`: {}",
                        failure.message
                    ))
                })?;
            ensure(!reply.status.is_server_error(), || {
                Failure::unexpected(
                    &format!("GET {path} with `Cookie: {header}`"),
                    "an answer below 500",
                    &reply,
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apparent_bits_judge_length_and_alphabet() {
        assert!(apparent_bits(&"a".repeat(32)) >= 128.0, "32 hex digits");
        assert!(apparent_bits(&"a".repeat(31)) < 128.0);
        assert!(apparent_bits("vmrAEaYCgGJpz8Sfad-VpEB3L0lOjeAm") >= 128.0);
        assert!(apparent_bits("12") < 128.0);
        assert!(apparent_bits("1795633255.123") < 128.0);
    }

    #[test]
    fn usernames_are_found_plain_hex_and_base64() {
        assert!(reveals("alice-1", "alice"));
        assert!(reveals("YWxpY2U", "alice"));
        assert!(reveals("YWxpY2U6MTIz", "alice"));
        assert!(reveals("616c696365", "alice"));
        assert!(!reveals("vmrAEaYCgGJpz8Sfad-VpEB3L0lOjeAm", "alice"));
    }
}
