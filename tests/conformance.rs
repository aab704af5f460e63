//! Every check of the stages this build implements, each as its own test, each against a fresh
//! server: the in-process reference, or the program named by `SESSION_LAB_TARGET`
//! (e.g. `SESSION_LAB_TARGET="python3 server.py {port}" SESSION_LAB_TARGET_DIR=solution`).

use libtest_mimic::{Arguments, Failed, Trial};
use session_lab::checks::{self, Credentials, Ctx, Stages, Status};
use session_lab::server::STAGE;
use session_lab::target::{CommandSpec, CommandTarget, ReferenceTarget, Target};

fn target() -> Result<Box<dyn Target>, String> {
    match std::env::var("SESSION_LAB_TARGET") {
        Ok(command) => {
            let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
            let dir = std::env::var("SESSION_LAB_TARGET_DIR").unwrap_or_else(|_| ".".into());
            Ok(Box::new(
                CommandTarget::new(CommandSpec::new(words, dir)).map_err(|e| e.to_string())?,
            ))
        }
        Err(_) => Ok(Box::new(ReferenceTarget::new().map_err(|e| e.to_string())?)),
    }
}

fn run_check(check: &'static checks::Check) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut ctx = Ctx::new(target()?, Credentials::default());
        let report = checks::run(&mut ctx, &[check], |_| {}).await.remove(0);
        match (report.status, report.failure) {
            (Status::Passed, _) => Ok(()),
            (_, failure) => {
                let failure = failure.unwrap_or_default();
                let mut message = failure.message;
                if let Some(tail) = report.output_tail {
                    message.push_str(&format!("\n--- the server's last output ---\n{tail}"));
                }
                Err(message.into())
            }
        }
    })
}

fn main() {
    let arguments = Arguments::from_args();
    let trials = checks::select(Stages::UpTo(STAGE))
        .into_iter()
        .filter(|check| check.stage <= STAGE)
        .map(|check| Trial::test(check.id, move || run_check(check)))
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}
