//! The one place the server is put together: the store that keeps the state (`serve --store`)
//! and the stages that answer (the cargo features), outermost first:
//!
//! ```text
//! HitCounter (stage 1) → RequestLimits → CookieRoutes (stage 4) → LoginGate (stage 3) → Home
//! ```
//!
//! Stage 2 is not a layer but what stands behind the state: the memory store persisted to the
//! snapshot store ([`stage2::Persistence`]). A stage whose feature is off is simply absent.

use super::layer::{Handler, Home};
use super::request_limits::RequestLimits;
#[cfg(feature = "stage2")]
use super::stage2;
use super::{Config, ServerError};
#[cfg(feature = "stage1")]
use crate::store::HitStore;
#[cfg(feature = "stage3")]
use crate::store::SessionStore;
use crate::store::{Backend, MemoryStore};
use std::sync::Arc;

/// The state of a running server, as the stages use it, and what must happen to it at stop.
pub struct Stores {
    #[cfg(feature = "stage1")]
    hits: Arc<dyn HitStore>,
    #[cfg(feature = "stage3")]
    sessions: Arc<dyn SessionStore>,
    /// Saving the memory store (stage 2 with [`Backend::Snapshots`]); `None` when nothing in
    /// this process needs saving.
    #[cfg(feature = "stage2")]
    pub persistence: Option<stage2::Persistence>,
}

/// Opens the store `config` names, restoring the state where stage 2 asks for it.
pub async fn open_stores(config: &Config) -> Result<Stores, ServerError> {
    let now = config.clock.unix_seconds();
    match &config.store {
        Backend::Snapshots(snapshots) => {
            // Before stage 2 the state starts afresh at every start, and nothing is saved.
            #[cfg(feature = "stage2")]
            let restored = stage2::restore(snapshots.as_ref())?;
            #[cfg(not(feature = "stage2"))]
            let restored = {
                let _unused = snapshots;
                None
            };
            #[cfg_attr(not(feature = "stage1"), allow(unused_variables))]
            let memory = Arc::new(MemoryStore::new(
                restored,
                config.session_idle.as_secs(),
                config.session_caps,
                now,
            ));
            #[cfg(feature = "stage2")]
            {
                let persistence = stage2::Persistence::start(
                    memory,
                    snapshots.clone(),
                    config.flush_interval,
                    config.clock.clone(),
                );
                let store = persistence.store();
                Ok(Stores {
                    #[cfg(feature = "stage1")]
                    hits: store.clone(),
                    #[cfg(feature = "stage3")]
                    sessions: store,
                    persistence: Some(persistence),
                })
            }
            #[cfg(not(feature = "stage2"))]
            Ok(Stores {
                #[cfg(feature = "stage1")]
                hits: memory,
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
#[cfg_attr(
    not(all(feature = "stage1", feature = "stage3")),
    allow(unused_variables)
)]
pub fn handler(config: &Config, stores: &Stores) -> impl Handler + use<> {
    let handler = Home;
    #[cfg(feature = "stage3")]
    let handler = super::stage3::LoginGate::new(handler, stores.sessions.clone(), config);
    #[cfg(feature = "stage4")]
    let handler = super::stage4::CookieRoutes::new(handler, config.clock.clone());
    let handler = RequestLimits::new(handler);
    #[cfg(feature = "stage1")]
    let handler = super::stage1::HitCounter::new(handler, stores.hits.clone());
    handler
}
