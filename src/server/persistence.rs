//! Stage 2: the state is restored at start, flushed every interval when it changed, and saved
//! at shutdown. A SIGKILL therefore loses at most one interval, and never tears the file
//! (the [`Store`] replaces it atomically). What must not be lost even so (a login, a logout)
//! asks for a save at once and waits for it ([`Durability`]).

use super::app::App;
use crate::store::{State, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify, watch};
use tokio::task::JoinHandle;

/// How far the state has moved: both parts only ever grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateVersion {
    pub hits: u64,
    pub sessions: u64,
}

impl StateVersion {
    fn covers(&self, other: &Self) -> bool {
        self.hits >= other.hits && self.sessions >= other.sessions
    }
}

/// How the app asks for a save now and learns when one covered a change: shared by the app
/// (which asks) and the persistence (which saves).
#[derive(Debug, Default)]
pub struct Durability {
    save_now: Notify,
    saved: watch::Sender<StateVersion>,
}

/// How long a request waits for its change to be saved before it answers anyway.
#[cfg(feature = "stage3")]
const DURABLE_WAIT: Duration = Duration::from_secs(5);

impl Durability {
    /// Resolves once a save covers `target`.
    pub async fn saved(&self, target: StateVersion) {
        let mut saved = self.saved.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we hold `&self`.
        let _ = saved.wait_for(|saved| saved.covers(&target)).await;
    }

    /// Asks for a save at once and waits until one covers `target` (at most [`DURABLE_WAIT`]:
    /// a store that fails is logged by the saver, and the request is answered all the same).
    #[cfg(feature = "stage3")]
    pub async fn save_now(&self, target: StateVersion) {
        self.save_now.notify_one();
        if tokio::time::timeout(DURABLE_WAIT, self.saved(target))
            .await
            .is_err()
        {
            tracing::warn!("a change was not saved within {DURABLE_WAIT:?}; answering anyway");
        }
    }
}

/// Saves, one at a time, and tells who asks which version was saved last.
struct Saver {
    store: Arc<dyn Store>,
    /// Held for the whole of a save, including the part on the blocking pool, so that stopping
    /// can wait for a save in progress instead of racing it.
    in_progress: Arc<Mutex<()>>,
}

impl Saver {
    async fn save(&self, app: &Arc<App>) -> Result<(), StoreError> {
        let guard = self.in_progress.clone().lock_owned().await;
        // Read the version before the snapshot: the snapshot then holds at least this much.
        let version = app.version();
        let (saving, store) = (app.clone(), self.store.clone());
        // Copying a million sessions takes long enough to stall a request thread: do it, and
        // the write, on the blocking pool.
        tokio::task::spawn_blocking(move || {
            let result = store.save(&saving.snapshot());
            drop(guard);
            result
        })
        .await
        .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))?;
        app.durability.saved.send_if_modified(|saved| {
            let newer = !saved.covers(&version);
            if newer {
                *saved = version;
            }
            newer
        });
        Ok(())
    }

    fn is_dirty(&self, app: &App) -> bool {
        !app.durability.saved.borrow().covers(&app.version())
    }

    async fn wait_for_idle(&self) {
        drop(self.in_progress.lock().await);
    }
}

/// The running persistence of one server.
pub struct Persistence {
    saver: Arc<Saver>,
    flusher: JoinHandle<()>,
}

impl Persistence {
    /// The saved state, once it is sure that saving will work later too.
    pub fn load(store: &dyn Store) -> Result<Option<State>, StoreError> {
        let state = store.load()?;
        store.prepare_to_save()?;
        Ok(state)
    }

    pub fn start(app: Arc<App>, store: Arc<dyn Store>, interval: Duration) -> Self {
        // What was restored is saved already.
        app.durability.saved.send_replace(app.version());
        let saver = Arc::new(Saver {
            store,
            in_progress: Arc::new(Mutex::new(())),
        });
        let flusher = tokio::spawn(flush_periodically(app, saver.clone(), interval));
        Self { saver, flusher }
    }

    /// Stops the periodic flush and saves the final state.
    pub async fn shut_down(self, app: &Arc<App>) -> Result<(), StoreError> {
        self.stop_flusher().await;
        self.saver.save(app).await
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

    /// Resolves once a save has covered everything `app` held when this was called.
    pub async fn wait_for_flush(&self, app: &App) {
        app.durability.saved(app.version()).await;
    }
}

async fn flush_periodically(app: Arc<App>, saver: Arc<Saver>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = app.durability.save_now.notified() => {}
        }
        app.purge_expired();
        if saver.is_dirty(&app) {
            if let Err(error) = saver.save(&app).await {
                tracing::error!(%error, "periodic save failed; retrying at the next interval");
            }
        }
    }
}
