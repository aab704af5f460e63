//! The one place the server is put together: the store that keeps the state (`serve --store`)
//! and the stages that answer (the cargo features), outermost first:
//!
//! ```text
//! HitCounter (stage 1) → RequestLimits → CookieRoutes (stage 4) → LoginGate (stage 3) → Home
//! ```
//!
//! Stage 2 is not a layer but what stands behind the state: the memory store persisted to the
//! snapshot store ([`stage2::Persistence`]). A stage whose feature is off is simply absent: a
//! layer's line is left out below, and stage 2's calls are those of `stage2_disabled.rs`,
//! which restore and save nothing.

use super::layer::{Handler, Home};
use super::request_limits::RequestLimits;
use super::stage2::{self, Persistence};
use super::{Config, ServerError};
use crate::store::{Backend, HitStore, MemoryStore, SessionStore};
use std::sync::Arc;

/// The state of a running server, as the stages use it, and what must happen to it at stop.
pub struct Stores {
    /// The hit count (stage 1).
    hits: Arc<dyn HitStore>,
    /// The sessions (stage 3).
    sessions: Arc<dyn SessionStore>,
    /// Saving the memory store (stage 2 with [`Backend::Snapshots`]); `None` when nothing in
    /// this process needs saving.
    pub persistence: Option<Persistence>,
}

/// Opens the store `config` names, restoring the state where stage 2 asks for it.
pub async fn open_stores(config: &Config) -> Result<Stores, ServerError> {
    let now = config.clock.unix_seconds();
    match &config.store {
        Backend::Snapshots(snapshots) => {
            let restored = stage2::restore(snapshots.as_ref())?;
            let memory = Arc::new(MemoryStore::new(
                restored,
                config.session_idle.as_secs(),
                config.session_caps,
                now,
            ));
            let (store, persistence) = stage2::persist(
                memory,
                snapshots.clone(),
                config.flush_interval,
                config.clock.clone(),
            );
            Ok(Stores {
                hits: store.clone(),
                sessions: store,
                persistence,
            })
        }
        #[cfg(feature = "redis")]
        Backend::Redis(url) => {
            let redis = Arc::new(
                crate::store::redis::RedisStore::connect(
                    url,
                    config.session_idle,
                    config.session_caps,
                )
                .await?,
            );
            Ok(Stores {
                hits: redis.clone(),
                sessions: redis,
                persistence: None,
            })
        }
    }
}

/// The stages of this build around [`Home`], each given the part of the state it owns.
// A build without stage 1 (or 3) leaves the hits (the sessions) and the configuration unused.
#[cfg_attr(
    not(all(feature = "stage1", feature = "stage3")),
    allow(unused_variables)
)]
pub fn handler(config: &Config, stores: &Stores) -> impl Handler + use<> {
    let Stores { hits, sessions, .. } = stores;
    let handler = Home;
    #[cfg(feature = "stage3")]
    let handler = super::stage3::LoginGate::new(handler, sessions.clone(), config);
    #[cfg(feature = "stage4")]
    let handler = super::stage4::CookieRoutes::new(handler, config.clock.clone());
    let handler = RequestLimits::new(handler);
    #[cfg(feature = "stage1")]
    let handler = super::stage1::HitCounter::new(handler, hits.clone());
    handler
}
