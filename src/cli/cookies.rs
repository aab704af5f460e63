//! `session-lab cookies` (stage 5): the pages fetched with one cookie store, what they set
//! shown, and the jar kept on disk.

use session_lab::client::{self, CookiesFormat, RunOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: session-lab cookies --jar cookies.txt http://127.0.0.1:8080/cookies\n\n\
The jar is a Netscape cookies.txt, as curl -b/-c, wget and Python's MozillaCookieJar use."
)]
pub struct CookiesArgs {
    /// The pages to GET, in order, with one cookie store.
    #[arg(required = true, value_name = "URL")]
    urls: Vec<url::Url>,
    /// Load cookies from this jar first, send back those that match, and save the jar after.
    #[arg(long, value_name = "FILE")]
    jar: Option<PathBuf>,
    /// Save session cookies too (with expiry 0, as curl does); by default they end with the run.
    #[arg(long)]
    keep_session_cookies: bool,
    #[arg(long, value_enum, default_value_t = CookiesFormat::Table)]
    format: CookiesFormat,
    /// Send requests for HOST to IP instead of looking it up (repeatable).
    #[arg(long, value_name = "HOST=IP", value_parser = parse_resolve)]
    resolve: Vec<(String, SocketAddr)>,
}

pub fn cookies(args: CookiesArgs) -> anyhow::Result<ExitCode> {
    let options = RunOptions {
        jar: args.jar.as_deref(),
        keep_session_cookies: args.keep_session_cookies,
        format: args.format,
        resolve: &args.resolve,
    };
    let outcome = super::runtime()?.block_on(client::run(&args.urls, &options))?;
    print!("{}", outcome.output);
    for error in &outcome.errors {
        eprintln!("error: {error}");
    }
    Ok(if outcome.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `HOST=IP`, as curl's `--resolve` takes it but without the port.
pub fn parse_resolve(text: &str) -> Result<(String, SocketAddr), String> {
    let (host, ip) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not HOST=IP"))?;
    let ip: std::net::IpAddr = ip
        .parse()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    // The port is ignored: requests go to the port of their URL.
    Ok((host.to_owned(), SocketAddr::new(ip, 0)))
}
