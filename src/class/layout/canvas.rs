//! Canvas's "Download Submissions": one flat folder of files renamed
//! `login_[LATE_]userid_submissionid_filename`. A student's files are gathered by user id and
//! given back their names: Canvas adds `-1`, `-2` … before the extension of a file handed in
//! again (`server-1.py`), and the latest is the one graded. A lone `.zip` is the submission.

use super::plain::is_zip;
use super::{Ignored, Item, Kind};
use crate::class::entry::{Entry, LooseFile, Material, Student};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// A name of a Canvas download, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Name<'a> {
    pub login: &'a str,
    pub late: bool,
    pub user: &'a str,
    pub file: &'a str,
}

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<login>[^_]+)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
        .expect("a valid pattern")
});

static RESUBMITTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<stem>.+)-(?P<again>\d+)(?P<extension>\.[^.]*)?$").expect("a valid pattern")
});

pub(super) fn parse(name: &str) -> Option<Name<'_>> {
    let found = PATTERN.captures(name)?;
    Some(Name {
        login: found.name("login")?.as_str(),
        late: found.name("late").is_some(),
        user: found.name("user")?.as_str(),
        file: found.name("file")?.as_str(),
    })
}

/// `server-1.py` → (`server.py`, 1); `server.py` → (`server.py`, 0).
fn handed_in_as(file: &str) -> (String, u32) {
    match RESUBMITTED.captures(file) {
        Some(found) => (
            format!(
                "{}{}",
                &found["stem"],
                found.name("extension").map_or("", |m| m.as_str())
            ),
            found["again"].parse().unwrap_or(0),
        ),
        None => (file.to_owned(), 0),
    }
}

/// A student's files by the name they were handed in with: the latest of each (the highest
/// `-N` Canvas added).
type Latest = BTreeMap<String, (u32, LooseFile)>;

pub(super) fn entries(items: &[Item]) -> (Vec<Entry>, Vec<Ignored>) {
    let mut students: BTreeMap<String, (Student, Latest)> = BTreeMap::new();
    let mut unusable = Vec::new();
    for item in items {
        let Some(name) = parse(&item.name).filter(|_| item.kind == Kind::File) else {
            unusable.push(Entry::unusable(
                &item.name,
                "not a file named as Canvas names a submission (login_userid_submissionid_filename)",
            ));
            continue;
        };
        let (student, files) = students.entry(name.user.to_owned()).or_insert_with(|| {
            (
                Student {
                    id: name.user.to_owned(),
                    name: Some(name.login.to_owned()),
                    ..Student::default()
                },
                BTreeMap::new(),
            )
        });
        student.late |= name.late;
        let (original, again) = handed_in_as(name.file);
        let newer = files.get(&original).is_none_or(|(kept, _)| again > *kept);
        if newer {
            let file = LooseFile {
                path: item.path.clone(),
                name: original.clone(),
            };
            files.insert(original, (again, file));
        }
    }
    let mut entries: Vec<Entry> = students
        .into_values()
        .map(|(who, files)| {
            let mut files: Vec<LooseFile> = files.into_values().map(|(_, file)| file).collect();
            let what = match files.as_slice() {
                [only] if is_zip(&only.name) => Material::Zip(only.path.clone()),
                _ => {
                    files.sort_by(|a, b| a.name.cmp(&b.name));
                    Material::Files(files)
                }
            };
            Entry { who, what }
        })
        .collect();
    entries.extend(unusable);
    (entries, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_handed_in_again_gets_its_name_back() {
        assert_eq!(handed_in_as("server-1.py"), ("server.py".into(), 1));
        assert_eq!(handed_in_as("server-12.py"), ("server.py".into(), 12));
        assert_eq!(handed_in_as("Makefile-2"), ("Makefile".into(), 2));
        assert_eq!(handed_in_as("server.py"), ("server.py".into(), 0));
        assert_eq!(
            parse("weili_LATE_12348_6789016_server-1.py"),
            Some(Name {
                login: "weili",
                late: true,
                user: "12348",
                file: "server-1.py"
            })
        );
    }
}
