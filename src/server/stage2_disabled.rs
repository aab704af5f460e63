//! Stage 2 in a build without it (the module `stage2` then, by `#[path]`): the calls of
//! `stage2.rs`, restoring nothing and saving nothing, so that the server is put together and
//! stopped the same way in every build. The state starts afresh at every start.

use crate::clock::Clock;
use crate::store::{MemoryStore, SnapshotStore, State, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Nothing: whatever `_snapshots` holds, this build starts afresh.
pub fn restore(_snapshots: &dyn SnapshotStore) -> Result<Option<State>, StoreError> {
    Ok(None)
}

/// `memory` as the stages use it, and no persistence: nothing saves it.
pub fn persist(
    memory: Arc<MemoryStore>,
    _snapshots: Arc<dyn SnapshotStore>,
    _interval: Duration,
    _clock: Arc<dyn Clock>,
) -> (Arc<MemoryStore>, Option<Persistence>) {
    (memory, None)
}

/// The persistence this build never has: no value of it can exist, so the compiler knows its
/// methods are never called, and the server's `Option<Persistence>` is always `None`.
pub enum Persistence {}

impl Persistence {
    pub async fn shut_down(self) -> Result<(), StoreError> {
        match self {}
    }

    pub async fn abandon(self) {
        match self {}
    }

    pub async fn wait_for_flush(&self) {
        match *self {}
    }
}
