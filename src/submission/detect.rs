//! How a submission that says nothing starts, as its files show it: a small table, in the order
//! a person would guess, one runtime at a time. Within a runtime the first file found decides
//! (`package.json` with a `start` script before `server.js`); files of two runtimes are two
//! guesses, and the grader never guesses: the student is asked to add a Procfile.

use std::path::Path;

/// One row of the table: a file that shows how a submission starts.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The runtime, to tell two guesses from one.
    pub runtime: &'static str,
    /// The file at the submission's root that shows it.
    pub file: &'static str,
    /// What must be in that file too, if anything (`app.py` is a Flask app only when it says so).
    requires: Option<fn(&str) -> bool>,
    /// A command run once before the first start, where the runtime compiles.
    pub build: Option<&'static [&'static str]>,
    /// The command that starts the server; `{port}` becomes its port.
    pub run: &'static [&'static str],
}

/// A row is known by its file: no two rows have one.
impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file
    }
}

impl Eq for Rule {}

/// Where a built Go server is put, inside the submission's scratch copy.
const GO_BINARY: &str = "./.session-lab-server";

/// The table, in order. README ("Any language in one class") and exercises.md show it.
pub const RULES: &[Rule] = &[
    Rule {
        runtime: "Python",
        file: "server.py",
        requires: None,
        build: None,
        run: &["python3", "server.py", "{port}"],
    },
    Rule {
        runtime: "Python",
        file: "app.py",
        requires: Some(uses_flask),
        build: None,
        run: &["python3", "app.py", "{port}"],
    },
    Rule {
        runtime: "Node.js",
        file: "package.json",
        requires: Some(has_start_script),
        build: None,
        run: &["npm", "start", "--no-update-notifier", "--", "{port}"],
    },
    Rule {
        runtime: "Node.js",
        file: "server.js",
        requires: None,
        build: None,
        run: &["node", "server.js", "{port}"],
    },
    Rule {
        runtime: "Node.js",
        file: "index.js",
        requires: None,
        build: None,
        run: &["node", "index.js", "{port}"],
    },
    Rule {
        runtime: "Go",
        file: "go.mod",
        requires: None,
        build: Some(&["go", "build", "-o", GO_BINARY, "."]),
        run: &[GO_BINARY, "{port}"],
    },
    Rule {
        runtime: "Java",
        file: "Server.java",
        requires: None,
        build: None,
        run: &["java", "Server.java", "{port}"],
    },
    Rule {
        runtime: "Java",
        file: "Main.java",
        requires: None,
        build: None,
        run: &["java", "Main.java", "{port}"],
    },
    Rule {
        runtime: "Ruby",
        file: "server.rb",
        requires: None,
        build: None,
        run: &["ruby", "server.rb", "{port}"],
    },
    Rule {
        runtime: "Rust",
        file: "Cargo.toml",
        requires: None,
        build: Some(&["cargo", "build", "--release", "--offline"]),
        run: &[
            "cargo",
            "run",
            "--release",
            "--offline",
            "--quiet",
            "--",
            "{port}",
        ],
    },
];

/// What the files of a submission show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// One runtime's file: the rule that starts it.
    Found(&'static Rule),
    /// Files of more than one runtime, each the first of its own (`server.py`, `server.js`).
    Ambiguous(Vec<&'static Rule>),
    /// No file of the table.
    Nothing,
}

/// The most of a file read to see whether it is what its rule requires.
const MAX_READ: u64 = 4 << 20;

/// What the files at the root of `folder` show.
pub fn detect(folder: &Path) -> Detection {
    let mut found: Vec<&'static Rule> = Vec::new();
    for rule in RULES {
        if found.iter().any(|earlier| earlier.runtime == rule.runtime) {
            continue;
        }
        if applies(rule, folder) {
            found.push(rule);
        }
    }
    match found.as_slice() {
        [] => Detection::Nothing,
        [one] => Detection::Found(one),
        _ => Detection::Ambiguous(found),
    }
}

fn applies(rule: &Rule, folder: &Path) -> bool {
    let path = folder.join(rule.file);
    // A regular file, not a link: the copy a submission runs in holds only links that stay
    // inside it, but a name that is a folder or a link shows nothing.
    let Ok(metadata) = std::fs::symlink_metadata(&path) else {
        return false;
    };
    if !metadata.is_file() {
        return false;
    }
    match rule.requires {
        None => true,
        Some(requires) => {
            use std::io::Read;
            let mut text = String::new();
            std::fs::File::open(&path)
                .and_then(|file| file.take(MAX_READ).read_to_string(&mut text))
                .is_ok()
                && requires(&text)
        }
    }
}

/// Whether a Python file imports Flask.
fn uses_flask(source: &str) -> bool {
    source.lines().any(|line| {
        let line = line.trim_start();
        line.starts_with("from flask") || line.starts_with("import flask")
    })
}

/// Whether a `package.json` has a `start` script for `npm start` to run (npm reads one that
/// begins with a byte-order mark too).
fn has_start_script(manifest: &str) -> bool {
    let manifest = manifest.strip_prefix('\u{feff}').unwrap_or(manifest);
    serde_json::from_str::<serde_json::Value>(manifest)
        .ok()
        .and_then(|manifest| {
            manifest
                .get("scripts")?
                .get("start")?
                .as_str()
                .map(str::to_owned)
        })
        .is_some_and(|start| !start.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submission::tests::folder;

    fn files(detection: Detection) -> Vec<&'static str> {
        match detection {
            Detection::Found(rule) => vec![rule.file],
            Detection::Ambiguous(rules) => rules.iter().map(|rule| rule.file).collect(),
            Detection::Nothing => Vec::new(),
        }
    }

    #[test]
    fn each_runtime_is_found_by_its_first_file() {
        for (given, expected) in [
            (vec![("server.py", "")], vec!["server.py"]),
            (
                vec![("app.py", "from flask import Flask\n")],
                vec!["app.py"],
            ),
            (vec![("app.py", "import http.server\n")], vec![]),
            (
                vec![
                    ("package.json", r#"{"scripts": {"start": "node a.js"}}"#),
                    ("server.js", ""),
                ],
                vec!["package.json"],
            ),
            (
                vec![("package.json", r#"{"scripts": {}}"#), ("server.js", "")],
                vec!["server.js"],
            ),
            (vec![("index.js", "")], vec!["index.js"]),
            (vec![("go.mod", "module x\n")], vec!["go.mod"]),
            (
                vec![("Server.java", ""), ("Main.java", "")],
                vec!["Server.java"],
            ),
            (vec![("server.rb", "")], vec!["server.rb"]),
            (vec![("Cargo.toml", "")], vec!["Cargo.toml"]),
            (vec![("README.md", "")], vec![]),
        ] {
            let dir = folder(&given);
            assert_eq!(files(detect(dir.path())), expected, "{given:?}");
        }
    }

    #[test]
    fn two_runtimes_are_two_guesses() {
        let dir = folder(&[("server.py", ""), ("server.js", "")]);
        assert_eq!(
            detect(dir.path()),
            Detection::Ambiguous(vec![&RULES[0], &RULES[3]])
        );
    }

    #[test]
    fn a_folder_or_a_link_of_the_name_shows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("server.py")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("server.rb")).unwrap();
        assert_eq!(detect(dir.path()), Detection::Nothing);
    }
}
