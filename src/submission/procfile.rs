//! A submission's `Procfile`: how it says it starts, in the convention Heroku, Foreman, Honcho
//! and Dokku share (`web: php -S 127.0.0.1:$PORT router.php`), one `name: command` a line.
//! `web` is the server, `client` the stage-5 cookie client, and `build` (ours) a command run
//! once before the first start; other names are someone else's and left alone.

use std::path::Path;

/// The file's name, at the submission's root.
pub const NAME: &str = "Procfile";

/// The most a Procfile may hold: a few lines of commands.
const MAX_BYTES: u64 = 64 * 1024;

/// What a Procfile says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Procfile {
    pub web: Option<String>,
    pub client: Option<String>,
    pub build: Option<String>,
}

/// A Procfile that cannot be read as one: the student's to fix.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProcfileError {
    #[error("the Procfile cannot be read: {0}")]
    Unreadable(String),
    #[error("the Procfile is larger than {} KiB: it holds a few `name: command` lines", MAX_BYTES >> 10)]
    TooLarge,
    #[error("the Procfile is not a file (a link or a folder): make it a plain file")]
    NotAFile,
    #[error(
        "line {line} of the Procfile is not `name: command` (as `web: python3 server.py $PORT`)"
    )]
    NotALine { line: usize },
    #[error("the Procfile names `{name}` twice (lines {first} and {second}): keep one")]
    Twice {
        name: String,
        first: usize,
        second: usize,
    },
}

impl Procfile {
    /// The Procfile at the root of `folder`, if there is one (a link or a folder of that name
    /// is refused, never followed).
    pub fn read(folder: &Path) -> Result<Option<Self>, ProcfileError> {
        let path = folder.join(NAME);
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if !metadata.is_file() => Err(ProcfileError::NotAFile),
            Ok(metadata) => {
                if metadata.len() > MAX_BYTES {
                    return Err(ProcfileError::TooLarge);
                }
                let bytes = std::fs::read(&path)
                    .map_err(|error| ProcfileError::Unreadable(error.to_string()))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| ProcfileError::Unreadable("it is not UTF-8 text".into()))?;
                Self::parse(&text).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Reads `text`: blank lines and `#` comments are skipped, a line is `name: command`.
    pub fn parse(text: &str) -> Result<Self, ProcfileError> {
        // An editor's byte-order mark is no part of the first name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut procfile = Self::default();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, command)) = line.split_once(':') else {
                return Err(ProcfileError::NotALine { line: number });
            };
            let (name, command) = (name.trim(), command.trim());
            let is_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !is_name || command.is_empty() {
                return Err(ProcfileError::NotALine { line: number });
            }
            if let Some((_, first)) = seen.iter().find(|(seen, _)| seen == name) {
                return Err(ProcfileError::Twice {
                    name: name.to_owned(),
                    first: *first,
                    second: number,
                });
            }
            seen.push((name.to_owned(), number));
            let slot = match name {
                "web" => &mut procfile.web,
                "client" => &mut procfile.client,
                "build" => &mut procfile.build,
                _ => continue,
            };
            *slot = Some(command.to_owned());
        }
        Ok(procfile)
    }
}

/// A Procfile command as the words to run: split as a shell would, with `$PORT`, `${PORT}`,
/// `$URL` and `${URL}` standing for the port and the URL (as `{port}` and `{url}` do). A line
/// that needs a shell (`cd app && node index.js`, a pipe, another variable) runs in `sh -c`,
/// which has PORT and URL in its environment.
pub fn words(command: &str) -> Vec<String> {
    let placeholders = [
        ("${PORT}", "{port}"),
        ("$PORT", "{port}"),
        ("${URL}", "{url}"),
        ("$URL", "{url}"),
    ];
    let mut plain = command.to_owned();
    for (variable, placeholder) in placeholders {
        plain = plain.replace(variable, placeholder);
    }
    let needs_shell = plain.contains(|c: char| "|&;<>()$`*?[]~\n".contains(c))
        || plain
            .split_whitespace()
            .next()
            .is_some_and(|first| first.contains('='));
    match shlex::split(&plain) {
        Some(words) if !needs_shell && !words.is_empty() => words,
        _ => vec!["sh".into(), "-c".into(), command.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_procfile_names_the_server_the_client_and_the_build() {
        let procfile = Procfile::parse(
            "# how this starts\nweb: php -S 127.0.0.1:$PORT router.php\n\nclient: python3 client.py $URL\nbuild: make\nworker: ignored\n",
        )
        .unwrap();
        assert_eq!(
            procfile,
            Procfile {
                web: Some("php -S 127.0.0.1:$PORT router.php".into()),
                client: Some("python3 client.py $URL".into()),
                build: Some("make".into()),
            }
        );
    }

    #[test]
    fn a_line_that_is_not_name_colon_command_or_a_name_twice_is_refused_with_its_line() {
        assert_eq!(
            Procfile::parse("web python3 server.py"),
            Err(ProcfileError::NotALine { line: 1 })
        );
        assert_eq!(
            Procfile::parse("web:\n"),
            Err(ProcfileError::NotALine { line: 1 })
        );
        assert_eq!(
            Procfile::parse("web: a\n\nweb: b\n"),
            Err(ProcfileError::Twice {
                name: "web".into(),
                first: 1,
                second: 3
            })
        );
    }

    #[test]
    fn plain_commands_are_words_and_the_rest_runs_in_a_shell() {
        assert_eq!(
            words("php -S 127.0.0.1:$PORT router.php"),
            ["php", "-S", "127.0.0.1:{port}", "router.php"]
        );
        assert_eq!(
            words("node 'my server.js' ${PORT}"),
            ["node", "my server.js", "{port}"]
        );
        assert_eq!(
            words("python3 client.py $URL"),
            ["python3", "client.py", "{url}"]
        );
        for shell in [
            "cd app && node index.js",
            "DEBUG=1 node index.js",
            "node index.js $HOME",
            "java -cp 'lib/*' Server",
        ] {
            assert_eq!(words(shell), ["sh", "-c", shell], "{shell}");
        }
    }
}
