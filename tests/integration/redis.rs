//! Several `serve` processes on one Redis store (`--store redis://…`): a real redis-server
//! started by the test on a free port, with an append-only file synced every second, and the
//! built binary started twice. Sessions and the hit count are shared exactly; killing an
//! instance, or restarting Redis, loses nothing that was answered.

use crate::support;

use crate::support::redis_server::RedisServer;
use futures_util::StreamExt;
use reqwest::StatusCode;
use session_lab::store::redis::RedisStore;
use session_lab::store::session_table::new_session_id;
use session_lab::store::{CreateError, MemoryStore, SessionCaps, SessionStore};
use std::process::Child;
use std::time::{Duration, Instant};

/// A `session-lab serve` process using the store at `url`.
struct Instance {
    process: Child,
    base: String,
}

impl Instance {
    fn start(store: &url::Url) -> Self {
        let (process, base) =
            support::spawn_serve(&["--store", store.as_str()], &std::env::temp_dir());
        Self { process, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: nothing is saved on the way out (nor needs to be).
    fn kill(&mut self) {
        self.process.kill().unwrap();
        self.process.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn client() -> reqwest::Client {
    support::http_client(Duration::from_secs(10))
}

/// The login form posted as alice, with its CSRF cookie and field, by a browser that holds
/// `sid` (or none).
fn login_form(
    client: &reqwest::Client,
    instance: &Instance,
    sid: Option<&str>,
) -> reqwest::RequestBuilder {
    let sid = sid.map_or(String::new(), |sid| format!("sid={sid}; "));
    client
        .post(instance.url("/login"))
        .header("cookie", format!("{sid}csrf=t"))
        .form(&[
            ("username", "alice"),
            ("password", "wonderland"),
            ("csrf", "t"),
        ])
}

/// The logout form posted by the holder of `sid`.
fn logout_form(
    client: &reqwest::Client,
    instance: &Instance,
    sid: &str,
) -> reqwest::RequestBuilder {
    client
        .post(instance.url("/logout"))
        .header("cookie", format!("sid={sid}; csrf=t"))
        .form(&[("csrf", "t")])
}

/// Logs alice in on `instance` through the form and returns the `sid`.
async fn log_in(client: &reqwest::Client, instance: &Instance) -> String {
    let reply = login_form(client, instance, None).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    support::session_id(&reply)
}

/// The home page as the holder of `sid` sees it (a hit too).
async fn home(client: &reqwest::Client, instance: &Instance, sid: &str) -> reqwest::Response {
    client
        .get(instance.url("/"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap()
}

/// The hit count `/` shows the holder of `sid` (this request included).
async fn hits(client: &reqwest::Client, instance: &Instance, sid: &str) -> u64 {
    let page = home(client, instance, sid).await.text().await.unwrap();
    page.split("Hits: ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no hit count in {page}"))
}

/// Two instances on database `db` of `redis`, a client, and alice logged in on the first.
async fn two_instances(
    redis: &RedisServer,
    db: u32,
) -> (Instance, Instance, reqwest::Client, String) {
    let (a, b) = (
        Instance::start(&redis.url(db)),
        Instance::start(&redis.url(db)),
    );
    let client = client();
    let sid = log_in(&client, &a).await;
    (a, b, client, sid)
}

/// What a load of anonymous requests got: answers by status, and requests that got none.
#[derive(Debug, Default)]
struct Outcome {
    ok: u64,
    unavailable: u64,
    other: u64,
    failed: u64,
}

/// `count` GETs, 32 at a time, the `i`th of `targets[i % len]` (URLs), with `cookie` if any;
/// `on_answer` runs after each answer with how many came so far.
async fn load(
    client: &reqwest::Client,
    targets: &[String],
    cookie: Option<&str>,
    count: usize,
    on_answer: impl Fn(usize),
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = targets.iter().map(|_| Outcome::default()).collect();
    let mut answers = futures_util::stream::iter(0..count)
        .map(|i| {
            let target = i % targets.len();
            let mut request = client.get(&targets[target]);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let request = request.send();
            async move { (target, request.await.map(|reply| reply.status())) }
        })
        .buffer_unordered(32);
    let mut seen = 0;
    while let Some((target, status)) = answers.next().await {
        let outcome = &mut outcomes[target];
        match status {
            Ok(StatusCode::OK) => outcome.ok += 1,
            Ok(StatusCode::SERVICE_UNAVAILABLE) => outcome.unavailable += 1,
            Ok(_) => outcome.other += 1,
            Err(_) => outcome.failed += 1,
        }
        seen += 1;
        on_answer(seen);
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_instance_is_live_on_the_other_and_ends_on_both() {
    let redis = RedisServer::start();
    let (a, b, client, sid) = two_instances(&redis, 0).await;
    let page = home(&client, &b, &sid).await.text().await.unwrap();
    assert!(page.contains("Logged in as alice"), "{page}");
    let logout = logout_form(&client, &b, &sid).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    for instance in [&a, &b] {
        let reply = home(&client, instance, &sid).await;
        assert_eq!(reply.status(), StatusCode::SEE_OTHER, "still logged in");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hits_over_two_instances_add_up_exactly() {
    let redis = RedisServer::start();
    let (a, b, client, sid) = two_instances(&redis, 0).await;
    let before = hits(&client, &a, &sid).await;
    let outcomes = load(
        &client,
        &[a.url("/login"), b.url("/login")],
        None,
        10_000,
        |_| {},
    )
    .await;
    for outcome in &outcomes {
        assert_eq!(
            (
                outcome.ok,
                outcome.unavailable,
                outcome.other,
                outcome.failed
            ),
            (5_000, 0, 0, 0),
            "{outcomes:?}"
        );
    }
    assert_eq!(hits(&client, &b, &sid).await, before + 10_000 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_loses_nothing_of_the_other_and_continues_the_count_when_back() {
    let redis = RedisServer::start();
    let (mut a, b, client, sid) = two_instances(&redis, 0).await;
    let before = hits(&client, &b, &sid).await;
    let targets = [a.url("/login"), b.url("/login")];
    let pid = nix::unistd::Pid::from_raw(a.process.id() as i32);
    let killed = std::sync::atomic::AtomicBool::new(false);
    let outcomes = load(&client, &targets, None, 4_000, |seen| {
        if seen == 1_000 && !killed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        }
    })
    .await;
    a.kill();
    let (of_a, of_b) = (&outcomes[0], &outcomes[1]);
    assert_eq!(
        (of_b.ok, of_b.unavailable, of_b.other, of_b.failed),
        (2_000, 0, 0, 0),
        "B keeps serving: {outcomes:?}"
    );
    assert!(
        of_a.failed > 0,
        "A was killed during the load: {outcomes:?}"
    );
    // Every answered request was counted; a request A was killed in the middle of may have
    // been counted without an answer.
    let after = hits(&client, &b, &sid).await;
    let counted = after - before - 1;
    let answered = of_a.ok + of_b.ok;
    assert!(
        (answered..=4_000).contains(&counted),
        "{counted} counted, {answered} answered"
    );
    let a = Instance::start(&redis.url(0));
    assert_eq!(hits(&client, &a, &sid).await, after + 1, "A continues");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_hits_survive_a_redis_restart_and_the_instances_recover_by_themselves() {
    let mut redis = RedisServer::start();
    let (a, b, client, sid) = two_instances(&redis, 3).await;
    let before = hits(&client, &a, &sid).await;

    // Redis goes away in the middle of a load of logged-in visits: every request is answered
    // at once, 200 or 503 with Retry-After, never left hanging.
    let targets = [a.url("/"), b.url("/")];
    let cookie = format!("sid={sid}");
    let loaded = Instant::now();
    let during = {
        let load = load(&client, &targets, Some(&cookie), 8_000, |_| {});
        let restart = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tokio::task::block_in_place(|| redis.shut_down());
            let unavailable = home(&client, &a, &sid).await;
            assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(unavailable.headers()["retry-after"], "1");
            tokio::time::sleep(Duration::from_millis(500)).await;
            tokio::task::block_in_place(|| redis.start_again());
        };
        tokio::join!(load, restart).0
    };
    assert!(loaded.elapsed() < Duration::from_secs(60), "the load hung");
    for outcome in &during {
        assert_eq!((outcome.other, outcome.failed), (0, 0), "{during:?}");
    }
    let unavailable: u64 = during.iter().map(|outcome| outcome.unavailable).sum();
    assert!(
        unavailable > 0,
        "Redis was away during the load: {during:?}"
    );

    // Back by themselves, with the session and every hit counted before the shutdown.
    let deadline = Instant::now() + Duration::from_secs(20);
    for instance in [&a, &b] {
        loop {
            let reply = home(&client, instance, &sid).await;
            if reply.status() == StatusCode::OK {
                break;
            }
            assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(
                Instant::now() < deadline,
                "{} did not recover",
                instance.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let ok: u64 = during.iter().map(|outcome| outcome.ok).sum();
    let after = hits(&client, &b, &sid).await;
    assert!(
        after > before + ok,
        "hits were lost: {before} before, {ok} answered during, {after} after"
    );
}

/// What the stages rely on from any session store, checked on a store directly: the caps,
/// ending the sessions a login replaces, logout, and the first live id winning.
async fn holds_the_session_store_contract(store: &dyn SessionStore) {
    let first = store.create("alice", &[], 100).await.unwrap();
    let second = store.create("alice", &[], 200).await.unwrap();
    let third = store.create("alice", &[], 300).await.unwrap();
    let user_of = async |id: &str| {
        store
            .find(&[id], 301)
            .await
            .unwrap()
            .map(|session| session.user)
    };
    assert_eq!(
        user_of(&first).await,
        None,
        "alice's session unused longest ended"
    );
    assert_eq!(user_of(&second).await.as_deref(), Some("alice"));
    // Stale ids planted before a live one (cookies ignore ports) hide nothing, however many.
    let stale: Vec<String> = (0..20).map(|_| new_session_id().unwrap()).collect();
    let mut ids: Vec<&str> = stale.iter().map(String::as_str).collect();
    ids.extend(["not-an-id", &first, &third, &second]);
    let found = store.find(&ids, 302).await.unwrap().unwrap();
    assert_eq!(found.id, third, "the first live id wins");
    let bob = store.create("bob", &[&second], 303).await.unwrap();
    assert_eq!(
        user_of(&second).await,
        None,
        "a login ends what it replaces"
    );
    store.create("carol", &[], 304).await.unwrap();
    assert!(
        matches!(store.create("dave", &[], 305).await, Err(CreateError::Full)),
        "three sessions is the total"
    );
    store.remove(&[&bob, "forged"]).await.unwrap();
    assert_eq!(user_of(&bob).await, None, "logout");
    store.create("dave", &[], 306).await.unwrap();
}

const CAPS: SessionCaps = SessionCaps {
    total: 3,
    per_user: 2,
};

#[tokio::test]
async fn the_memory_and_the_redis_store_hold_the_same_session_contract() {
    holds_the_session_store_contract(&MemoryStore::new(None, 3600, CAPS, 0)).await;
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(0), Duration::from_secs(3600), CAPS)
        .await
        .unwrap();
    holds_the_session_store_contract(&store).await;
}

/// A Redis session expires by its own time to live, and use refreshes it.
#[tokio::test]
async fn a_redis_session_expires_after_its_idle_limit_unless_used() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(
        &redis.url(0),
        Duration::from_secs(2),
        SessionCaps::default(),
    )
    .await
    .unwrap();
    let (kept, left) = (
        store.create("alice", &[], 1).await.unwrap(),
        store.create("bob", &[], 1).await.unwrap(),
    );
    for now in [2, 3] {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(store.find(&[&kept], now).await.unwrap().is_some());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(store.find(&[&left], 4).await.unwrap().is_none(), "expired");
    assert!(
        store.find(&[&kept], 4).await.unwrap().is_some(),
        "refreshed"
    );
}

/// Connections that Redis dropped while they were idle (all of them at once, as a Redis
/// restart would, or each after Redis's idle timeout) cost a visitor nothing: the operation
/// is sent again on the connection its manager made anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_while_idle_cost_visitors_nothing() {
    let redis = RedisServer::start();
    let (a, _b, client, sid) = two_instances(&redis, 0).await;
    assert!(redis.command("CLIENT KILL TYPE normal").is_some());
    for _ in 0..8 {
        assert_eq!(home(&client, &a, &sid).await.status(), StatusCode::OK);
    }
    assert_eq!(
        redis.command("CONFIG SET timeout 1").as_deref(),
        Some("+OK")
    );
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for _ in 0..4 {
            assert_eq!(home(&client, &a, &sid).await.status(), StatusCode::OK);
        }
    }
}

/// A Redis out of memory refuses a login's script before it changes anything (the session
/// it would have replaced lives on), while lookups and logouts, which grow nothing, still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_refused_by_a_full_redis_changes_nothing_and_logout_still_works() {
    let redis = RedisServer::start();
    let (a, _b, client, sid) = two_instances(&redis, 0).await;
    assert_eq!(
        redis
            .command("CONFIG SET maxmemory-policy noeviction")
            .as_deref(),
        Some("+OK")
    );
    assert_eq!(
        redis.command("CONFIG SET maxmemory 1").as_deref(),
        Some("+OK")
    );
    let again = login_form(&client, &a, Some(&sid)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(again.headers().get("set-cookie").is_none());
    let elsewhere = client
        .get(a.url("/elsewhere"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND, "still logged in");
    let logout = logout_form(&client, &a, &sid).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        redis.command("CONFIG SET maxmemory 0").as_deref(),
        Some("+OK")
    );
    assert_eq!(
        home(&client, &a, &sid).await.status(),
        StatusCode::SEE_OTHER,
        "logged out"
    );
}

/// A login that times out against a paused Redis is answered 503 (a logout too), and when
/// Redis resumes and gets to the login's script, it changes nothing: the session the login
/// would have replaced lives on, and no session is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_that_reach_a_paused_redis_after_their_request_gave_up_are_not_made() {
    use nix::sys::signal::Signal;
    let redis = RedisServer::start();
    let (a, _b, client, sid) = two_instances(&redis, 0).await;
    redis.signal(Signal::SIGSTOP);
    let login = login_form(&client, &a, Some(&sid)).send();
    let logout = logout_form(&client, &a, &sid).send();
    let (login, logout) = tokio::join!(login, logout);
    redis.signal(Signal::SIGCONT);
    assert_eq!(login.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(logout.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    // Redis has run what was queued by the time it answers this.
    let page = home(&client, &a, &sid).await.text().await.unwrap();
    assert!(page.contains("Logged in as alice"), "{page}");
    assert_eq!(
        redis.command("ZCARD session-lab:sessions").as_deref(),
        Some(":1"),
        "no session was made for the login answered 503"
    );
}
