//! What a command needs from outside the sandbox's standard tree: the real executable behind
//! its name (a pyenv shim is a script that needs all of pyenv, so pyenv is asked which
//! interpreter it stands for), the interpreter the `#!` line of an instructor's script names,
//! and the prefix each lives in when that is not under `/usr` (pyenv's Pythons live under
//! `/root/.pyenv`). Nothing the submission wrote decides what is mounted.

use std::io::Read;
use std::path::{Path, PathBuf};

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
