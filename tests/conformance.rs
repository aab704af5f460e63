//! Every check of the stages this build implements, each as its own test, each against a fresh
//! server: the in-process reference, or the program named by `SESSION_LAB_TARGET`
//! (e.g. `SESSION_LAB_TARGET="python3 server.py {port}" SESSION_LAB_TARGET_DIR=solution`).
//! With stage 5 the cookie-client checks run too: against the reference client, once printing
//! its table and once its JSON, or against the program named by `SESSION_LAB_CLIENT`
//! (e.g. `SESSION_LAB_CLIENT="python3 client.py {url}" SESSION_LAB_CLIENT_DIR=solution`).

use libtest_mimic::{Arguments, Failed, Trial};
use session_lab::checks::{self, Credentials, Ctx, Judges, Selection, Stages, Status};
use session_lab::server::STAGE;
use session_lab::target::{
    ClientSpec, ClientTarget, CommandClient, CommandSpec, CommandTarget, ReferenceTarget, Target,
};

fn words(variable: &str) -> Option<(Vec<String>, String)> {
    let command = std::env::var(variable).ok()?;
    let dir = std::env::var(format!("{variable}_DIR")).unwrap_or_else(|_| ".".into());
    Some((command.split_whitespace().map(str::to_owned).collect(), dir))
}

fn server() -> Result<Box<dyn Target>, String> {
    match words("SESSION_LAB_TARGET") {
        Some((command, dir)) => Ok(Box::new(
            CommandTarget::new(CommandSpec::new(command, dir)).map_err(|e| e.to_string())?,
        )),
        None => Ok(Box::new(ReferenceTarget::new().map_err(|e| e.to_string())?)),
    }
}

/// The clients the stage-5 checks run against, by the name their tests carry.
#[derive(Debug, Clone, Copy)]
enum Client {
    Command,
    #[cfg(feature = "stage5")]
    Reference(session_lab::client::Format),
}

impl Client {
    fn all() -> Vec<(Self, &'static str)> {
        if words("SESSION_LAB_CLIENT").is_some() {
            return vec![(Self::Command, "")];
        }
        #[cfg(feature = "stage5")]
        {
            use session_lab::client::Format;
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
                session_lab::target::ReferenceClient::new(format).map_err(|e| e.to_string())?,
            )),
        }
    }
}

fn run_check(check: &'static checks::Check, client: Option<Client>) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = match check.judges {
            Judges::Client => None,
            Judges::Server | Judges::ClientAndServer => Some(server()?),
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
    let selection = Selection {
        stages: Stages::UpTo(STAGE),
        server: true,
        client: !clients.is_empty(),
    };
    let trials = selection
        .checks()
        .into_iter()
        // stage <= STAGE, written so that it is no lint when STAGE is 0 (no stage built).
        .filter(|check| check.stage.saturating_sub(STAGE) == 0)
        .flat_map(|check| match check.judges {
            Judges::Server => vec![Trial::test(check.id, move || run_check(check, None))],
            Judges::Client | Judges::ClientAndServer => clients
                .iter()
                .map(|&(client, label)| {
                    Trial::test(format!("{}{label}", check.id), move || {
                        run_check(check, Some(client))
                    })
                })
                .collect(),
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}
