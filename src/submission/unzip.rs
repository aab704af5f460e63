//! A student's `.zip` unpacked as safely as a folder is copied ([`super::copy`]): within the
//! same caps, counted on what is unpacked rather than on what the zip claims; only files and
//! folders made; nothing written outside the folder it unpacks to.

use super::CopyLimits;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum UnzipError {
    #[error("cannot read the zip {}: {source}; is it a .zip file?", .path.display())]
    Read {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error(
        "the zip holds `{name}`, a path that leads outside the folder it unpacks to: zip the submission's folder itself"
    )]
    Escapes { name: String },
    #[error(
        "the zip holds more than {limit} entries: leave out what the server does not need to run, such as build output or a virtual environment"
    )]
    TooManyEntries { limit: u64 },
    #[error("the zip unpacks to more than {} MiB (at `{name}`): leave out what the server does not need to run, such as data or a virtual environment", .limit >> 20)]
    TooManyBytes { limit: u64, name: String },
    #[error("cannot unpack `{name}` from the zip: {source}")]
    Write {
        name: String,
        source: std::io::Error,
    },
}

/// Unpacks the zip at `path` into the empty folder `into`, within the copy's caps (counted on
/// the bytes actually unpacked, not on what the zip claims). Only files and folders are made;
/// symlinks and other special entries are left out, and a path that would lead outside
/// refuses the whole zip. A zip of the submission's folder is graded inside that folder, as
/// a folder of one folder is ([`super::unwrapped`], where the grading takes its folder).
pub fn unzip(path: &Path, into: &Path) -> Result<(), UnzipError> {
    unzip_within(path, into, CopyLimits::default())
}

/// [`unzip`] within `limits` rather than a submission's (a whole class's zip holds more).
pub fn unzip_within(path: &Path, into: &Path, limits: CopyLimits) -> Result<(), UnzipError> {
    let read_error = |source| UnzipError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(|e| read_error(e.into()))?;
    // Before the zip's index is read (it takes memory per entry): its size, and how many
    // entries its index can hold at most, counted on the file itself (an end record may lie,
    // or be one of several).
    let size = file.metadata().map_err(|e| read_error(e.into()))?.len();
    if size > limits.max_bytes {
        return Err(UnzipError::TooManyBytes {
            limit: limits.max_bytes,
            name: "the zip itself".into(),
        });
    }
    let headers = central_headers(&mut file).map_err(|e| read_error(e.into()))?;
    if headers > limits.max_entries {
        return Err(UnzipError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let mut archive = zip::ZipArchive::new(file).map_err(read_error)?;
    if archive.len() as u64 > limits.max_entries {
        return Err(UnzipError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let mut item = archive.by_index(index).map_err(read_error)?;
        let name = item.name().to_owned();
        let write_error = |source| UnzipError::Write {
            name: name.clone(),
            source,
        };
        let relative = item
            .enclosed_name()
            .filter(|relative| {
                relative
                    .components()
                    .all(|part| matches!(part, Component::Normal(_)))
            })
            .ok_or_else(|| UnzipError::Escapes { name: name.clone() })?;
        if relative
            .components()
            .any(|part| part.as_os_str() == "__MACOSX")
        {
            continue;
        }
        let target = into.join(&relative);
        if item.is_dir() {
            std::fs::create_dir_all(&target).map_err(write_error)?;
            continue;
        }
        if item.is_symlink() || !item.is_file() {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(write_error)?;
        }
        let mut out = std::fs::File::create(&target).map_err(write_error)?;
        let room = limits.max_bytes - unpacked;
        let written =
            std::io::copy(&mut (&mut item).take(room + 1), &mut out).map_err(write_error)?;
        if written > room {
            return Err(UnzipError::TooManyBytes {
                limit: limits.max_bytes,
                name,
            });
        }
        unpacked += written;
        if let Some(mode) = item.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let _ =
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o755));
        }
    }
    Ok(())
}

/// How many central-directory headers (`PK\x01\x02`) the file holds: no zip reader can list
/// more entries than that, whatever its end-of-central-directory record states. Read in
/// chunks, the file's length bounded by the caller.
fn central_headers(file: &mut std::fs::File) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    const SIGNATURE: &[u8; 4] = b"PK\x01\x02";
    let mut count = 0;
    let mut chunk = vec![0u8; 1 << 20];
    // The last bytes of the previous chunk, so that a signature across two chunks is found.
    let mut carried = 0;
    loop {
        let read = file.read(&mut chunk[carried..])?;
        if read == 0 {
            break;
        }
        let filled = carried + read;
        count += chunk[..filled]
            .windows(SIGNATURE.len())
            .filter(|window| window == SIGNATURE)
            .count() as u64;
        carried = (SIGNATURE.len() - 1).min(filled);
        chunk.copy_within(filled - carried..filled, 0);
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, bytes) in files {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
        file
    }

    #[test]
    fn a_zip_whose_end_record_lies_is_refused_before_its_index_is_read() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        for entry in 0..12_000 {
            writer
                .start_file(format!("{entry}"), zip::write::SimpleFileOptions::default())
                .unwrap();
        }
        // The comment ends with an end record of its own, stating 5 entries: found last, it is
        // the one a search from the end meets first.
        let mut fake = b"PK\x05\x06".to_vec();
        fake.extend([0, 0, 0, 0, 5, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        writer.set_raw_comment(fake.into_boxed_slice());
        writer.finish().unwrap();

        let mut opened = std::fs::File::open(file.path()).unwrap();
        assert_eq!(central_headers(&mut opened).unwrap(), 12_000);
        let into = tempfile::tempdir().unwrap();
        let error = unzip(file.path(), into.path()).unwrap_err();
        assert!(
            matches!(error, UnzipError::TooManyEntries { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_zip_of_one_folder_unpacks_to_a_wrapper_of_that_folder() {
        let zip = zip_of(&[("alice/server.py", b"print(1)"), ("alice/data/x.txt", b"x")]);
        let into = tempfile::tempdir().unwrap();
        unzip(zip.path(), into.path()).unwrap();
        let root = super::super::unwrapped(into.path());
        assert_eq!(root, into.path().join("alice"));
        assert_eq!(std::fs::read(root.join("server.py")).unwrap(), b"print(1)");
    }

    #[test]
    fn a_path_that_leads_outside_refuses_the_zip() {
        let zip = zip_of(&[("../../evil.py", b"x")]);
        let into = tempfile::tempdir().unwrap();
        let error = unzip(zip.path(), into.path()).unwrap_err();
        assert!(matches!(error, UnzipError::Escapes { .. }), "{error}");
    }

    #[test]
    fn the_byte_cap_counts_what_is_unpacked() {
        // 60 MiB of zeros compress to a few KiB: the cap must not trust the zip's own sizes.
        let zeros = vec![0u8; 60 << 20];
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("bomb.bin", options).unwrap();
        writer.write_all(&zeros).unwrap();
        writer.finish().unwrap();
        let into = tempfile::tempdir().unwrap();
        let error = unzip(file.path(), into.path()).unwrap_err();
        assert!(matches!(error, UnzipError::TooManyBytes { .. }), "{error}");
    }

    #[test]
    fn a_zip_that_states_too_many_entries_is_refused_before_its_index_is_read() {
        let files: Vec<(String, &[u8])> = (0..10_001)
            .map(|i| (format!("f{i}"), b"".as_slice()))
            .collect();
        let named: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(name, bytes)| (name.as_str(), *bytes))
            .collect();
        let zip = zip_of(&named);
        let into = tempfile::tempdir().unwrap();
        let error = unzip(zip.path(), into.path()).unwrap_err();
        assert!(
            matches!(error, UnzipError::TooManyEntries { .. }),
            "{error}"
        );
        assert_eq!(
            std::fs::read_dir(into.path()).unwrap().count(),
            0,
            "nothing unpacked"
        );
    }
}
