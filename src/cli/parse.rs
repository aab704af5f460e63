//! The values the arguments take that clap does not parse itself: commands, seconds and
//! NAME=VALUE pairs.

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
