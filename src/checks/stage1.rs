//! Stage 1 — hits: every GET and POST counts, exactly, across paths, clients and threads, and
//! the page shows the count including its own request.

use super::{Check, Ctx, Failure, check, ensure, expect_count, read_hits};
use futures_util::StreamExt;
use reqwest::Method;
use std::time::{Duration, Instant};

const HINT_HITS: &str = "exercises.md, “Stage 1 — hits”: every GET and every POST counts as one hit, whatever its path or client.";

pub static CHECKS: &[Check] = &[
    check!(
        "stage1.listens",
        1,
        "the server starts on the given port and answers HTTP",
        [],
        "exercises.md, “Running your server”: listen on 127.0.0.1 at the port given on the command line (or in PORT) and answer HTTP/1.1.",
        listens
    ),
    check!(
        "stage1.home-page",
        1,
        "GET / answers 200 with an HTML page showing `Hits: N`",
        ["stage1.listens"],
        "exercises.md, “Stage 1 — hits”: GET / answers 200 with Content-Type text/html and a page whose text contains `Hits: N`.",
        home_page
    ),
    check!(
        "stage1.hits-consecutive",
        1,
        "consecutive GET / show consecutive counts",
        ["stage1.home-page"],
        "exercises.md, “Stage 1 — hits”: the count belongs to the server, not to one handler object or one request: keep it where every request sees it.",
        hits_consecutive
    ),
    check!(
        "stage1.any-path-counts",
        1,
        "requests for other paths count too",
        ["stage1.hits-consecutive"],
        "exercises.md, “Stage 1 — hits”: count before routing, so that a 404 (or a redirect) is a hit as well.",
        any_path_counts
    ),
    check!(
        "stage1.post-counts",
        1,
        "POST requests count too, to / and to unknown paths",
        ["stage1.hits-consecutive"],
        "exercises.md, “Stage 1 — hits”: a POST is a hit even where your server answers it with an error; count it in your POST handler too (in Python's http.server, define do_POST: without it the library answers 501 before your code runs).",
        post_counts
    ),
    check!(
        "stage1.counts-this-request",
        1,
        "the count shown includes the request that shows it",
        ["stage1.any-path-counts", "stage1.post-counts"],
        "exercises.md, “Stage 1 — hits”: started afresh (no state file), the server has counted exactly the requests it received, and the page shows that number with its own request included: count first, then build the page.",
        counts_this_request
    ),
    check!(
        "stage1.global-count",
        1,
        "two clients share one count",
        ["stage1.hits-consecutive"],
        HINT_HITS,
        global_count
    ),
    check!(
        "stage1.concurrent-exact",
        1,
        "the count is exact after 200 concurrent requests, and after as many as 0.6 s brings",
        ["stage1.hits-consecutive"],
        "exercises.md, “Stage 1 — hits”: concurrent requests must not lose updates: increment under a lock or with an atomic.",
        concurrent_exact
    ),
];

/// How many requests the concurrency check sends, and how many at once. Six at once is real
/// concurrency yet never overflows the accept queue of a default listen backlog of 5
/// (Python's), where a dropped SYN would cost a one-second retransmit and nothing else.
const CONCURRENT_REQUESTS: u64 = 200;
const IN_FLIGHT: usize = 6;
/// After the first 200, requests go on until 0.6 s have passed: a race that loses one update
/// in thousands (an unlocked `hits++` in Go) shows only over thousands of requests. A server
/// fast enough to answer that many gets up to four seconds (its races are rarer still); a
/// slower one costs its grading under a second more than 200 requests alone did.
const CONCURRENT_FOR: Duration = Duration::from_millis(600);
const FAST_SERVER_FOR: Duration = Duration::from_secs(4);
/// Requests a second that make a server fast.
const FAST_SERVER: f64 = 10_000.0;
/// A bound on the loop, whatever the server's speed.
const MOST_CONCURRENT_REQUESTS: u64 = 60_000;

async fn listens(ctx: &mut Ctx) -> Result<(), Failure> {
    let reply = ctx.browser().get("/").await?;
    ensure(!reply.status.is_server_error(), || {
        Failure::unexpected("GET /", "an answer below 500", &reply)
    })
}

async fn home_page(ctx: &mut Ctx) -> Result<(), Failure> {
    let reply = ctx.read_hits().await?.reply;
    let content_type = reply.header("content-type").unwrap_or("(none)");
    ensure(
        content_type.to_ascii_lowercase().starts_with("text/html"),
        || {
            Failure::new(format!(
                "GET / must be an HTML page, but its Content-Type is {content_type}"
            ))
            .expected("Content-Type: text/html")
            .actual(format!("Content-Type: {content_type}"))
        },
    )
}

/// Judged after the checks that prove GETs and POSTs to any path count (its dependencies), so
/// that a count that misses some requests fails there, and this check sees only the offset.
async fn counts_this_request(ctx: &mut Ctx) -> Result<(), Failure> {
    let shown = ctx.read_hits().await?.hits;
    let sent = ctx.requests_sent();
    if shown == sent {
        return Ok(());
    }
    let why = if shown + 1 == sent {
        "the count shown leaves out the request that shows it: count the hit first, then build the page"
    } else if shown == sent + 1 {
        "one hit too many: a request is counted twice, or the count starts at 1 instead of 0"
    } else if shown > sent {
        "more hits than requests: does the submission's folder hold a saved state from your own runs? Hand it in without one"
    } else {
        "fewer hits than requests: some were not counted (the login page's too?)"
    };
    Err(Failure::new(format!(
        "the grader started the server afresh and has sent it {sent} requests, this one included, but the page shows Hits: {shown}: {why}"
    ))
    .expected(format!("Hits: {sent}"))
    .actual(format!("Hits: {shown}")))
}

async fn hits_consecutive(ctx: &mut Ctx) -> Result<(), Failure> {
    let first = ctx.read_hits().await?;
    let second = ctx.read_hits().await?;
    expect_count("the second GET / in a row", &first, 0, &second)?;
    let third = ctx.read_hits().await?;
    expect_count("the third GET / in a row", &second, 0, &third)
}

async fn count_other_requests(
    ctx: &mut Ctx,
    requests: &[(Method, &str)],
    what: &str,
) -> Result<(), Failure> {
    let before = ctx.read_hits().await?;
    let mut anonymous = ctx.browser();
    for (method, path) in requests {
        anonymous.send(method.clone(), path, None, None).await?;
    }
    let after = ctx.read_hits().await?;
    expect_count(what, &before, requests.len() as u64, &after)
}

async fn any_path_counts(ctx: &mut Ctx) -> Result<(), Failure> {
    let requests = [
        (Method::GET, "/no/such/page"),
        (Method::GET, "/favicon.ico"),
        (Method::GET, "/?x=1"),
    ];
    count_other_requests(
        ctx,
        &requests,
        "after GET /no/such/page, /favicon.ico and /?x=1",
    )
    .await
}

async fn post_counts(ctx: &mut Ctx) -> Result<(), Failure> {
    // Whatever the answer (a stage-1 server may well say 404, 405 or 501), each is a hit.
    let requests = [(Method::POST, "/"), (Method::POST, "/no/such/form")];
    count_other_requests(ctx, &requests, "after POST / and POST /no/such/form").await
}

async fn global_count(ctx: &mut Ctx) -> Result<(), Failure> {
    // Log the second client in (if needed) before comparing, so that only plain GET / fall
    // between the readings.
    let mut other_client = ctx.browser();
    read_hits(&mut other_client, &ctx.credentials).await?;
    let first = ctx.read_hits().await?;
    let other = read_hits(&mut other_client, &ctx.credentials).await?;
    expect_count("a second client's GET /", &first, 0, &other)?;
    let again = ctx.read_hits().await?;
    expect_count("the first client's next GET /", &other, 0, &again)
}

async fn concurrent_exact(ctx: &mut Ctx) -> Result<(), Failure> {
    let before = ctx.read_hits().await?;
    let url = ctx.server().base_url();
    // A client of its own, dropped with its pool afterwards: the burst leaves connects in
    // flight that must not linger into later checks.
    let client = super::browser::http_client();
    // New requests stop at the deadline; those in flight are awaited, since the server may
    // have counted them already.
    let begun = Instant::now();
    let requests = (0..MOST_CONCURRENT_REQUESTS).take_while(|sent| {
        let elapsed = begun.elapsed();
        let fast = *sent as f64 >= FAST_SERVER * elapsed.as_secs_f64();
        *sent < CONCURRENT_REQUESTS
            || elapsed < CONCURRENT_FOR
            || (fast && elapsed < FAST_SERVER_FOR)
    });
    let outcomes: Vec<_> = futures_util::stream::iter(requests)
        .map(|_| client.get(url.clone()).send())
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let sent = outcomes.len() as u64;
    let unanswered: Vec<_> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().err())
        .collect();
    if let Some(error) = unanswered.first() {
        return Err(Failure::new(format!(
            "{} of {sent} concurrent GET / got no answer (first: {error})",
            unanswered.len()
        )));
    }
    let after = ctx.read_hits().await?;
    expect_count(
        &format!("after {sent} concurrent GET / ({IN_FLIGHT} at a time)"),
        &before,
        sent,
        &after,
    )
}
