//! The language a submission is written in, as far as its command tells, so that a hint can
//! name the library calls of that language rather than Python's to a Go or Node student.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
    Go,
    Java,
    Ruby,
    Php,
    /// A shell script, which for a cookie client means curl.
    Shell,
}

impl Language {
    /// The language of `command`: its program (`python3`, `node`, `go run .`, `java`, `sh`),
    /// or, for a script run directly, its file's ending. `None` for a compiled program or an
    /// interpreter it does not know.
    pub fn of(command: &[String]) -> Option<Self> {
        let program = Path::new(command.first()?)
            .file_name()?
            .to_str()?
            .to_ascii_lowercase();
        let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        let by_program = match program {
            "python" | "pypy" | "uv" | "poetry" | "pipenv" | "flask" | "gunicorn" | "uvicorn" => {
                Some(Self::Python)
            }
            "node" | "npm" | "npx" | "yarn" | "pnpm" | "deno" | "bun" => Some(Self::Node),
            "go" => Some(Self::Go),
            "java" | "mvn" | "gradle" | "jbang" => Some(Self::Java),
            "ruby" | "bundle" | "rackup" => Some(Self::Ruby),
            "php" => Some(Self::Php),
            "sh" | "bash" | "dash" | "zsh" | "curl" => Some(Self::Shell),
            _ => None,
        };
        by_program.or_else(|| {
            let extension = Path::new(command.first()?).extension()?.to_str()?;
            match extension {
                "py" => Some(Self::Python),
                "js" | "mjs" | "cjs" => Some(Self::Node),
                "rb" => Some(Self::Ruby),
                "php" => Some(Self::Php),
                "sh" | "bash" => Some(Self::Shell),
                _ => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(command: &str) -> Option<Language> {
        let words: Vec<String> = command.split(' ').map(str::to_owned).collect();
        Language::of(&words)
    }

    #[test]
    fn the_command_tells_the_language() {
        assert_eq!(of("python3 client.py {url}"), Some(Language::Python));
        assert_eq!(of("/usr/bin/python3.11 client.py"), Some(Language::Python));
        assert_eq!(of("node client.js {url}"), Some(Language::Node));
        assert_eq!(of("go run . {url}"), Some(Language::Go));
        assert_eq!(of("java Client.java"), Some(Language::Java));
        assert_eq!(of("bash client.sh"), Some(Language::Shell));
        assert_eq!(of("./client.sh {url}"), Some(Language::Shell));
        assert_eq!(of("./client.rb"), Some(Language::Ruby));
        assert_eq!(of("./client {url}"), None);
    }
}
