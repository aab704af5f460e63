//! Reading the hit count a server shows (`Hits: N` on `/`, logging in first when `/` asks for
//! it), and what a later reading must show given the requests made between: every request
//! counts, the readings' own too.

use super::browser::{Browser, Reply};
use super::{Credentials, Failure, ensure, page};

/// A hit count as read from `/`, and how many requests reading it took (1, or more when it
/// had to log in first): every request counts, so expectations must add these.
#[derive(Debug, Clone)]
pub struct HitsReading {
    pub hits: u64,
    pub requests: u64,
    /// Whether reading it took a login: `/` sent the browser to the login page first.
    pub logged_in_again: bool,
    /// The answer to the GET / the count was read from.
    pub reply: Reply,
}

/// The count `after` must show, given `before` and the requests made between the readings
/// (every request counts, the readings' own too).
pub fn expect_count(
    what: &str,
    before: &HitsReading,
    between: u64,
    after: &HitsReading,
) -> Result<(), Failure> {
    let expected = before.hits + between + after.requests;
    ensure(after.hits == expected, || {
        let detail = if after.hits < expected {
            format!(" ({} hits missing)", expected - after.hits)
        } else {
            String::new()
        };
        Failure::new(format!(
            "{what}: expected Hits: {expected}, got Hits: {}{detail}",
            after.hits
        ))
        .expected(format!("Hits: {expected}"))
        .actual(format!("Hits: {}", after.hits))
    })
}

/// Reads `Hits: N` from `/` with `browser`, logging in first when `/` sends it to the login
/// page (by a redirect, or by showing the login form in place of the page).
pub async fn read_hits(
    browser: &mut Browser,
    credentials: &Credentials,
) -> Result<HitsReading, Failure> {
    let mut requests = 1;
    let mut reply = browser.get("/").await?;
    let shows_login_form = || {
        page::hits(&reply.body).is_none()
            && page::forms(&reply.body)
                .iter()
                .any(page::Form::has_password_field)
    };
    if reply.redirects_to("/login") || shows_login_form() {
        let login = browser
            .log_in(&credentials.username, &credentials.password)
            .await?;
        if !login.is_redirect() {
            return Err(Failure::new(format!(
                "cannot read the hit count: GET / sends a visitor to log in, and logging in as {} got {}",
                credentials.username,
                login.summary()
            ))
            .actual(login.describe()));
        }
        reply = browser.get("/").await?;
        requests += 3;
    }
    let logged_in_again = requests > 1;
    if reply.status != reqwest::StatusCode::OK {
        return Err(Failure::unexpected(
            "GET /",
            "200 OK with the hit count",
            &reply,
        ));
    }
    let hits = page::hits(&reply.body).ok_or_else(|| {
        Failure::new("GET / answered 200 OK but its page has no `Hits: N`")
            .expected("a page containing `Hits: N`")
            .actual(reply.describe())
    })?;
    Ok(HitsReading {
        hits,
        requests,
        logged_in_again,
        reply,
    })
}
