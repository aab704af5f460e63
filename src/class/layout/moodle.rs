//! Moodle's "Download all submissions": a folder per student and plugin,
//! `Full Name_123456_assignsubmission_file_/`, or (without "in folders") the files loose,
//! `Full Name_123456_assignsubmission_file_server.py`. The number is the participant id (the
//! grading worksheet's `Participant 123456`); `onlinetext` and other plugins are no submission.

use super::{Ignored, Item, Kind};
use crate::class::entry::{Entry, LooseFile, Material, Student};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// A name of a Moodle download, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Name<'a> {
    pub full_name: &'a str,
    pub participant: &'a str,
    pub plugin: &'a str,
    /// The file's own name, for a loose file; empty for a folder.
    pub rest: &'a str,
}

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_(?P<plugin>[a-z]+)_(?P<rest>.*)$")
        .expect("a valid pattern")
});

pub(super) fn parse(name: &str) -> Option<Name<'_>> {
    let found = PATTERN.captures(name)?;
    Some(Name {
        full_name: found.name("name")?.as_str(),
        participant: found.name("id")?.as_str(),
        plugin: found.name("plugin")?.as_str(),
        rest: found.name("rest")?.as_str(),
    })
}

pub(super) fn entries(items: &[Item]) -> (Vec<Entry>, Vec<Ignored>) {
    let mut students: BTreeMap<String, (Student, Vec<&Item>, Vec<LooseFile>)> = BTreeMap::new();
    let mut ignored = Vec::new();
    let mut unusable = Vec::new();
    for item in items {
        let Some(name) = parse(&item.name) else {
            unusable.push(Entry::unusable(
                &item.name,
                "not named as Moodle names a submission (Full Name_ID_assignsubmission_file_)",
            ));
            continue;
        };
        if name.plugin != "file" {
            ignored.push(Ignored {
                name: item.name.clone(),
                what: "Moodle's online text or feedback, no submitted file",
            });
            continue;
        }
        let (_, folders, files) =
            students
                .entry(name.participant.to_owned())
                .or_insert_with(|| {
                    (
                        Student {
                            id: name.participant.to_owned(),
                            name: Some(name.full_name.to_owned()),
                            ..Student::default()
                        },
                        Vec::new(),
                        Vec::new(),
                    )
                });
        match item.kind {
            Kind::Folder if name.rest.is_empty() => folders.push(item),
            Kind::File if !name.rest.is_empty() => files.push(LooseFile {
                path: item.path.clone(),
                name: name.rest.to_owned(),
            }),
            _ => unusable.push(Entry::unusable(&item.name, "neither a folder nor a file")),
        }
    }
    let mut entries: Vec<Entry> = students
        .into_values()
        .map(|(who, folders, files)| {
            let what = match (folders.as_slice(), files.is_empty()) {
                ([folder], true) => Material::Folder(folder.path.clone()),
                ([], false) => Material::Files(files),
                _ => Material::Unusable(
                    "Moodle gave both a folder and loose files for this participant: download again with one of the two".into(),
                ),
            };
            Entry { who, what }
        })
        .collect();
    entries.extend(unusable);
    (entries, ignored)
}
