//! What a command needs from outside the sandbox's standard tree: the real executable behind
//! its name (a pyenv shim is a script that needs all of pyenv, so pyenv is asked which
//! interpreter it stands for), the interpreter the `#!` line of an instructor's script names,
//! and the prefix each lives in when that is not under `/usr` (pyenv's Pythons live under
//! `/root/.pyenv`), and the configuration in `/etc` that the runtime reads (Debian's OpenJDK
//! reaches `/etc/java-17-openjdk` through symlinks in its `conf/`; PHP reads `/etc/php`).
//! Nothing the submission wrote decides what is mounted: a command of its own (a Procfile's)
//! gets the runtimes of [`RUNTIME_PROGRAMS`], never what it names.

use std::io::Read;
use std::path::{Path, PathBuf};

/// What a sandbox binds read-only, at its own path, for commands to run.
#[derive(Debug, Clone, Default)]
pub struct Mounts {
    /// The prefixes the programs live in (see [`prefixes`]).
    pub prefixes: Vec<PathBuf>,
    /// The runtimes' configuration in `/etc` (see [`configuration`]).
    pub configuration: Vec<PathBuf>,
}

impl Mounts {
    /// What every one of `commands` needs, each path once.
    pub fn of(commands: &[Vec<String>], scratch: &Path) -> Self {
        let mut mounts = Self::default();
        for command in commands {
            for (found, into) in [
                (prefixes(command, scratch), &mut mounts.prefixes),
                (configuration(command, scratch), &mut mounts.configuration),
            ] {
                for path in found {
                    if !into.contains(&path) {
                        into.push(path);
                    }
                }
            }
        }
        mounts
    }
}

/// The directories to bind read-only at their own path for `command` to run, found from the
/// scratch directory it runs in.
pub fn prefixes(command: &[String], scratch: &Path) -> Vec<PathBuf> {
    let mut prefixes = Vec::new();
    for executable in executables(command, scratch) {
        if let Some(prefix) = prefix_of(&executable, scratch) {
            if !prefixes.contains(&prefix) {
                prefixes.push(prefix);
            }
        }
    }
    prefixes
}

/// The runtime's own configuration in `/etc`, to bind read-only at its own path: what the
/// symlinks of its installation point to (`/usr/lib/jvm/…/conf/net.properties` →
/// `/etc/java-17-openjdk/…`), and the folders named after it (`/etc/php` for `php8.2`,
/// `/etc/python3.11` for `python3.11`). A folder directly in `/etc` is bound whole; `/etc`
/// itself, with its secrets, never.
pub fn configuration(command: &[String], scratch: &Path) -> Vec<PathBuf> {
    let executables: Vec<PathBuf> = executables(command, scratch)
        .into_iter()
        .filter(|executable| !executable.starts_with(scratch))
        .collect();
    let linked = executables
        .iter()
        .filter_map(|executable| installation(executable))
        .flat_map(|root| etc_links(&root));
    // A student's own script may start any of the runtimes: their configuration is there for
    // every command, as their programs under /usr are.
    let stems: Vec<&str> = executables
        .iter()
        .filter_map(|executable| executable.file_name()?.to_str())
        .map(stem)
        .chain(RUNTIMES)
        .collect();
    let mut found = Vec::new();
    for path in linked.chain(etc_named_after(&stems)) {
        if !found.contains(&path) {
            found.push(path);
        }
    }
    found
}

/// The programs of the grader's table of runtimes (`submission/detect.rs`), and PHP's: what a
/// command the submission wrote itself may use, mounted as the grader finds them on its PATH.
pub const RUNTIME_PROGRAMS: [&str; 9] = [
    "python3", "node", "npm", "go", "java", "ruby", "php", "cargo", "sh",
];

/// The runtimes whose `/etc` configuration every sandbox has (Debian's OpenJDK keeps its
/// `java.security` in `/etc/java-17-openjdk`, PHP its `php.ini` and modules in `/etc/php`).
const RUNTIMES: [&str; 5] = ["java", "php", "python", "ruby", "node"];

/// A program's name without its version: `php8.2` → `php`, `python3.11` → `python`.
fn stem(name: &str) -> &str {
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
}

/// `/usr/lib/jvm/java-17-openjdk-amd64/bin/java` → `/usr/lib/jvm/java-17-openjdk-amd64`: an
/// installation of its own, not a shared tree such as `/usr` or `/usr/local`.
fn installation(executable: &Path) -> Option<PathBuf> {
    let bin = executable.parent()?;
    let root = bin.parent()?;
    let shared = ["/", "/usr", "/usr/local", "/opt"].map(Path::new);
    (bin.ends_with("bin") && !shared.contains(&root)).then(|| root.to_owned())
}

/// The entries of `/etc` that symlinks under `root` lead into, looked at two folders deep
/// (where a package keeps its configuration links: the JDK's `conf/security/java.security`,
/// `lib/security/cacerts`) and among a bounded count: this runs at every start, and a whole
/// Python or Go tree holds tens of thousands of files.
fn etc_links(root: &Path) -> Vec<PathBuf> {
    const MOST_ENTRIES: usize = 5_000;
    const DEEPEST: usize = 2;
    let mut found = Vec::new();
    let mut folders = vec![(root.to_owned(), 0)];
    let mut seen = 0;
    while let Some((folder, depth)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MOST_ENTRIES {
                return found;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < DEEPEST {
                folders.push((entry.path(), depth + 1));
            } else if kind.is_symlink() {
                let target = std::fs::canonicalize(entry.path()).ok();
                if let Some(top) = target.as_deref().and_then(etc_entry) {
                    if !found.contains(&top) {
                        found.push(top);
                    }
                }
            }
        }
    }
    found
}

/// `/etc/java-17-openjdk/security/java.security` → `/etc/java-17-openjdk`.
fn etc_entry(path: &Path) -> Option<PathBuf> {
    let rest = path.strip_prefix("/etc").ok()?;
    let first = rest.components().next()?;
    Some(Path::new("/etc").join(first))
}

/// The folders of `/etc` named after one of `stems`, alone or followed by a version or a dash
/// (`java-17-openjdk`, `python3.11`), from one listing of `/etc`.
fn etc_named_after(stems: &[&str]) -> Vec<PathBuf> {
    let named = |folder: &str| {
        stems.iter().filter(|stem| stem.len() >= 2).any(|stem| {
            folder.strip_prefix(stem).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit() || c == '-')
            })
        })
    };
    let Ok(entries) = std::fs::read_dir("/etc") else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter(|entry| entry.file_name().to_str().is_some_and(named))
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

fn executables(command: &[String], scratch: &Path) -> Vec<PathBuf> {
    let Some(executable) = command.first().and_then(|name| resolve(name, scratch)) else {
        return Vec::new();
    };
    let mut all = vec![executable.clone()];
    // A script of the submission's own names its interpreter on a line the student wrote:
    // following it would let the submission choose which host folder gets mounted.
    if !executable.starts_with(scratch) {
        all.extend(shebang_interpreter(&executable, scratch));
    }
    all
}

/// The real path of `name` as the shell would run it from `scratch`.
fn resolve(name: &str, scratch: &Path) -> Option<PathBuf> {
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let found = which::which_in(name, Some(search_path), scratch).ok()?;
    let is_pyenv_shim = found.parent().is_some_and(|dir| dir.ends_with("shims"))
        && found.components().any(|c| c.as_os_str() == ".pyenv");
    let found = if is_pyenv_shim {
        // Asked from the grader's folder, not the scratch copy: a `.python-version` there is
        // the student's, and would choose the interpreter (and so the folder mounted).
        let output = std::process::Command::new("pyenv")
            .arg("which")
            .arg(found.file_name()?)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    } else {
        found
    };
    std::fs::canonicalize(found).ok()
}

/// For a script, the interpreter its `#!` line names (through `env` too).
fn shebang_interpreter(executable: &Path, scratch: &Path) -> Option<PathBuf> {
    let mut head = [0u8; 256];
    let read = std::fs::File::open(executable)
        .and_then(|mut file| file.read(&mut head))
        .ok()?;
    let line = head[..read].strip_prefix(b"#!")?;
    let line = String::from_utf8_lossy(line);
    let mut words = line.lines().next()?.split_whitespace();
    let first = words.next()?;
    if first.ends_with("/env") {
        resolve(words.find(|word| !word.starts_with('-'))?, scratch)
    } else {
        std::fs::canonicalize(first).ok()
    }
}

/// `/root/.pyenv/versions/3.11.7/bin/python3.11` → `/root/.pyenv/versions/3.11.7`; nothing for
/// what every sandbox has (`/usr`, the merged `/bin` and `/lib`) or what the scratch holds.
fn prefix_of(executable: &Path, scratch: &Path) -> Option<PathBuf> {
    let standard = ["/usr", "/bin", "/sbin", "/lib", "/lib64"];
    if standard.iter().any(|dir| executable.starts_with(dir)) || executable.starts_with(scratch) {
        return None;
    }
    let prefix = executable.parent()?.parent()?;
    // Never `/`, `/opt` or a whole home (`~/bin/tool`): those hold far more than a program.
    let is_home = prefix.starts_with("/home") && prefix.components().count() <= 3
        || prefix == Path::new("/root")
        || std::env::var_os("HOME").is_some_and(|home| prefix == Path::new(&home));
    (prefix.components().count() >= 3 && !is_home).then(|| prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_the_install_above_bin_and_never_a_system_or_home_directory() {
        let scratch = Path::new("/tmp/scratch");
        let prefix = |path: &str| prefix_of(Path::new(path), scratch);
        assert_eq!(
            prefix("/root/.pyenv/versions/3.11.7/bin/python3.11"),
            Some(PathBuf::from("/root/.pyenv/versions/3.11.7"))
        );
        assert_eq!(
            prefix("/opt/node-v20/bin/node"),
            Some(PathBuf::from("/opt/node-v20"))
        );
        assert_eq!(prefix("/usr/bin/python3"), None);
        assert_eq!(prefix("/tmp/scratch/run.sh"), None);
        assert_eq!(prefix("/opt/bin/tool"), None);
        assert_eq!(prefix("/home/alice/bin/tool"), None);
        assert_eq!(prefix("/root/bin/tool"), None);
    }

    #[test]
    fn configuration_is_found_through_links_and_names_and_is_never_etc_itself() {
        assert_eq!(
            etc_entry(Path::new("/etc/java-17-openjdk/security/java.security")),
            Some(PathBuf::from("/etc/java-17-openjdk"))
        );
        assert_eq!(etc_entry(Path::new("/etc")), None);
        assert_eq!(etc_entry(Path::new("/usr/lib/x")), None);
        assert_eq!(
            installation(Path::new("/usr/lib/jvm/java-17/bin/java")),
            Some(PathBuf::from("/usr/lib/jvm/java-17"))
        );
        assert_eq!(installation(Path::new("/usr/bin/php8.2")), None);
        assert_eq!(installation(Path::new("/usr/local/bin/node")), None);

        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("conf/security")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.path().join("conf/security/x")).unwrap();
        std::os::unix::fs::symlink("/usr/bin", root.path().join("conf/y")).unwrap();
        let hostname_exists = Path::new("/etc/hostname").exists();
        assert_eq!(
            etc_links(root.path()),
            if hostname_exists {
                vec![PathBuf::from("/etc/hostname")]
            } else {
                Vec::new()
            }
        );
        assert_eq!(stem("php8.2"), "php");
        assert_eq!(stem("python3.11"), "python");
        for folder in etc_named_after(&[stem("python3.11")]) {
            let name = folder.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with("python"), "{folder:?}");
        }
    }

    #[test]
    fn a_script_s_interpreter_is_found_through_env() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/usr/bin/env sh\nexec true\n").unwrap();
        let found = shebang_interpreter(&script, dir.path()).unwrap();
        assert!(
            found.ends_with("sh") || found.ends_with("dash") || found.ends_with("bash"),
            "{found:?}"
        );
    }
}
