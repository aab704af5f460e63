//! The state as one JSON file, replaced atomically at every save.

use super::{SessionRecord, State, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

const FORMAT_VERSION: u64 = 1;

/// The on-disk form: the state plus a format version, so a later format can migrate
/// explicitly. The fields are spelled out rather than `#[serde(flatten)]`ed: flattening makes
/// serde buffer the whole document in an intermediate tree, tripling the cost of a load.
#[derive(Serialize)]
struct OnDisk<'a> {
    version: u64,
    hits: u64,
    sessions: &'a [SessionRecord],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDiskOwned {
    version: u64,
    hits: u64,
    sessions: Vec<SessionRecord>,
}

/// A [`Store`] in a single JSON file.
#[derive(Debug, Clone)]
pub struct JsonFileStore {
    path: PathBuf,
}

impl JsonFileStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory the file lives in; the temp file must be there for `rename` to be atomic.
    fn directory(&self) -> &Path {
        crate::atomic_file::directory_of(&self.path)
    }

    fn write_error(&self, cause: std::io::Error) -> StoreError {
        StoreError::Write {
            path: self.path.clone(),
            cause,
        }
    }
}

impl Store for JsonFileStore {
    fn load(&self) -> Result<Option<State>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(cause) => {
                return Err(StoreError::Read {
                    path: self.path.clone(),
                    cause,
                });
            }
        };
        let on_disk: OnDiskOwned =
            serde_json::from_slice(&bytes).map_err(|cause| StoreError::Corrupt {
                path: self.path.clone(),
                cause,
            })?;
        if on_disk.hits > super::MAX_HITS {
            return Err(StoreError::ImplausibleHits {
                path: self.path.clone(),
                hits: on_disk.hits,
            });
        }
        if on_disk.version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: self.path.clone(),
                found: on_disk.version,
                expected: FORMAT_VERSION,
            });
        }
        Ok(Some(State {
            hits: on_disk.hits,
            sessions: on_disk.sessions,
        }))
    }

    /// Temp file in the same directory, fsync, rename over the old file, fsync the directory:
    /// a crash at any point leaves either the old file or the new one, never a torn one.
    fn save(&self, state: &State) -> Result<(), StoreError> {
        crate::atomic_file::replace(&self.path, |writer| {
            let on_disk = OnDisk {
                version: FORMAT_VERSION,
                // Saturated here rather than in the counter (which a hit must not slow down):
                // what is saved always loads again.
                hits: state.hits.min(super::MAX_HITS),
                sessions: &state.sessions,
            };
            serde_json::to_writer(writer, &on_disk).map_err(std::io::Error::from)
        })
        .map_err(|e| self.write_error(e))
    }

    /// Removes the temp files of saves a kill interrupted (each holds a copy of the state,
    /// live session ids included), then proves a temp file can be made beside the file.
    fn prepare_to_save(&self) -> Result<(), StoreError> {
        if self.path.is_dir() {
            return Err(self.write_error(std::io::Error::new(
                ErrorKind::IsADirectory,
                "it is a directory",
            )));
        }
        // Best effort: a leftover that cannot be removed is named, never a reason not to start.
        match crate::atomic_file::remove_stale_temp_files(&self.path) {
            Ok((removed, left)) => {
                if removed > 0 {
                    tracing::warn!(
                        removed,
                        path = %self.path.display(),
                        "removed temp files that an interrupted save left beside the state file"
                    );
                }
                if !left.is_empty() {
                    tracing::warn!(
                        ?left,
                        "temp files of the state file that this user cannot remove; they may hold session ids"
                    );
                }
            }
            // A missing folder is the writability check's to report, just below.
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(%error, "cannot look for stale temp files of the state file")
            }
        }
        tempfile::NamedTempFile::new_in(self.directory())
            .map(drop)
            .map_err(|e| self.write_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        State {
            hits: 42,
            sessions: vec![SessionRecord {
                id: "abc".into(),
                user: "alice".into(),
                last_seen: 1_700_000_000,
            }],
        }
    }

    #[test]
    fn a_missing_file_is_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileStore::new(dir.path().join("sessions.json"));
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileStore::new(dir.path().join("sessions.json"));
        store.save(&sample()).unwrap();
        store.save(&sample()).unwrap();
        assert_eq!(store.load().unwrap(), Some(sample()));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the state file remains: {names:?}");
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_and_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        std::fs::write(&path, b"{\"version\": 1, \"hits\": ").unwrap();
        let error = JsonFileStore::new(&path).load().unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        assert!(
            error.to_string().contains(path.to_str().unwrap()),
            "{error}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"{\"version\": 1, \"hits\": "
        );
    }

    #[test]
    fn a_hit_count_no_server_could_reach_is_refused_not_wrapped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        let text = format!(r#"{{"version": 1, "hits": {}, "sessions": []}}"#, u64::MAX);
        std::fs::write(&path, &text).unwrap();
        let error = JsonFileStore::new(&path).load().unwrap_err();
        assert!(
            matches!(error, StoreError::ImplausibleHits { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains(path.to_str().unwrap()),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        std::fs::write(&path, br#"{"version": 9, "hits": 1, "sessions": []}"#).unwrap();
        let error = JsonFileStore::new(&path).load().unwrap_err();
        assert!(
            matches!(error, StoreError::UnsupportedVersion { found: 9, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_directory_in_place_of_the_file_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let error = JsonFileStore::new(dir.path())
            .prepare_to_save()
            .unwrap_err();
        assert!(error.to_string().contains("directory"), "{error}");
    }
}
