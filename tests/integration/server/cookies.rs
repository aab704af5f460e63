//! The exercise's cookies (stage 4), pinned to an injected clock, and their headers as
//! snapshots.
use super::*;
use session_lab::clock::{Clock, FrozenClock};
use std::time::UNIX_EPOCH;

#[tokio::test]
async fn the_exercise_cookies_are_pinned_to_the_clock() {
    // 2026-11-25 12:00:00 UTC, a Wednesday.
    let clock: Arc<dyn Clock> = Arc::new(FrozenClock::at(
        UNIX_EPOCH + Duration::from_secs(1_795_608_000),
    ));
    let server = Reference::start(|config| config.clock = clock).await;
    let reply = server
        .client
        .get(server.url("/cookies"))
        .header("cookie", "a=1; b=two")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let mut head = String::new();
    for name in ["content-type", "date", "set-cookie"] {
        for value in reply.headers().get_all(name) {
            head.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
        }
    }
    head.push_str(&format!("\n{}", reply.text().await.unwrap()));
    insta::with_settings!({snapshot_path => "../../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("cookies_response", head);
    });
}
