//! Each platform's download as the platform makes it, with the names people have: spaces,
//! accents, two students of one name, a late one, a resubmission, online text, metadata.

use super::*;
use crate::class::entry::Student;

fn class(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let path = dir.path().join(name);
        if let Some(folder) = name.strip_suffix('/') {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        } else {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, name.as_bytes()).unwrap();
        }
    }
    dir
}

fn who(listing: &Listing) -> Vec<(String, Option<String>, bool)> {
    listing
        .entries
        .iter()
        .filter(|entry| !matches!(entry.what, Material::Unusable(_)))
        .map(|entry| (entry.who.id.clone(), entry.who.name.clone(), entry.who.late))
        .collect()
}

#[test]
fn moodle_folders_are_participants_and_online_text_is_no_submission() {
    let dir = class(&[
        "Zoë Ångström_104211_assignsubmission_file_/server.py",
        "Zoë Ångström_104211_assignsubmission_onlinetext_/onlinetext.html",
        "Wei Li_104212_assignsubmission_file_/solution.zip",
        "Wei Li_104219_assignsubmission_file_/server.js",
    ]);
    let listing = list(dir.path(), None, None).unwrap();
    assert_eq!(listing.layout, Layout::Moodle);
    assert_eq!(
        who(&listing),
        [
            ("104211".into(), Some("Zoë Ångström".into()), false),
            ("104212".into(), Some("Wei Li".into()), false),
            ("104219".into(), Some("Wei Li".into()), false),
        ]
    );
    assert_eq!(listing.ignored.len(), 1);
    assert!(listing.ignored[0].name.contains("onlinetext"));
}

#[test]
fn moodle_files_without_folders_are_gathered_per_participant() {
    let dir = class(&[
        "Ana Silva_7_assignsubmission_file_server.py",
        "Ana Silva_7_assignsubmission_file_README.md",
    ]);
    let listing = list(dir.path(), None, None).unwrap();
    let Material::Files(files) = &listing.entries[0].what else {
        panic!("{listing:?}");
    };
    let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
    assert_eq!(names, ["README.md", "server.py"]);
}

#[test]
fn canvas_files_are_gathered_by_user_keep_late_and_get_their_names_back() {
    let dir = class(&[
        "weili_12348_6789016_solution.zip",
        "anasilva_LATE_12349_6789017_server-1.py",
        "anasilva_LATE_12349_6789017_server.py",
        "anasilva_LATE_12349_6789017_state.py",
        "jdoe_12350_6789018_server.py",
        "jdoe2_12351_6789019_server.py",
    ]);
    let listing = list(dir.path(), None, None).unwrap();
    assert_eq!(listing.layout, Layout::Canvas);
    assert_eq!(
        who(&listing),
        [
            ("12348".into(), Some("weili".into()), false),
            ("12349".into(), Some("anasilva".into()), true),
            ("12350".into(), Some("jdoe".into()), false),
            ("12351".into(), Some("jdoe2".into()), false),
        ]
    );
    assert!(matches!(listing.entries[0].what, Material::Zip(_)));
    let Material::Files(files) = &listing.entries[1].what else {
        panic!("{listing:?}");
    };
    let kept: Vec<(&str, bool)> = files
        .iter()
        .map(|file| {
            (
                file.name.as_str(),
                file.path
                    .ends_with("anasilva_LATE_12349_6789017_server-1.py"),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [("server.py", true), ("state.py", false)],
        "the latest server.py"
    );
}

#[test]
fn gradescope_submissions_are_students_by_sid_and_the_metadata_is_no_submission() {
    let dir = class(&["submission_100/server.py", "submission_200/app.py"]);
    std::fs::write(
        dir.path().join("submission_metadata.yml"),
        "submission_100:\n  :submitters:\n  - :name: José Núñez\n    :sid: '2024001'\n    :email: jose@example.edu\nsubmission_200:\n  :submitters:\n  - :name: Kim Lee\n    :sid: '2024002'\n",
    )
    .unwrap();
    let listing = list(dir.path(), None, None).unwrap();
    assert_eq!(listing.layout, Layout::Gradescope);
    assert_eq!(
        who(&listing),
        [
            ("2024001".into(), Some("José Núñez".into()), false),
            ("2024002".into(), Some("Kim Lee".into()), false),
        ]
    );
    assert_eq!(
        listing.entries[0].who.email.as_deref(),
        Some("jose@example.edu")
    );
    assert_eq!(listing.ignored[0].name, "submission_metadata.yml");
}

#[test]
fn classroom_clones_are_users_without_the_assignment_and_with_their_commit() {
    let dir = class(&["hw3-alice/server.py", "hw3-bob/server.py"]);
    for user in ["alice", "bob"] {
        let git = dir.path().join(format!("hw3-{user}/.git"));
        std::fs::create_dir_all(&git).unwrap();
        std::fs::write(
            git.join("HEAD"),
            "0123456789abcdef0123456789abcdef01234567\n",
        )
        .unwrap();
    }
    let listing = list(dir.path(), None, None).unwrap();
    assert_eq!(listing.layout, Layout::Classroom);
    assert_eq!(
        listing.entries[0].who,
        Student {
            id: "alice".into(),
            name: Some("alice".into()),
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            ..Student::default()
        }
    );
}

#[test]
fn a_plain_class_is_what_it_always_was_and_two_entries_of_one_id_are_both_unusable() {
    let dir = class(&["alice/server.py", "alice.zip", "bob/server.py", "notes.txt"]);
    let listing = list(dir.path(), None, None).unwrap();
    assert_eq!(listing.layout, Layout::Plain);
    let unusable: Vec<&str> = listing
        .entries
        .iter()
        .filter(|entry| matches!(entry.what, Material::Unusable(_)))
        .map(Entry::student)
        .collect();
    assert_eq!(unusable, ["alice", "alice", "notes.txt"]);
    assert_eq!(listing.entries.len(), 4);
}

#[test]
fn a_layout_can_be_forced() {
    let dir = class(&["Ana Silva_7_assignsubmission_file_/server.py"]);
    let listing = list(dir.path(), Some(Layout::Plain), None).unwrap();
    assert_eq!(
        listing.entries[0].who.id,
        "Ana Silva_7_assignsubmission_file_"
    );
}
