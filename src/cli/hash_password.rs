//! `session-lab hash-password`: a password read on standard input, printed as the argon2id PHC
//! string a `--users` file holds.

use anyhow::Context;
use std::io::Read;
use std::process::ExitCode;

pub fn hash_password() -> anyhow::Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.strip_suffix('\n').unwrap_or(&input);
    let password = password.strip_suffix('\r').unwrap_or(password);
    anyhow::ensure!(
        !password.is_empty(),
        "the password on standard input is empty"
    );
    let hash = session_lab::server::users::hash_password(password)
        .map_err(|error| anyhow::anyhow!("cannot hash the password: {error}"))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}
