//! The state as one JSON file, replaced atomically at every save, and beside it a small
//! record of the hit count (`NAME.hits`), replaced alone when only hits came in.

use super::{SessionRecord, SnapshotStore, State, StoreError};
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

/// The hit record: the count alone, with the same format version.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HitRecord {
    version: u64,
    hits: u64,
}

/// A [`SnapshotStore`] in a JSON file (and its hit record).
#[derive(Debug, Clone)]
pub struct JsonFileStore {
    path: PathBuf,
    hits_path: PathBuf,
}

impl JsonFileStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut hits_path = path.clone().into_os_string();
        hits_path.push(".hits");
        Self {
            path,
            hits_path: hits_path.into(),
        }
    }

    /// The file that holds the latest hit count when only hits changed.
    pub fn hits_path(&self) -> &Path {
        &self.hits_path
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

    /// The bytes of `path`, `None` when it does not exist.
    fn read(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(cause) => Err(StoreError::Read {
                path: path.to_owned(),
                cause,
            }),
        }
    }

    /// What to do about a damaged `path` (the state file or its hit record), which was left
    /// as it was.
    fn advice(&self, path: &Path) -> String {
        if path == self.hits_path {
            format!(
                "repair it, or move it away to go back to the count in {} (losing the hits since that was saved)",
                self.path.display()
            )
        } else {
            format!(
                "repair it, or move it and {} away to start afresh",
                self.hits_path.display()
            )
        }
    }

    /// Parses and checks what `path` holds: its format version, and a hit count a server
    /// could have reached.
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        path: &Path,
        bytes: &[u8],
        version_and_hits: impl Fn(&T) -> (u64, u64),
    ) -> Result<T, StoreError> {
        let parsed: T = serde_json::from_slice(bytes).map_err(|cause| StoreError::Corrupt {
            path: path.to_owned(),
            cause,
            advice: self.advice(path),
        })?;
        let (version, hits) = version_and_hits(&parsed);
        if hits > super::MAX_HITS {
            return Err(StoreError::ImplausibleHits {
                path: path.to_owned(),
                hits,
                advice: self.advice(path),
            });
        }
        if version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: path.to_owned(),
                found: version,
                expected: FORMAT_VERSION,
                advice: self.advice(path),
            });
        }
        Ok(parsed)
    }

    /// Removes the temp files of saves a kill interrupted beside `path`. Best effort: a
    /// leftover that cannot be removed is named, never a reason not to start.
    fn remove_stale_temp_files(path: &Path) {
        match crate::atomic_file::remove_stale_temp_files(path) {
            Ok((removed, left)) => {
                if removed > 0 {
                    tracing::warn!(
                        removed,
                        path = %path.display(),
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
            // A missing folder is the writability check's to report.
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(%error, "cannot look for stale temp files of the state file")
            }
        }
    }
}

impl SnapshotStore for JsonFileStore {
    fn load(&self) -> Result<Option<State>, StoreError> {
        let state = match Self::read(&self.path)? {
            Some(bytes) => Some(self.parse(&self.path, &bytes, |on_disk: &OnDiskOwned| {
                (on_disk.version, on_disk.hits)
            })?),
            None => None,
        };
        let record = match Self::read(&self.hits_path)? {
            Some(bytes) => Some(self.parse(&self.hits_path, &bytes, |record: &HitRecord| {
                (record.version, record.hits)
            })?),
            None => None,
        };
        Ok(match (state, record) {
            (None, None) => None,
            (state, record) => {
                let (hits, sessions) = state.map_or((0, Vec::new()), |s| (s.hits, s.sessions));
                Some(State {
                    // Both only grow: the larger is the later.
                    hits: hits.max(record.map_or(0, |r| r.hits)),
                    sessions,
                })
            }
        })
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
        .map_err(|e| self.write_error(e))?;
        // The file now holds the latest count: the hit record is superseded. Left behind (a
        // kill right here), it is harmless, since loading takes the larger count.
        match std::fs::remove_file(&self.hits_path) {
            Err(error) if error.kind() != ErrorKind::NotFound => Err(StoreError::Write {
                path: self.hits_path.clone(),
                cause: error,
            }),
            _ => Ok(()),
        }
    }

    fn save_hits(&self, hits: u64) -> Result<(), StoreError> {
        crate::atomic_file::replace(&self.hits_path, |writer| {
            let record = HitRecord {
                version: FORMAT_VERSION,
                hits: hits.min(super::MAX_HITS),
            };
            serde_json::to_writer(writer, &record).map_err(std::io::Error::from)
        })
        .map_err(|cause| StoreError::Write {
            path: self.hits_path.clone(),
            cause,
        })
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
        Self::remove_stale_temp_files(&self.path);
        Self::remove_stale_temp_files(&self.hits_path);
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
    fn a_hit_record_raises_the_count_until_a_whole_save_supersedes_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileStore::new(dir.path().join("sessions.json"));
        store.save_hits(7).unwrap();
        assert_eq!(
            store.load().unwrap(),
            Some(State {
                hits: 7,
                sessions: Vec::new()
            }),
            "hits alone, before any whole save"
        );
        store.save(&sample()).unwrap();
        assert!(!store.hits_path().exists(), "the whole save supersedes it");
        let written = std::fs::read(store.path()).unwrap();
        store.save_hits(50).unwrap();
        assert_eq!(
            std::fs::read(store.path()).unwrap(),
            written,
            "a hit record leaves the sessions' file alone"
        );
        let loaded = store.load().unwrap().unwrap();
        assert_eq!((loaded.hits, loaded.sessions), (50, sample().sessions));
        // A record older than the file (a kill between the rename and the removal) is ignored.
        std::fs::write(store.hits_path(), r#"{"version": 1, "hits": 3}"#).unwrap();
        assert_eq!(store.load().unwrap().unwrap().hits, 42);
    }

    #[test]
    fn a_damaged_hit_record_is_an_error_naming_it_and_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileStore::new(dir.path().join("sessions.json"));
        store.save(&sample()).unwrap();
        for text in [
            "{\"version\": 1, \"hits\"".to_owned(),
            format!(r#"{{"version": 1, "hits": {}}}"#, u64::MAX),
        ] {
            std::fs::write(store.hits_path(), &text).unwrap();
            let error = store.load().unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(store.hits_path().to_str().unwrap()),
                "{error}"
            );
            assert_eq!(std::fs::read_to_string(store.hits_path()).unwrap(), text);
        }
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
