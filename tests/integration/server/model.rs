//! A model of the server under random sequences of hits, logins, logouts, restarts and
//! kills (proptest): restarts lose nothing, kills lose at most what was not flushed.
use super::*;
use proptest::prelude::*;

const CLIENTS: usize = 3;

#[derive(Debug, Clone)]
enum Step {
    Hit(usize),
    LogIn { client: usize, right_password: bool },
    LogOut(usize),
    Restart(StopSignal),
    WaitForFlush,
    Kill,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..CLIENTS).prop_map(Step::Hit),
        3 => (0..CLIENTS, any::<bool>()).prop_map(|(client, right_password)| Step::LogIn { client, right_password }),
        1 => (0..CLIENTS).prop_map(Step::LogOut),
        1 => prop_oneof![Just(StopSignal::Interrupt), Just(StopSignal::Terminate)].prop_map(Step::Restart),
        1 => Just(Step::WaitForFlush),
        1 => Just(Step::Kill),
    ]
}

/// What the server must hold. `durable_*` is what a kill cannot take away.
#[derive(Debug, Default)]
struct Model {
    hits: u64,
    durable_hits: u64,
    sessions: [Option<String>; CLIENTS],
    /// Whether a client's login state changed since it was last saved.
    unsaved: [bool; CLIENTS],
}

impl Model {
    fn saved(&mut self) {
        self.durable_hits = self.hits;
        self.unsaved = [false; CLIENTS];
    }
}

async fn get_home(server: &Reference, sid: Option<&str>) -> (StatusCode, Option<u64>) {
    let mut request = server.client.get(server.url("/"));
    if let Some(sid) = sid {
        request = request.header("cookie", format!("sid={sid}"));
    }
    let reply = request.send().await.unwrap();
    let status = reply.status();
    let body = reply.text().await.unwrap();
    (status, session_lab::checks::page::hits(&body))
}

/// The server's count, read by a throwaway login (two requests: the login and the page).
async fn observe_hits(server: &Reference) -> u64 {
    let login = super::login::post_form(
        server,
        "/login",
        &[("username", "alice"), ("password", "wonderland")],
        None,
    )
    .send()
    .await
    .unwrap();
    get_home(server, Some(&session_id(&login))).await.1.unwrap()
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let mut server =
        Reference::start(|config| config.flush_interval = Duration::from_millis(15)).await;
    let mut model = Model::default();
    for step in steps {
        match step {
            Step::Hit(client) => {
                let (status, hits) = get_home(&server, model.sessions[client].as_deref()).await;
                model.hits += 1;
                if model.sessions[client].is_some() {
                    prop_assert_eq!(status, StatusCode::OK);
                    prop_assert_eq!(hits, Some(model.hits));
                } else {
                    prop_assert_eq!(status, StatusCode::SEE_OTHER);
                }
            }
            Step::LogIn {
                client,
                right_password,
            } => {
                let password = if right_password {
                    "wonderland"
                } else {
                    "wrong"
                };
                let sid = model.sessions[client]
                    .as_ref()
                    .map(|sid| format!("sid={sid}"));
                let form = [("username", "alice"), ("password", password)];
                let reply = super::login::post_form(&server, "/login", &form, sid.as_deref())
                    .send()
                    .await
                    .unwrap();
                model.hits += 1;
                if right_password {
                    prop_assert_eq!(reply.status(), StatusCode::SEE_OTHER);
                    let sid = session_id(&reply);
                    prop_assert_ne!(
                        Some(&sid),
                        model.sessions[client].as_ref(),
                        "a fresh id at every login"
                    );
                    model.sessions[client] = Some(sid);
                    model.unsaved[client] = true;
                } else {
                    prop_assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
                }
            }
            Step::LogOut(client) => {
                let sid = model.sessions[client]
                    .as_ref()
                    .map(|sid| format!("sid={sid}"));
                let reply = super::login::post_form(&server, "/logout", &[], sid.as_deref())
                    .send()
                    .await
                    .unwrap();
                model.hits += 1;
                prop_assert_eq!(reply.status(), StatusCode::SEE_OTHER);
                if let Some(old) = model.sessions[client].take() {
                    model.unsaved[client] = true;
                    let (status, _) = get_home(&server, Some(&old)).await;
                    model.hits += 1;
                    prop_assert_eq!(status, StatusCode::SEE_OTHER, "the old cookie is dead");
                }
            }
            Step::Restart(signal) => {
                server.stop(signal).await;
                server.restart_after_stop().await;
                model.saved();
            }
            Step::WaitForFlush => {
                server.server().wait_for_flush().await;
                model.saved();
            }
            Step::Kill => {
                server.kill().await;
                // Starting again proves the file the kill left behind is readable.
                server.restart_after_stop().await;
                let observed = observe_hits(&server).await;
                prop_assert!(
                    model.durable_hits + 2 <= observed && observed <= model.hits + 2,
                    "after a kill: {} hits, flushed {} , at most {}",
                    observed - 2,
                    model.durable_hits,
                    model.hits
                );
                model.hits = observed;
                for client in 0..CLIENTS {
                    let (status, _) = get_home(&server, model.sessions[client].as_deref()).await;
                    model.hits += 1;
                    let logged_in = status == StatusCode::OK;
                    if model.unsaved[client] {
                        // Changed after the last save: either outcome is within the loss a kill allows.
                        if !logged_in {
                            model.sessions[client] = None;
                        }
                    } else {
                        prop_assert_eq!(
                            logged_in,
                            model.sessions[client].is_some(),
                            "client {}",
                            client
                        );
                    }
                }
                model.saved();
                // The logins of the observation and the clients' views since are not flushed.
                model.durable_hits = 0;
            }
        }
    }
    Ok(())
}

proptest! {
    // Failures print their minimal case; nothing is written into the source tree.
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn restarts_lose_nothing_and_kills_lose_at_most_the_unflushed(steps in prop::collection::vec(step(), 1..14)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(steps))?;
    }
}
