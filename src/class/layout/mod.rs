//! Which entries a class folder holds, as the course platform that made it lays them out:
//! a folder or zip per student ([`Layout::Plain`]), Moodle's "Download all submissions",
//! Canvas's "Download Submissions", Gradescope's "Export Submissions", or GitHub Classroom's
//! `gh classroom clone`. Each layout names its students by the platform's own id, with their
//! name where it gives one, gathers each student's files, and sets apart what is no
//! submission (online text, metadata) from what cannot be graded (listed, with why).

mod canvas;
mod classroom;
mod gradescope;
mod moodle;
mod plain;

use super::entry::{Entry, Material};
use std::path::{Path, PathBuf};

/// How a class folder is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// A folder or a `.zip` per student, named by the student.
    Plain,
    /// Moodle: `Full Name_123456_assignsubmission_file_/` (or its files loose, prefixed so).
    Moodle,
    /// Canvas: loose files `login_[LATE_]userid_submissionid_filename`.
    Canvas,
    /// Gradescope: `submission_ID/` folders and `submission_metadata.yml`.
    Gradescope,
    /// GitHub Classroom: a clone per student, `assignment-username/`, each with its `.git`.
    Classroom,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Moodle => "moodle",
            Self::Canvas => "canvas",
            Self::Gradescope => "gradescope",
            Self::Classroom => "classroom",
        }
    }
}

/// Something of the class folder that is no submission, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub name: String,
    pub what: &'static str,
}

/// What a class folder holds.
#[derive(Debug, Clone)]
pub struct Listing {
    pub layout: Layout,
    /// Sorted by student id; two with one id are both unusable.
    pub entries: Vec<Entry>,
    pub ignored: Vec<Ignored>,
}

/// One name of the class folder (hidden names and the results folder left out).
#[derive(Debug, Clone)]
struct Item {
    name: String,
    path: PathBuf,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Folder,
    File,
    /// A symlink, FIFO, socket or device: never followed or opened.
    Special,
}

/// The entries of the class `folder`, laid out as `layout` says, or as its names show.
pub fn list(
    folder: &Path,
    layout: Option<Layout>,
    leave_out: Option<&Path>,
) -> std::io::Result<Listing> {
    let items = items(folder, leave_out)?;
    let layout = layout.unwrap_or_else(|| detect(&items));
    let (mut entries, ignored) = match layout {
        Layout::Plain => (plain::entries(&items), Vec::new()),
        Layout::Moodle => moodle::entries(&items),
        Layout::Canvas => canvas::entries(&items),
        Layout::Gradescope => gradescope::entries(&items),
        Layout::Classroom => (classroom::entries(&items), Vec::new()),
    };
    entries.sort_by(|a, b| a.student().cmp(b.student()));
    one_entry_per_id(&mut entries);
    Ok(Listing {
        layout,
        entries,
        ignored,
    })
}

fn items(folder: &Path, leave_out: Option<&Path>) -> std::io::Result<Vec<Item>> {
    let leave_out = leave_out.and_then(|path| path.canonicalize().ok());
    let mut items = Vec::new();
    for item in std::fs::read_dir(folder)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = item.path();
        if name.starts_with('.') || name == "__MACOSX" {
            continue;
        }
        if leave_out.is_some() && path.canonicalize().ok() == leave_out {
            continue;
        }
        // Not followed: a symlink in a class folder is not a submission.
        let kind = item.file_type()?;
        let kind = if kind.is_dir() {
            Kind::Folder
        } else if kind.is_file() {
            Kind::File
        } else {
            Kind::Special
        };
        items.push(Item { name, path, kind });
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(items)
}

/// The layout the names show: Gradescope's metadata file, Moodle's `_assignsubmission_`
/// names, Canvas's `login_userid_submissionid_` files, clones that each hold `.git`; else plain.
fn detect(items: &[Item]) -> Layout {
    if items.iter().any(|item| item.name == gradescope::METADATA) {
        return Layout::Gradescope;
    }
    if items.iter().any(|item| moodle::parse(&item.name).is_some()) {
        return Layout::Moodle;
    }
    let files: Vec<&Item> = items
        .iter()
        .filter(|item| item.kind == Kind::File)
        .collect();
    let canvas = files
        .iter()
        .filter(|item| canvas::parse(&item.name).is_some())
        .count();
    if canvas > 0 && canvas * 2 >= files.len() {
        return Layout::Canvas;
    }
    let folders: Vec<&Item> = items
        .iter()
        .filter(|item| item.kind == Kind::Folder)
        .collect();
    if !folders.is_empty() && folders.iter().all(|item| item.path.join(".git").exists()) {
        return Layout::Classroom;
    }
    Layout::Plain
}

/// Two entries with one id (`alice/` and `alice.zip`, or two names that differ only in bytes
/// that are not UTF-8) are both unusable: neither can be told from the other.
fn one_entry_per_id(entries: &mut [Entry]) {
    let ids: Vec<String> = entries.iter().map(|e| e.student().to_owned()).collect();
    for (index, entry) in entries.iter_mut().enumerate() {
        let twins = ids.iter().filter(|id| **id == ids[index]).count();
        if twins > 1 {
            entry.what = Material::Unusable(format!(
                "{twins} entries have the id {:?} (a folder and a .zip, or names that differ only in bytes that are not UTF-8): keep one",
                ids[index]
            ));
        }
    }
}

#[cfg(test)]
mod tests;
