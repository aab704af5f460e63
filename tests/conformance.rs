//! Every check of the stages this build implements, each as its own test, each against a fresh
//! server: the in-process reference, or the program named by `SESSION_LAB_TARGET`
//! (e.g. `SESSION_LAB_TARGET="python3 server.py {port}" SESSION_LAB_TARGET_DIR=solution`).
//! With stage 5 the cookie-client checks run too: against the reference client, once printing
//! its table and once its JSON, or against the program named by `SESSION_LAB_CLIENT`
//! (e.g. `SESSION_LAB_CLIENT="python3 client.py {url}" SESSION_LAB_CLIENT_DIR=solution`).
//! With the `redis` feature every server check runs a second time, named `… [redis]`, against
//! the reference keeping its state in a real redis-server (one for the run, a database per
//! check): one suite, each backend.

#[cfg(feature = "redis")]
#[path = "integration/support/redis_server.rs"]
#[allow(dead_code)] // this suite never stops its Redis
mod redis_server;

use libtest_mimic::{Arguments, Failed, Trial};
use session_lab::checks::{self, Credentials, Ctx, Judges, Selection, Stages, Status};
use session_lab::server::STAGE;
use session_lab::under_test::{
    ClientSpec, ClientTarget, CommandClient, CommandSpec, CommandTarget, ReferenceTarget,
    ServerTarget,
};

fn words(variable: &str) -> Option<(Vec<String>, String)> {
    let command = std::env::var(variable).ok()?;
    let dir = std::env::var(format!("{variable}_DIR")).unwrap_or_else(|_| ".".into());
    Some((command.split_whitespace().map(str::to_owned).collect(), dir))
}

/// Which server a check judges.
#[derive(Clone)]
enum Server {
    /// The program of `SESSION_LAB_TARGET`, or else the reference with its state file.
    Default,
    /// The reference keeping its state in this Redis, in a database of the check's own.
    #[cfg(feature = "redis")]
    Redis(std::sync::Arc<redis_server::RedisServer>),
}

impl Server {
    fn start(&self) -> Result<Box<dyn ServerTarget>, String> {
        match (self, words("SESSION_LAB_TARGET")) {
            #[cfg(feature = "redis")]
            (Self::Redis(redis), _) => {
                use std::sync::atomic::{AtomicU32, Ordering};
                static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);
                let db = NEXT_DATABASE.fetch_add(1, Ordering::Relaxed);
                assert!(db < redis_server::DATABASES, "more checks than databases");
                let store = session_lab::store::Backend::Redis(redis.url(db));
                Ok(Box::new(
                    ReferenceTarget::with_store(store).map_err(|e| e.to_string())?,
                ))
            }
            (Self::Default, Some((command, dir))) => Ok(Box::new(
                CommandTarget::new(CommandSpec::new(command, dir)).map_err(|e| e.to_string())?,
            )),
            (Self::Default, None) => {
                Ok(Box::new(ReferenceTarget::new().map_err(|e| e.to_string())?))
            }
        }
    }

    /// The servers each server check runs against, by the label their tests carry.
    fn all() -> Vec<(Self, &'static str)> {
        #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
        let mut servers = vec![(Self::Default, "")];
        #[cfg(feature = "redis")]
        if words("SESSION_LAB_TARGET").is_none() {
            let redis = std::sync::Arc::new(redis_server::RedisServer::start());
            servers.push((Self::Redis(redis), " [redis]"));
        }
        servers
    }
}

/// The clients the stage-5 checks run against, by the name their tests carry.
#[derive(Debug, Clone, Copy)]
enum Client {
    Command,
    #[cfg(feature = "stage5")]
    Reference(session_lab::client::CookiesFormat),
}

impl Client {
    fn all() -> Vec<(Self, &'static str)> {
        if words("SESSION_LAB_CLIENT").is_some() {
            return vec![(Self::Command, "")];
        }
        #[cfg(feature = "stage5")]
        {
            use session_lab::client::CookiesFormat as Format;
            vec![
                (Self::Reference(Format::Table), " [reference table]"),
                (Self::Reference(Format::Json), " [reference json]"),
            ]
        }
        #[cfg(not(feature = "stage5"))]
        Vec::new()
    }

    fn start(self) -> Result<Box<dyn ClientTarget>, String> {
        match self {
            Self::Command => {
                let (command, dir) = words("SESSION_LAB_CLIENT").ok_or("no SESSION_LAB_CLIENT")?;
                Ok(Box::new(
                    CommandClient::new(ClientSpec::new(command, dir)).map_err(|e| e.to_string())?,
                ))
            }
            #[cfg(feature = "stage5")]
            Self::Reference(format) => Ok(Box::new(
                session_lab::under_test::ReferenceClient::new(format).map_err(|e| e.to_string())?,
            )),
        }
    }
}

fn run_check(
    check: &'static checks::Check,
    server: &Server,
    client: Option<Client>,
) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = match check.judges {
            Judges::Client => None,
            Judges::Server | Judges::ClientAndServer => Some(server.start()?),
        };
        let client = client.map(Client::start).transpose()?;
        let mut ctx = Ctx::new(server, client, Credentials::default());
        let report = checks::run(&mut ctx, &[check], |_| {}).await.remove(0);
        match (report.status, report.failure) {
            (Status::Passed, _) => Ok(()),
            (_, failure) => {
                let failure = failure.unwrap_or_default();
                let mut message = failure.message;
                if let Some(tail) = report.output_tail {
                    message.push_str(&format!("\n--- the program's last output ---\n{tail}"));
                }
                Err(message.into())
            }
        }
    })
}

fn main() {
    let arguments = Arguments::from_args();
    let clients = Client::all();
    let selection = Selection::new(Stages::UpTo(STAGE), true, !clients.is_empty())
        .expect("the stages built, with the reference server and its clients");
    let servers = Server::all();
    let trials = selection
        .checks()
        .into_iter()
        // stage <= STAGE, written so that it is no lint when STAGE is 0 (no stage built).
        .filter(|check| check.stage.saturating_sub(STAGE) == 0)
        .flat_map(|check| {
            let runs: Vec<(Server, Option<Client>, String)> = match check.judges {
                Judges::Server => servers
                    .iter()
                    .map(|(server, label)| (server.clone(), None, (*label).to_owned()))
                    .collect(),
                // The client checks judge the client; the server beside it is the default one.
                Judges::Client | Judges::ClientAndServer => clients
                    .iter()
                    .map(|&(client, label)| (Server::Default, Some(client), label.to_owned()))
                    .collect(),
            };
            runs.into_iter().map(move |(server, client, label)| {
                Trial::test(format!("{}{label}", check.id), move || {
                    run_check(check, &server, client)
                })
            })
        })
        .collect();
    // Run, then let the servers go (a redis-server ends with its handle) before exiting.
    let conclusion = libtest_mimic::run(&arguments, trials);
    drop(servers);
    conclusion.exit();
}
