//! The values the arguments take that clap does not parse itself: commands, seconds,
//! NAME=VALUE and HOST=IP pairs.

use std::time::Duration;

/// A command given as one argument, split into words.
#[derive(Debug, Clone)]
pub struct Words(pub Vec<String>);

pub fn parse_command(text: &str) -> Result<Words, String> {
    shlex::split(text)
        .filter(|words| !words.is_empty())
        .map(Words)
        .ok_or_else(|| format!("{text:?} is not a command (an unclosed quote?)"))
}

pub fn parse_env(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    Ok((name.to_owned(), value.to_owned()))
}

pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("{text:?} must be a positive number of seconds"))
}

#[cfg(feature = "stage5")]
pub fn parse_resolve(text: &str) -> Result<(String, std::net::SocketAddr), String> {
    let (host, ip) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not HOST=IP"))?;
    let ip: std::net::IpAddr = ip
        .parse()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    // The port is ignored: requests go to the port of their URL.
    Ok((host.to_owned(), std::net::SocketAddr::new(ip, 0)))
}
