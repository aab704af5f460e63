//! The login gate (stage 3): the session cookie's attributes, the redirect to `/login` and
//! back, CSRF, the throttle of failed logins, the caps on sessions, and what is stored.
use super::*;
use rstest::rstest;
use session_lab::clock::{Clock, FrozenClock};

/// A form POST as a page of the server sends it: with the CSRF token in a field and in
/// its cookie (the server checks that they match), and `cookie` besides.
pub(super) fn post_form(
    server: &Reference,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut fields = form.to_vec();
    fields.push(("csrf", "test-token"));
    let cookies = match cookie {
        Some(cookie) => format!("{cookie}; csrf=test-token"),
        None => "csrf=test-token".to_owned(),
    };
    server
        .client
        .post(server.url(path))
        .form(&fields)
        .header("cookie", cookies)
}

async fn log_in(
    server: &Reference,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    post_form(server, "/login", form, cookie)
        .send()
        .await
        .unwrap()
}

async fn log_out(server: &Reference, sid: &str) -> reqwest::Response {
    post_form(server, "/logout", &[], Some(&format!("sid={sid}")))
        .send()
        .await
        .unwrap()
}

async fn get_home(server: &Reference, sid: &str) -> reqwest::Response {
    server
        .client
        .get(server.url("/"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap()
}

const ALICE: [(&str, &str); 2] = [("username", "alice"), ("password", "wonderland")];

/// What browsers send is not always tidy: a stale `sid` before the live one (from another
/// path, or left over), a byte that is not ASCII in another cookie. Neither hides the login.
#[rstest]
#[case::a_stale_sid_first(b"sid=stale-or-planted; sid=".as_slice())]
#[case::a_byte_that_is_not_ascii(b"name=caf\xc3\xa9; sid=".as_slice())]
#[case::a_malformed_pair(b"=; theme; sid=".as_slice())]
#[tokio::test]
async fn a_messy_cookie_header_still_finds_the_live_session(#[case] before_sid: &[u8]) {
    let server = Reference::start(|_| {}).await;
    let login = log_in(
        &server,
        &[("username", "alice"), ("password", "wonderland")],
        None,
    )
    .await;
    let sid = session_id(&login);
    let value =
        reqwest::header::HeaderValue::from_bytes(&[before_sid, sid.as_bytes()].concat()).unwrap();
    let reply = server
        .client
        .get(server.url("/"))
        .header("cookie", value)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(reply.text().await.unwrap().contains("alice"));
}

/// A body sent too slowly is cut at the request deadline with 408, not held for ever.
#[tokio::test]
async fn a_login_body_that_trickles_in_is_cut_at_the_deadline() {
    let server =
        Reference::start(|config| config.request_deadline = Duration::from_millis(300)).await;
    let mut stream = tokio::net::TcpStream::connect(server.config.addr)
        .await
        .unwrap();
    stream
        .write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=al")
        .await
        .unwrap();
    let begun = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer before the client finished")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        begun.elapsed() < Duration::from_secs(3),
        "{:?}",
        begun.elapsed()
    );
}

/// The login and logout forms carry a token that must match the `csrf` cookie (SameSite
/// Strict, so another site's POST carries none), and another Origin is refused outright.
#[tokio::test]
async fn forms_from_elsewhere_are_refused_with_403() {
    let server = Reference::start(|_| {}).await;
    let page = server.get("/login").await;
    let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("csrf=")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    let token = set_cookie["csrf=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!(r#"name="csrf" value="{token}""#))
    );

    let forged = server
        .client
        .post(server.url("/login"))
        .form(&ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "no token, no cookie"
    );
    let wrong = log_in(
        &server,
        &[
            ("username", "alice"),
            ("password", "wonderland"),
            ("csrf", "x"),
        ],
        None,
    )
    .await;
    assert_eq!(
        wrong.status(),
        StatusCode::FORBIDDEN,
        "a token that is not the cookie's (the form's first csrf field counts)"
    );
    let other_origin = post_form(&server, "/login", &ALICE, None)
        .header("origin", "http://127.0.0.1:1")
        .send()
        .await
        .unwrap();
    assert_eq!(other_origin.status(), StatusCode::FORBIDDEN);
    let same_origin = post_form(&server, "/login", &ALICE, None)
        .header("origin", format!("http://{}", server.config.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);

    let sid = session_id(&same_origin);
    let forged_logout = server
        .client
        .post(server.url("/logout"))
        .form(&[("csrf", "guess")])
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged_logout.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get_home(&server, &sid).await.status(),
        StatusCode::OK,
        "still logged in"
    );
}

/// Failed logins are limited per address: past the limit, 429 with Retry-After and the
/// form until the minute is out, even for the right password from that address; another
/// address logs in meanwhile.
#[tokio::test]
async fn failed_logins_from_one_address_are_slowed_and_never_lock_out_another() {
    let clock = Arc::new(FrozenClock::at(std::time::SystemTime::now()));
    let injected: Arc<dyn Clock> = clock.clone();
    let server = Reference::start(|config| {
        config.clock = injected;
        config.failed_logins_per_minute = 3;
    })
    .await;
    let wrong = [("username", "alice"), ("password", "guess")];
    for _ in 0..3 {
        assert_eq!(
            log_in(&server, &wrong, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let held = log_in(&server, &ALICE, None).await;
    assert_eq!(held.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(held.headers()["retry-after"], "60");
    assert!(
        held.text().await.unwrap().contains("name=\"password\""),
        "the form"
    );

    let elsewhere = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut fields = ALICE.to_vec();
    fields.push(("csrf", "t"));
    let other = elsewhere
        .post(server.url("/login"))
        .form(&fields)
        .header("cookie", "csrf=t")
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::SEE_OTHER,
        "another address is not held up"
    );

    clock.advance(Duration::from_secs(61));
    assert_eq!(
        log_in(&server, &ALICE, None).await.status(),
        StatusCode::SEE_OTHER
    );
}

/// Sessions are capped: a user's oldest session ends when they log in once too often, and a
/// full server turns a login away with 503 and the form instead of growing.
#[tokio::test]
async fn sessions_are_capped_per_user_and_in_all() {
    let server = Reference::start(|config| {
        config.session_caps = session_lab::server::SessionCaps {
            total: 2,
            per_user: 1,
        }
    })
    .await;
    let first = session_id(&log_in(&server, &ALICE, None).await);
    let second = session_id(&log_in(&server, &ALICE, None).await);
    assert_eq!(
        get_home(&server, &first).await.status(),
        StatusCode::SEE_OTHER,
        "ended"
    );
    assert_eq!(get_home(&server, &second).await.status(), StatusCode::OK);

    let full = Reference::start(|config| {
        config.session_caps = session_lab::server::SessionCaps {
            total: 1,
            per_user: 5,
        }
    })
    .await;
    assert_eq!(
        log_in(&full, &ALICE, None).await.status(),
        StatusCode::SEE_OTHER
    );
    let refused = log_in(&full, &ALICE, None).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "60");
    assert!(refused.text().await.unwrap().contains("as many sessions"));
}

/// A flood of logins runs at most `at_once` password checks and queues `waiting` more; the
/// rest are turned away at once with 503 and Retry-After, and a login after the flood works.
#[tokio::test]
async fn a_login_flood_is_bounded_and_turned_away_with_503() {
    let server = Reference::start(|config| {
        config.login_checks = session_lab::server::LoginChecks {
            at_once: 1,
            waiting: 1,
        };
        config.failed_logins_per_minute = 0;
    })
    .await;
    let attempts = (0..16).map(|_| {
        log_in(
            &server,
            &[("username", "alice"), ("password", "wrong")],
            None,
        )
    });
    let replies = futures_util::future::join_all(attempts).await;
    let statuses: Vec<StatusCode> = replies.iter().map(|reply| reply.status()).collect();
    let busy: Vec<&reqwest::Response> = replies
        .iter()
        .filter(|reply| reply.status() == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!busy.is_empty(), "{statuses:?}");
    assert!(
        statuses.iter().all(
            |status| [StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE].contains(status)
        ),
        "{statuses:?}"
    );
    assert!(
        busy.iter()
            .all(|reply| reply.headers()["retry-after"] == "1")
    );
    let login = log_in(&server, &ALICE, None).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
}

/// A login and a logout are saved before they are answered: a SIGKILL right after either,
/// with the periodic flush far away, neither loses the login nor brings the session back.
#[tokio::test]
async fn a_kill_right_after_login_or_logout_undoes_neither() {
    let mut server =
        Reference::start(|config| config.flush_interval = Duration::from_secs(3600)).await;
    let login = log_in(
        &server,
        &[("username", "alice"), ("password", "wonderland")],
        None,
    )
    .await;
    let sid = session_id(&login);
    server.kill_and_restart().await;
    assert_eq!(
        get_home(&server, &sid).await.status(),
        StatusCode::OK,
        "the login was lost"
    );

    let logout = log_out(&server, &sid).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    server.kill_and_restart().await;
    assert_eq!(
        get_home(&server, &sid).await.status(),
        StatusCode::SEE_OTHER,
        "the session came back after the logout"
    );
}

#[tokio::test]
async fn the_session_cookie_is_httponly_samesite_lax_site_wide() {
    let server = Reference::start(|_| {}).await;
    let reply = log_in(&server, &ALICE, None).await;
    let set_cookie = reply.headers()["set-cookie"].to_str().unwrap().to_owned();
    insta::with_settings!({
        snapshot_path => "../../../snapshots",
        prepend_module_to_snapshot => false,
        filters => vec![(r"sid=[A-Za-z0-9_-]{32}", "sid=[32 base64url characters: 192 random bits]")],
    }, {
        insta::assert_snapshot!("session_set_cookie", set_cookie);
    });
}

#[tokio::test]
async fn with_secure_the_session_cookie_is_secure() {
    let server = Reference::start(|config| config.secure_cookies = true).await;
    let reply = log_in(&server, &ALICE, None).await;
    assert!(
        reply.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn the_redirect_to_login_remembers_the_page_asked_for() {
    let server = Reference::start(|_| {}).await;
    let reply = server.get("/private/page?x=1").await;
    let mut head = format!("{:?} {}\n", reply.version(), reply.status());
    for (name, value) in reply.headers() {
        if name != "date" {
            head.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
        }
    }
    insta::with_settings!({snapshot_path => "../../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("redirect_to_login_head", head);
    });
}

#[rstest]
#[case::a_local_path("/private/page?x=1", "/private/page?x=1")]
#[case::another_host("//evil.example/", "/")]
#[case::a_scheme("https://evil.example/", "/")]
#[case::a_backslash("/\\evil.example", "/")]
#[case::a_relative_path("evil", "/")]
#[case::nothing("", "/")]
#[tokio::test]
async fn login_follows_next_only_to_a_local_path(#[case] next: &str, #[case] location: &str) {
    let server = Reference::start(|_| {}).await;
    let reply = log_in(&server, &[ALICE[0], ALICE[1], ("next", next)], None).await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    assert_eq!(reply.headers()["location"], location);
}

#[tokio::test]
async fn the_login_form_carries_only_a_local_next() {
    let server = Reference::start(|_| {}).await;
    let local = server.get("/login?next=%2Fa%3Fb%3D1").await;
    assert!(
        local
            .text()
            .await
            .unwrap()
            .contains(r#"name="next" value="/a?b=1""#)
    );
    let foreign = server.get("/login?next=https://evil.example/").await;
    assert!(!foreign.text().await.unwrap().contains("evil.example"));
}

#[rstest]
#[case::invalid_utf8("application/x-www-form-urlencoded", b"username=%FF&password=x".to_vec(), StatusCode::BAD_REQUEST)]
#[case::missing_password("application/x-www-form-urlencoded", b"username=alice&csrf=t".to_vec(), StatusCode::BAD_REQUEST)]
#[case::json("application/json", br#"{"username":"alice"}"#.to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE)]
#[tokio::test]
async fn a_bad_login_body_is_a_4xx(
    #[case] content_type: &str,
    #[case] body: Vec<u8>,
    #[case] status: StatusCode,
) {
    let server = Reference::start(|_| {}).await;
    let reply = server
        .client
        .post(server.url("/login"))
        .header("content-type", content_type)
        .header("cookie", "csrf=t")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), status);
}

#[tokio::test]
async fn a_chunked_login_body_over_the_limit_is_413() {
    let server = Reference::start(|_| {}).await;
    let mut request = b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..20 {
        request.extend(b"400\r\n");
        request.extend([b'a'; 1024]);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    let answer = server.raw(&request).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_login_replaces_a_session_id_planted_before_it() {
    let server = Reference::start(|_| {}).await;
    let planted = session_id(&log_in(&server, &ALICE, None).await);
    let fresh = session_id(&log_in(&server, &ALICE, Some(&format!("sid={planted}"))).await);
    assert_ne!(planted, fresh);
    assert_eq!(
        get_home(&server, &planted).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(get_home(&server, &fresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_idle_session_expires_by_the_clock_and_use_keeps_it_alive() {
    let clock = Arc::new(FrozenClock::at(std::time::SystemTime::now()));
    let injected: Arc<dyn Clock> = clock.clone();
    let server = Reference::start(|config| {
        config.clock = injected;
        config.session_idle = Duration::from_secs(600);
    })
    .await;
    let sid = session_id(&log_in(&server, &ALICE, None).await);
    clock.advance(Duration::from_secs(590));
    assert_eq!(get_home(&server, &sid).await.status(), StatusCode::OK);
    clock.advance(Duration::from_secs(590));
    assert_eq!(
        get_home(&server, &sid).await.status(),
        StatusCode::OK,
        "use refreshed it"
    );
    clock.advance(Duration::from_secs(601));
    assert_eq!(
        get_home(&server, &sid).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn anonymous_traffic_and_failed_logins_store_no_session() {
    let mut server = Reference::start(|_| {}).await;
    for i in 0..20 {
        server.get(&format!("/page/{i}")).await;
        log_in(
            &server,
            &[("username", "alice"), ("password", "nope")],
            Some("sid=forged"),
        )
        .await;
    }
    server.stop(StopSignal::Terminate).await;
    let text = std::fs::read_to_string(server.dir.path().join("sessions.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["sessions"], serde_json::json!([]));
    assert_eq!(json["hits"], 40);
}

/// Using a session keeps it alive across a hard kill: the use moved its last use, which
/// the next flush saved, although nothing but hits and uses came in.
#[tokio::test]
async fn a_session_in_use_outlives_its_idle_limit_across_a_kill() {
    let clock = Arc::new(FrozenClock::at(std::time::SystemTime::now()));
    let injected: Arc<dyn Clock> = clock.clone();
    let mut server = Reference::start(|config| {
        config.clock = injected;
        config.session_idle = Duration::from_secs(600);
        config.flush_interval = Duration::from_millis(20);
    })
    .await;
    let sid = session_id(&log_in(&server, &ALICE, None).await);
    clock.advance(Duration::from_secs(590));
    assert_eq!(get_home(&server, &sid).await.status(), StatusCode::OK);
    server.server().wait_for_flush().await;
    clock.advance(Duration::from_secs(20));
    server.kill_and_restart().await;
    assert_eq!(
        get_home(&server, &sid).await.status(),
        StatusCode::OK,
        "used 20 s before the kill, with an idle limit of 600 s"
    );
}

/// A flush after hits alone records the count beside the state file and leaves the
/// sessions' file as it was: with a million sessions, a hit must not cost a rewrite of
/// them all. Both survive a hard kill.
#[tokio::test]
async fn hits_alone_are_flushed_without_rewriting_the_sessions() {
    use std::os::unix::fs::MetadataExt;
    let mut server =
        Reference::start(|config| config.flush_interval = Duration::from_millis(20)).await;
    let sid = session_id(&log_in(&server, &ALICE, None).await);
    server.server().wait_for_flush().await;
    let store = JsonFileStore::new(server.dir.path().join("sessions.json"));
    let written = std::fs::read(store.path()).unwrap();
    let inode = std::fs::metadata(store.path()).unwrap().ino();
    let hits = store.load().unwrap().unwrap().hits;
    for _ in 0..5 {
        assert_eq!(get_home(&server, &sid).await.status(), StatusCode::OK);
    }
    server.server().wait_for_flush().await;
    assert_eq!(
        std::fs::metadata(store.path()).unwrap().ino(),
        inode,
        "the sessions' file was replaced"
    );
    assert_eq!(std::fs::read(store.path()).unwrap(), written);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.hits_path()).unwrap()).unwrap();
    assert_eq!(record["hits"], hits + 5);
    server.kill_and_restart().await;
    let page = get_home(&server, &sid).await.text().await.unwrap();
    assert!(page.contains(&format!("Hits: {}", hits + 6)), "{page}");
}

#[tokio::test]
async fn a_replayed_cookie_is_refused_after_logout_even_across_a_restart() {
    let mut server = Reference::start(|_| {}).await;
    let sid = session_id(&log_in(&server, &ALICE, None).await);
    let logout = log_out(&server, &sid).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    server.stop(StopSignal::Interrupt).await;
    server.restart_after_stop().await;
    assert_eq!(
        get_home(&server, &sid).await.status(),
        StatusCode::SEE_OTHER
    );
}
