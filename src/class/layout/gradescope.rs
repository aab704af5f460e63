//! Gradescope's "Export Submissions": a folder `submission_ID/` per submission and
//! `submission_metadata.yml`, which names each one's submitters (`:name:`, `:sid:`, `:email:`).
//! A student is known by their SID (else their email, else the submission's id); a group's
//! submission by its first submitter, the others named beside.

use super::{Ignored, Item, Kind};
use crate::class::entry::{Entry, Material, Student};

/// The metadata file's name.
pub(super) const METADATA: &str = "submission_metadata.yml";

/// The most of the metadata file read: a few hundred bytes a submission.
const MAX_METADATA: u64 = 64 << 20;

pub(super) fn entries(items: &[Item]) -> (Vec<Entry>, Vec<Ignored>) {
    let mut ignored = Vec::new();
    let metadata = items
        .iter()
        .find(|item| item.name == METADATA && item.kind == Kind::File)
        .and_then(|item| read(&item.path));
    let mut entries = Vec::new();
    for item in items {
        if item.name == METADATA {
            if metadata.is_some() {
                ignored.push(Ignored {
                    name: item.name.clone(),
                    what: "Gradescope's metadata, which names the students",
                });
            } else {
                // Said, never passed over: without it every student is known by a number.
                entries.push(Entry::unusable(
                    &item.name,
                    "Gradescope's metadata cannot be read as YAML: the students are named by their submissions' ids; export the submissions again",
                ));
            }
            continue;
        }
        if item.kind != Kind::Folder || !item.name.starts_with("submission_") {
            entries.push(Entry::unusable(
                &item.name,
                "not a submission_ID folder of a Gradescope export",
            ));
            continue;
        }
        let submitters = metadata
            .as_ref()
            .map(|metadata| submitters(metadata, &item.name))
            .unwrap_or_default();
        entries.push(Entry {
            who: student(&item.name, &submitters),
            what: Material::Folder(item.path.clone()),
        });
    }
    (entries, ignored)
}

/// One submitter of a submission, as the metadata names them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Submitter {
    name: Option<String>,
    sid: Option<String>,
    email: Option<String>,
}

fn read(path: &std::path::Path) -> Option<serde_yaml_ng::Value> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_METADATA)
        .read_to_string(&mut text)
        .ok()?;
    serde_yaml_ng::from_str(&text).ok()
}

fn submitters(metadata: &serde_yaml_ng::Value, submission: &str) -> Vec<Submitter> {
    let text = |value: &serde_yaml_ng::Value| match value {
        serde_yaml_ng::Value::String(text) if !text.trim().is_empty() => {
            Some(text.trim().to_owned())
        }
        serde_yaml_ng::Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    metadata
        .get(submission)
        .and_then(|submission| submission.get(":submitters"))
        .and_then(serde_yaml_ng::Value::as_sequence)
        .map(|submitters| {
            submitters
                .iter()
                .map(|submitter| Submitter {
                    name: submitter.get(":name").and_then(text),
                    sid: submitter.get(":sid").and_then(text),
                    email: submitter.get(":email").and_then(text),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn student(submission: &str, submitters: &[Submitter]) -> Student {
    let Some(first) = submitters.first() else {
        return Student::known_as(submission);
    };
    let names: Vec<&str> = submitters
        .iter()
        .filter_map(|submitter| submitter.name.as_deref())
        .collect();
    Student {
        id: first
            .sid
            .clone()
            .or_else(|| first.email.clone())
            .unwrap_or_else(|| submission.to_owned()),
        name: (!names.is_empty()).then(|| names.join(" & ")),
        email: first.email.clone(),
        ..Student::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_names_each_submission_s_students() {
        let metadata: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "submission_100:\n  :submitters:\n  - :name: José Núñez\n    :sid: '2024001'\n    :email: jose@example.edu\n  :created_at: 2026-11-30 10:00:00.000000000 -08:00\nsubmission_200:\n  :submitters:\n  - :name: Pair One\n    :sid: 201\n    :email: one@example.edu\n  - :name: Pair Two\n    :sid: '202'\n",
        )
        .unwrap();
        let jose = student("submission_100", &submitters(&metadata, "submission_100"));
        assert_eq!(jose.id, "2024001");
        assert_eq!(jose.name.as_deref(), Some("José Núñez"));
        assert_eq!(jose.email.as_deref(), Some("jose@example.edu"));
        let pair = student("submission_200", &submitters(&metadata, "submission_200"));
        assert_eq!(
            (pair.id.as_str(), pair.name.as_deref()),
            ("201", Some("Pair One & Pair Two"))
        );
        assert_eq!(student("submission_300", &[]).id, "submission_300");
    }

    #[test]
    fn metadata_that_cannot_be_read_is_named_not_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("submission_100")).unwrap();
        std::fs::write(dir.path().join(METADATA), ":submitters: [unclosed").unwrap();
        let listing = super::super::list(dir.path(), None, None).unwrap();
        let unusable: Vec<&str> = listing
            .entries
            .iter()
            .filter(|entry| matches!(entry.what, Material::Unusable(_)))
            .map(Entry::student)
            .collect();
        assert_eq!(unusable, [METADATA]);
        assert!(listing.ignored.is_empty());
    }
}
