//! The grader against cookie clients (stage 5): correct clients in the styles students write
//! (requests with a MozillaCookieJar, urllib, curl, a jar made by hand) pass every check; each
//! classic mistake fails exactly its own check; a client that hangs still gets a report.

use crate::support;

use rstest::rstest;
use session_lab::checks::{CLIENT_STAGE, Credentials, Selection, Stages, Status};
use session_lab::grade::{self, GradeOptions, Report, report};
use session_lab::sandbox::Sandbox;
use session_lab::under_test::{ClientSpec, CommandSpec};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::ids_with;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn client(name: &str, words: &[&str]) -> ClientSpec {
    let mut spec = ClientSpec::new(
        words.iter().map(|w| (*w).to_owned()).collect(),
        fixtures().join("clients").join(name),
    );
    spec.run_timeout = Duration::from_secs(10);
    spec
}

async fn grade(stages: Stages, server: Option<CommandSpec>, client: ClientSpec) -> Report {
    let options = GradeOptions {
        selection: Selection::new(stages, server.is_some(), true).unwrap(),
        server,
        client: Some(client),
        credentials: Credentials::default(),
        sandbox: Sandbox::none(),
        rubric: Default::default(),
    };
    grade::grade(options, |_| {}).await
}

const PYTHON_CLIENT: &[&str] = &["python3", "client.py", "{url}"];

/// Stages 1–5: the plain Python server (with `extra` arguments) and the requests client.
async fn grade_with_server(extra: &[&str]) -> Report {
    let mut words: Vec<String> = ["python3", "server.py", "{port}"]
        .map(String::from)
        .to_vec();
    words.extend(extra.iter().map(|word| (*word).to_owned()));
    let server = CommandSpec::new(words, fixtures().join("submissions/threaded"));
    grade(
        Stages::UpTo(CLIENT_STAGE),
        Some(server),
        client("requests", PYTHON_CLIENT),
    )
    .await
}

#[rstest]
#[case::requests_mozilla_cookie_jar("requests", PYTHON_CLIENT)]
#[case::urllib_http_cookiejar("urllib", PYTHON_CLIENT)]
#[case::curl_script("curl", &["./client.sh", "{url}"])]
#[case::jar_made_by_hand("handmade", PYTHON_CLIENT)]
#[case::node_fetch("node-fetch", &["node", "client.js", "{url}"])]
#[case::leaves_a_process_requesting_the_first_url("lingering", PYTHON_CLIENT)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_client_passes_every_check(#[case] name: &str, #[case] words: &[&str]) {
    let report = grade(Stages::Only(CLIENT_STAGE), None, client(name, words)).await;
    assert!(
        report.all_passed(),
        "{}",
        report::render(&report, report::ReportFormat::Human)
    );
    assert_eq!(report.score().value(), 8.0);
    assert_eq!(report.max_score().value(), 8.0);
}

#[rstest]
#[case::pickled_jar("requests", "pickled-jar", "stage5.jar-drops-session-cookies")]
#[case::no_jar("requests", "no-jar", "stage5.jar-sends-back")]
#[case::no_redirects("requests", "no-redirects", "stage5.client-follows-redirects")]
#[case::local_time("requests", "local-time", "stage5.client-shows-expiry")]
#[case::ignores_deletion("requests", "ignores-deletion", "stage5.jar-honours-deletion")]
#[case::every_path("handmade", "every-path", "stage5.jar-matches-path-and-domain")]
#[case::crashes_on_an_odd_cookie("handmade", "naive-parser", "stage5.client-runs")]
#[case::keeps_expired_cookies("handmade", "keeps-expired", "stage5.jar-honours-deletion")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_classic_mistake_fails_exactly_its_check(
    #[case] name: &str,
    #[case] mistake: &str,
    #[case] check: &str,
) {
    let words = ["python3", "client.py", "{url}", "--mistake", mistake];
    let report = grade(Stages::Only(CLIENT_STAGE), None, client(name, &words)).await;
    assert_eq!(
        ids_with(&report, Status::Failed),
        [check],
        "{}",
        report::render(&report, report::ReportFormat::Human)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failure_of_a_local_time_says_it_is_local_time() {
    let words = ["python3", "client.py", "{url}", "--mistake", "local-time"];
    let report = grade(Stages::Only(CLIENT_STAGE), None, client("requests", &words)).await;
    let failure = report
        .checks
        .iter()
        .find_map(|check| {
            check
                .failure
                .as_ref()
                .filter(|_| check.status == Status::Failed)
        })
        .unwrap();
    assert!(
        failure.message.contains("local time") && failure.message.contains("5 h 30 min"),
        "{}",
        failure.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_is_killed_at_its_limit_and_fails_with_the_reason() {
    let mut spec = client("requests", &["sleep", "60"]);
    spec.run_timeout = Duration::from_secs(1);
    let begun = std::time::Instant::now();
    let report = grade(Stages::Only(CLIENT_STAGE), None, spec).await;
    assert!(
        begun.elapsed() < Duration::from_secs(20),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(ids_with(&report, Status::Failed), ["stage5.client-runs"]);
    let message = &report.checks[0].failure.as_ref().unwrap().message;
    // One second, stretched on a busy machine.
    assert!(
        message.contains("did not end within ") && message.contains("(--client-timeout"),
        "{message}"
    );
}

/// Stages 1–5 at once: the server's checks, the client's, and the client against the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_and_a_client_pass_every_stage_together() {
    let report = grade_with_server(&[]).await;
    assert!(
        report.all_passed(),
        "{}",
        report::render(&report, report::ReportFormat::Human)
    );
    assert_eq!(
        report.max_score().value(),
        session_lab::checks::all().len() as f64
    );
    assert!(
        report
            .checks
            .iter()
            .any(|check| check.id == "stage5.client-against-your-server")
    );

    // Every format carries stage 5 like the other stages.
    let json: serde_json::Value =
        serde_json::from_str(&report::render(&report, report::ReportFormat::Json)).unwrap();
    assert_eq!(json["stage"], CLIENT_STAGE);
    assert_eq!(json["score"], json["max_score"]);
    let junit = report::render(&report, report::ReportFormat::Junit);
    assert_eq!(
        junit.matches("<testsuite ").count(),
        usize::from(CLIENT_STAGE)
    );
    assert!(junit.contains("stage5.jar-honours-deletion"), "{junit}");
    let gradescope: serde_json::Value =
        serde_json::from_str(&report::render(&report, report::ReportFormat::Gradescope)).unwrap();
    assert!(
        gradescope["tests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|test| test["name"]
                .as_str()
                .is_some_and(|name| name.contains("stage5.client-against-your-server"))),
        "{gradescope}"
    );
    assert!(report::render(&report, report::ReportFormat::Human).contains("stage5.client-runs"));
}

/// A server mistake fails the server's checks and never a stage-5 check: the check of both
/// together depends on the server's cookie checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_mistake_fails_the_server_and_never_the_client() {
    let report = grade_with_server(&["--mistake", "grover-max-age"]).await;
    let failed = ids_with(&report, Status::Failed);
    assert!(
        failed.iter().all(|id| !id.starts_with("stage5.")),
        "{}",
        report::render(&report, report::ReportFormat::Human)
    );
    assert_eq!(failed, ["stage4.grover-session-cookie"]);
}
