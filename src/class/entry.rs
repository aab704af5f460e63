//! One entry of a class: who handed it in (the platform's id for the student, their name where
//! the platform gives one, whether it came late, the commit graded) and what they handed in (a
//! folder, a zip, or loose files a platform renamed), and its fingerprint, so that an unchanged
//! submission is not graded twice. Which entries a class folder holds is [`super::layout`]'s.

use crate::submission::CopyLimits;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A student, as their platform knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Student {
    /// The platform's own id (Moodle's participant number, Canvas's user id, the SID, the
    /// GitHub user, or the entry's name): unique in the class, and the name of its files.
    pub id: String,
    /// Their name, where the platform gives it.
    pub name: Option<String>,
    /// Where the platform gives it, their email.
    pub email: Option<String>,
    /// Whether the platform marked the submission late.
    pub late: bool,
    /// For a repository, the commit graded.
    pub commit: Option<String>,
}

impl Student {
    /// A student known by `id` alone.
    pub fn known_as(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }
}

/// A file a platform handed out loose, and the name it had when the student handed it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LooseFile {
    pub path: PathBuf,
    pub name: String,
}

/// What a student handed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    Folder(PathBuf),
    Zip(PathBuf),
    /// Files the platform gave loose (Canvas, Moodle without folders), gathered into a folder
    /// of their own names before grading.
    Files(Vec<LooseFile>),
    /// Nothing that can be graded: listed as skipped, with why.
    Unusable(String),
}

/// One entry of the class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub who: Student,
    pub what: Material,
}

impl Entry {
    pub fn student(&self) -> &str {
        &self.who.id
    }

    /// An entry known only by `id` that cannot be graded, for `why`.
    pub fn unusable(id: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            who: Student::known_as(id),
            what: Material::Unusable(why.into()),
        }
    }
}

/// The SHA-256 of a submission: of the zip's bytes, of a folder's paths, file modes, file
/// contents and symlink targets in a fixed order (`.git` left out, as the copy leaves it out),
/// or of loose files' names and contents.
/// It stops at the copy's caps: a submission that big is refused when it is graded anyway.
pub fn fingerprint(entry: &Entry) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    match &entry.what {
        Material::Zip(path) => {
            let mut file = std::fs::File::open(path)?;
            std::io::copy(&mut file, &mut hasher)?;
        }
        Material::Folder(path) => {
            let mut budget = CopyLimits::default();
            hash_folder(path, Path::new(""), &mut hasher, &mut budget)?;
        }
        Material::Files(files) => {
            let mut budget = CopyLimits::default();
            let mut files: Vec<&LooseFile> = files.iter().collect();
            files.sort_by(|a, b| a.name.cmp(&b.name));
            for file in files {
                hasher.update(file.name.as_bytes());
                hasher.update([0]);
                let take = std::fs::metadata(&file.path)?.len().min(budget.max_bytes);
                budget.max_bytes -= take;
                std::io::copy(
                    &mut std::fs::File::open(&file.path)?.take(take),
                    &mut hasher,
                )?;
            }
        }
        Material::Unusable(_) => {}
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
    fn a_fingerprint_changes_with_any_file_and_only_then() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("server.py"), "a").unwrap();
        let entry = Entry {
            who: Student::known_as("s"),
            what: Material::Folder(folder.path().to_owned()),
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
