//! Persistence under restarts and kills: what a SIGTERM saves, what a SIGKILL can lose (at
//! most what was not flushed), the temp file a killed save leaves, the state file's format.
use super::*;

/// The hits saved. Before stage 3 `/` is public; from stage 3 it needs a login, so read
/// what was saved instead (the state file, or the hit record beside it when only hits
/// changed since).
async fn hits(server: &Reference) -> u64 {
    server.server().wait_for_flush().await;
    JsonFileStore::new(server.dir.path().join("sessions.json"))
        .load()
        .unwrap()
        .unwrap()
        .hits
}

#[tokio::test]
async fn the_periodic_flush_makes_a_hard_kill_lose_nothing_flushed() {
    let mut server =
        Reference::start(|config| config.flush_interval = Duration::from_millis(20)).await;
    for _ in 0..5 {
        server.get("/").await;
    }
    assert_eq!(hits(&server).await, 5);
    server.kill_and_restart().await;
    server.get("/").await;
    assert_eq!(hits(&server).await, 6);
}

/// A SIGKILL between a save's write and its rename leaves a temp file holding the state
/// (live session ids too): the next start removes it, and only it.
#[tokio::test]
async fn a_temp_file_a_killed_save_left_is_removed_at_the_next_start() {
    let mut server = Reference::start(|_| {}).await;
    server.get("/").await;
    assert_eq!(hits(&server).await, 1);
    server.kill().await;
    let stale = server.dir.path().join(".sessions.json.a1B2c3.tmp");
    std::fs::write(&stale, r#"{"version": 1, "hits": 99, "sessions": []}"#).unwrap();
    let unrelated = server.dir.path().join("notes.tmp");
    std::fs::write(&unrelated, "mine").unwrap();
    server.restart_after_stop().await;
    assert!(!stale.exists(), "the stale temp file survived a restart");
    assert!(unrelated.exists());
    server.get("/").await;
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn the_state_file_is_versioned_json_a_person_can_read() {
    let mut server = Reference::start(|_| {}).await;
    server.get("/").await;
    server.stop(StopSignal::Interrupt).await;
    let text = std::fs::read_to_string(server.dir.path().join("sessions.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["hits"], 1);
    assert_eq!(json["sessions"], serde_json::json!([]));
}
