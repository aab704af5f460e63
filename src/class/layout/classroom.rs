//! GitHub Classroom's `gh classroom clone student-repos`: a clone per student, named
//! `assignment-username`. A student is known by their GitHub user (the name without the
//! assignment's prefix, which every clone shares), and the commit graded is recorded.

use super::{Item, Kind};
use crate::class::entry::{Entry, Material, Student};
use std::path::Path;

pub(super) fn entries(items: &[Item]) -> Vec<Entry> {
    let folders: Vec<&str> = items
        .iter()
        .filter(|item| item.kind == Kind::Folder)
        .map(|item| item.name.as_str())
        .collect();
    let prefix = shared_prefix(&folders);
    items
        .iter()
        .map(|item| {
            if item.kind != Kind::Folder {
                return Entry::unusable(&item.name, "not a clone of a student's repository");
            }
            let user = item.name.strip_prefix(prefix).unwrap_or(&item.name);
            Entry {
                who: Student {
                    id: user.to_owned(),
                    name: Some(user.to_owned()),
                    commit: head_commit(&item.path.join(".git")),
                    ..Student::default()
                },
                what: Material::Folder(item.path.clone()),
            }
        })
        .collect()
}

/// The start every name shares up to its last `-` (`hw3-`), or nothing when there is one name
/// or no such start: what is left of each name is the student's user.
fn shared_prefix<'a>(names: &[&'a str]) -> &'a str {
    let [first, rest @ ..] = names else {
        return "";
    };
    if rest.is_empty() {
        return "";
    }
    let mut common = first.len();
    for name in rest {
        common = common.min(
            first
                .bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    // Up to its last dash, and never a whole name: the user must stay.
    match first[..common].rfind('-') {
        Some(dash) if names.iter().all(|name| name.len() > dash + 1) => &first[..=dash],
        _ => "",
    }
}

/// The commit `HEAD` names in the repository at `git` (a detached head, or a branch's, loose
/// or packed), read from its files: no git runs on a student's repository.
fn head_commit(git: &Path) -> Option<String> {
    let read = |path: &Path| {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)
            .ok()?
            .take(1 << 20)
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    };
    let is_commit = |text: &str| text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit());
    let head = read(&git.join("HEAD"))?;
    let head = head.trim();
    let Some(branch) = head.strip_prefix("ref: ") else {
        return is_commit(head).then(|| head.to_owned());
    };
    // A ref is a path inside .git: one that climbs out of it is none.
    if branch
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return None;
    }
    if let Some(loose) = read(&git.join(branch)) {
        let loose = loose.trim();
        return is_commit(loose).then(|| loose.to_owned());
    }
    read(&git.join("packed-refs"))?.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name == branch && is_commit(commit)).then(|| commit.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assignment_prefix_every_clone_shares_is_not_the_user() {
        assert_eq!(
            shared_prefix(&["hw3-alice", "hw3-bob", "hw3-carol-x"]),
            "hw3-"
        );
        assert_eq!(
            shared_prefix(&["http-state-ana", "http-state-anne"]),
            "http-state-"
        );
        assert_eq!(shared_prefix(&["hw3-alice"]), "");
        assert_eq!(shared_prefix(&["alice", "bob"]), "");
    }

    #[test]
    fn the_commit_is_read_loose_packed_or_detached() {
        let git = tempfile::tempdir().unwrap();
        let commit = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(git.path().join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(
            git.path().join("packed-refs"),
            format!("# pack-refs\n{commit} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(head_commit(git.path()).as_deref(), Some(commit));
        std::fs::create_dir_all(git.path().join("refs/heads")).unwrap();
        let loose = "fedcba9876543210fedcba9876543210fedcba98";
        std::fs::write(git.path().join("refs/heads/main"), format!("{loose}\n")).unwrap();
        assert_eq!(head_commit(git.path()).as_deref(), Some(loose));
        std::fs::write(git.path().join("HEAD"), format!("{commit}\n")).unwrap();
        assert_eq!(head_commit(git.path()).as_deref(), Some(commit));
        std::fs::write(git.path().join("HEAD"), "ref: ../../etc/passwd\n").unwrap();
        assert_eq!(head_commit(git.path()), None);
    }
}
