//! Stage 2: the state survives a restart. The [`MemoryStore`] is restored from the snapshot
//! store at start, flushed every interval when it changed, and saved at shutdown. A SIGKILL
//! therefore loses at most one interval, and never tears the file (the [`SnapshotStore`]
//! replaces it atomically). What must not be lost even so (a login, a logout) is saved before
//! it is answered: the stages use the store through [`Persisted`], which waits for that save.
//!
//! A flush that only hits came in for records the count alone ([`SnapshotStore::save_hits`]):
//! rewriting a million sessions every second for a hit would cost tens of megabytes a second.
//!
//! A build without stage 2 has `stage2_disabled.rs` in this module's place: the same calls,
//! which restore and save nothing.

use crate::clock::Clock;
use crate::store::MemoryVersion as Version;
use crate::store::{
    CreateError, HitStore, MemoryStore, Session, SessionStore, SnapshotStore, State, StoreError,
    Unavailable,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify, watch};
use tokio::task::JoinHandle;

/// How long a login or logout waits for its save before it is answered anyway.
const DURABLE_WAIT: Duration = Duration::from_secs(5);

/// The saved state, once it is sure that saving will work later too.
pub fn restore(snapshots: &dyn SnapshotStore) -> Result<Option<State>, StoreError> {
    let state = snapshots.load()?;
    snapshots.prepare_to_save()?;
    Ok(state)
}

/// Saves `memory` (restored from `snapshots`) every `interval` from now on: the store the
/// stages use, and the persistence to stop at the end (always some: this build saves).
pub fn persist(
    memory: Arc<MemoryStore>,
    snapshots: Arc<dyn SnapshotStore>,
    interval: Duration,
    clock: Arc<dyn Clock>,
) -> (Arc<Persisted>, Option<Persistence>) {
    let persistence = Persistence::start(memory, snapshots, interval, clock);
    (persistence.persisted.clone(), Some(persistence))
}

/// The memory store as the stages use it once it is persisted: the same answers, but a session
/// created or removed is saved before the call returns.
pub struct Persisted {
    memory: Arc<MemoryStore>,
    save_now: Notify,
    saved: watch::Sender<Version>,
}

impl Persisted {
    /// Resolves once a save covers `target`.
    async fn saved(&self, target: Version) {
        let mut saved = self.saved.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we hold `&self`.
        let _ = saved.wait_for(|saved| saved.covers(&target)).await;
    }

    /// Asks for a save at once and waits until one covers what the store holds now (at most
    /// [`DURABLE_WAIT`]: a failing save is logged by the saver, and the request is answered all
    /// the same).
    async fn save_now(&self) {
        let target = self.memory.version();
        self.save_now.notify_one();
        if tokio::time::timeout(DURABLE_WAIT, self.saved(target))
            .await
            .is_err()
        {
            tracing::warn!("a change was not saved within {DURABLE_WAIT:?}; answering anyway");
        }
    }

    fn is_dirty(&self) -> bool {
        !self.saved.borrow().covers(&self.memory.version())
    }
}

#[async_trait::async_trait]
impl HitStore for Persisted {
    async fn count_hit(&self) -> Result<u64, Unavailable> {
        self.memory.count_hit().await
    }
}

#[async_trait::async_trait]
impl SessionStore for Persisted {
    async fn find(&self, ids: &[&str], now: u64) -> Result<Option<Session>, Unavailable> {
        self.memory.find(ids, now).await
    }

    async fn create(
        &self,
        user: &str,
        replacing: &[&str],
        now: u64,
    ) -> Result<String, CreateError> {
        let id = self.memory.create(user, replacing, now).await?;
        self.save_now().await;
        Ok(id)
    }

    async fn remove(&self, ids: &[&str]) -> Result<(), Unavailable> {
        self.memory.remove(ids).await?;
        self.save_now().await;
        Ok(())
    }
}

/// Saves, one at a time, and tells who asks which version was saved last.
struct Saver {
    snapshots: Arc<dyn SnapshotStore>,
    /// Held for the whole of a save, including the part on the blocking pool, so that stopping
    /// can wait for a save in progress instead of racing it.
    in_progress: Arc<Mutex<()>>,
}

impl Saver {
    /// Saves what changed: everything when sessions did (or when `whole`), else the hits.
    async fn save(&self, persisted: &Arc<Persisted>, whole: bool) -> Result<(), StoreError> {
        let guard = self.in_progress.clone().lock_owned().await;
        // Read the version before the snapshot: the snapshot then holds at least this much.
        let version = persisted.memory.version();
        let sessions_changed = whole || persisted.saved.borrow().sessions < version.sessions;
        let (memory, snapshots) = (persisted.memory.clone(), self.snapshots.clone());
        // Copying a million sessions takes long enough to stall a request thread: do it, and
        // the write, on the blocking pool.
        tokio::task::spawn_blocking(move || {
            let result = if sessions_changed {
                snapshots.save(&memory.state())
            } else {
                snapshots.save_hits(memory.hits())
            };
            drop(guard);
            result
        })
        .await
        .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))?;
        persisted.saved.send_if_modified(|saved| {
            let newer = !saved.covers(&version);
            if newer {
                *saved = version;
            }
            newer
        });
        Ok(())
    }

    async fn wait_for_idle(&self) {
        drop(self.in_progress.lock().await);
    }
}

/// The running persistence of one server.
pub struct Persistence {
    persisted: Arc<Persisted>,
    saver: Arc<Saver>,
    flusher: JoinHandle<()>,
}

impl Persistence {
    /// Starts flushing `memory` (restored from `snapshots`) every `interval`.
    fn start(
        memory: Arc<MemoryStore>,
        snapshots: Arc<dyn SnapshotStore>,
        interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        // What was restored is saved already.
        let persisted = Arc::new(Persisted {
            saved: watch::Sender::new(memory.version()),
            save_now: Notify::new(),
            memory,
        });
        let saver = Arc::new(Saver {
            snapshots,
            in_progress: Arc::new(Mutex::new(())),
        });
        let flusher = tokio::spawn(flush_periodically(
            persisted.clone(),
            saver.clone(),
            interval,
            clock,
        ));
        Self {
            persisted,
            saver,
            flusher,
        }
    }

    /// Stops the periodic flush and saves the final state, whole: a stopped server leaves one
    /// complete state file.
    pub async fn shut_down(self) -> Result<(), StoreError> {
        self.stop_flusher().await;
        self.saver.save(&self.persisted, true).await
    }

    /// Stops without saving, as a SIGKILL would (but lets a save already under way finish,
    /// since the OS would not interrupt an in-process rename either).
    pub async fn abandon(self) {
        self.stop_flusher().await;
    }

    async fn stop_flusher(&self) {
        self.flusher.abort();
        self.saver.wait_for_idle().await;
    }

    /// Resolves once a save has covered everything the store held when this was called.
    pub async fn wait_for_flush(&self) {
        self.persisted.saved(self.persisted.memory.version()).await;
    }
}

async fn flush_periodically(
    persisted: Arc<Persisted>,
    saver: Arc<Saver>,
    interval: Duration,
    clock: Arc<dyn Clock>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = persisted.save_now.notified() => {}
        }
        persisted.memory.purge_expired(clock.unix_seconds());
        if persisted.is_dirty() {
            if let Err(error) = saver.save(&persisted, false).await {
                tracing::error!(%error, "periodic save failed; retrying at the next interval");
            }
        }
    }
}
