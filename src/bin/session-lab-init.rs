//! `session-lab-init`: the first process of each grader's sandbox (see
//! `session_lab::sandbox::init`). It holds nothing else of session-lab, so mounting it in a
//! sandbox hands a submission no reference server.

use std::process::ExitCode;

fn main() -> ExitCode {
    let command: Vec<_> = std::env::args_os().skip(1).collect();
    match session_lab::sandbox::init::run(&command) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(127)
        }
    }
}
