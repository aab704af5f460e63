//! A folder or a `.zip` per student, named by the student: what `grade-class` has always read.

use super::{Item, Kind};
use crate::class::entry::{Entry, Material, Student};

pub(super) fn entries(items: &[Item]) -> Vec<Entry> {
    items
        .iter()
        .map(|item| match item.kind {
            Kind::Folder => Entry {
                who: Student::known_as(&item.name),
                what: Material::Folder(item.path.clone()),
            },
            Kind::File if is_zip(&item.name) => Entry {
                who: Student::known_as(&item.name[..item.name.len() - 4]),
                what: Material::Zip(item.path.clone()),
            },
            Kind::File => Entry::unusable(&item.name, "neither a folder nor a .zip"),
            Kind::Special => Entry::unusable(&item.name, "a symlink, not a folder or a .zip"),
        })
        .collect()
}

pub(super) fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}
