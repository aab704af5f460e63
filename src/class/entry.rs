//! One entry of a class folder: a student's folder or `.zip`, and its fingerprint (so that an
//! unchanged submission is not graded twice). Unpacking a zip is [`crate::submission::unzip`].

use crate::submission::CopyLimits;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What an entry of the class folder is.
#[derive(Debug, Clone)]
pub enum Entry {
    Folder {
        student: String,
        path: PathBuf,
    },
    Zip {
        student: String,
        path: PathBuf,
    },
    /// Neither: listed in the outputs as skipped, with why.
    Other {
        student: String,
        why: String,
    },
}

impl Entry {
    pub fn student(&self) -> &str {
        match self {
            Self::Folder { student, .. }
            | Self::Zip { student, .. }
            | Self::Other { student, .. } => student,
        }
    }
}

/// The entries of `folder`, sorted by student id; hidden names (`.DS_Store`, `.git`) are not
/// students and are left out, and so is `leave_out` (the results folder, when it is inside).
/// Two entries with one id (`alice/` and `alice.zip`, or two names that differ only in bytes
/// that are not UTF-8) are both skipped: neither can be told from the other.
pub fn entries(folder: &Path, leave_out: Option<&Path>) -> std::io::Result<Vec<Entry>> {
    let leave_out = leave_out.and_then(|path| path.canonicalize().ok());
    let mut entries = Vec::new();
    for item in std::fs::read_dir(folder)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = item.path();
        if name.starts_with('.') || path.canonicalize().ok() == leave_out && leave_out.is_some() {
            continue;
        }
        // Not followed: a symlink in a class folder is not a submission.
        let kind = item.file_type()?;
        let entry = if kind.is_dir() {
            Entry::Folder {
                student: name,
                path,
            }
        } else if kind.is_file() && name.to_ascii_lowercase().ends_with(".zip") {
            Entry::Zip {
                student: name[..name.len() - 4].to_owned(),
                path,
            }
        } else {
            Entry::Other {
                why: if kind.is_symlink() {
                    "a symlink, not a folder or a .zip".into()
                } else {
                    "neither a folder nor a .zip".into()
                },
                student: name,
            }
        };
        entries.push(entry);
    }
    entries.sort_by(|a, b| a.student().cmp(b.student()));
    let ids: Vec<String> = entries.iter().map(|e| e.student().to_owned()).collect();
    for (index, entry) in entries.iter_mut().enumerate() {
        let twins = ids.iter().filter(|id| **id == ids[index]).count();
        if twins > 1 {
            *entry = Entry::Other {
                student: ids[index].clone(),
                why: format!(
                    "{twins} entries are named {:?} (a folder and a .zip, or names that differ only in bytes that are not UTF-8): keep one",
                    ids[index]
                ),
            };
        }
    }
    Ok(entries)
}

/// The SHA-256 of a submission: of the zip's bytes, or of a folder's paths, file modes, file
/// contents and symlink targets in a fixed order (`.git` left out, as the copy leaves it out).
/// It stops at the copy's caps: a submission that big is refused when it is graded anyway.
pub fn fingerprint(entry: &Entry) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    match entry {
        Entry::Zip { path, .. } => {
            let mut file = std::fs::File::open(path)?;
            std::io::copy(&mut file, &mut hasher)?;
        }
        Entry::Folder { path, .. } => {
            let mut budget = CopyLimits::default();
            hash_folder(path, Path::new(""), &mut hasher, &mut budget)?;
        }
        Entry::Other { .. } => {}
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

fn hash_folder(
    root: &Path,
    relative: &Path,
    hasher: &mut Sha256,
    budget: &mut CopyLimits,
) -> std::io::Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(root.join(relative))?
        .map(|item| item.map(|item| item.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        if name == ".git" || budget.max_entries == 0 {
            continue;
        }
        budget.max_entries -= 1;
        let path = relative.join(&name);
        let full = root.join(&path);
        let metadata = std::fs::symlink_metadata(&full)?;
        hasher.update(path.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        if metadata.is_dir() {
            hasher.update(b"dir\0");
            hash_folder(root, &path, hasher, budget)?;
        } else if metadata.is_symlink() {
            hasher.update(b"link\0");
            hasher.update(std::fs::read_link(&full)?.as_os_str().as_encoded_bytes());
        } else if metadata.is_file() {
            use std::os::unix::fs::PermissionsExt;
            hasher.update(format!(
                "file {:o} {}\0",
                metadata.permissions().mode() & 0o777,
                metadata.len()
            ));
            let take = metadata.len().min(budget.max_bytes);
            budget.max_bytes -= take;
            std::io::copy(&mut std::fs::File::open(&full)?.take(take), hasher)?;
        }
        // FIFOs, sockets and devices: named only, never opened (the copy refuses them).
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_entries_with_one_id_are_both_skipped() {
        let class = tempfile::tempdir().unwrap();
        std::fs::create_dir(class.path().join("alice")).unwrap();
        std::fs::write(class.path().join("alice.zip"), b"").unwrap();
        std::fs::create_dir(class.path().join("bob")).unwrap();
        let entries = entries(class.path(), None).unwrap();
        let skipped: Vec<&str> = entries
            .iter()
            .filter(|entry| matches!(entry, Entry::Other { .. }))
            .map(Entry::student)
            .collect();
        assert_eq!(skipped, ["alice", "alice"]);
        assert_eq!(entries.len(), 3);
    }

    #[test]
    fn a_fingerprint_changes_with_any_file_and_only_then() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("server.py"), "a").unwrap();
        let entry = Entry::Folder {
            student: "s".into(),
            path: folder.path().to_owned(),
        };
        let first = fingerprint(&entry).unwrap();
        assert_eq!(fingerprint(&entry).unwrap(), first);
        std::fs::create_dir(folder.path().join(".git")).unwrap();
        assert_eq!(
            fingerprint(&entry).unwrap(),
            first,
            ".git is not the submission"
        );
        std::fs::write(folder.path().join("server.py"), "b").unwrap();
        assert_ne!(fingerprint(&entry).unwrap(), first);
    }
}
