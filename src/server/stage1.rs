//! Stage 1: every request counts as a hit, whatever it asks for and however it is answered.

use super::layer::{Handler, Visit};
use super::respond::{self, Body};
use crate::store::HitStore;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Counts each request in the store, then hands it to `inner`.
pub struct HitCounter<H> {
    hits: Arc<dyn HitStore>,
    inner: H,
}

impl<H> HitCounter<H> {
    pub fn new(inner: H, hits: Arc<dyn HitStore>) -> Self {
        Self { hits, inner }
    }
}

impl<H: Handler> Handler for HitCounter<H> {
    /// The count is taken while the inner layers work, not before: with a shared store, the
    /// increment and the session lookup then travel together in one round trip.
    async fn handle(&self, request: Request<Incoming>, mut visit: Visit) -> Response<Body> {
        let (number, hit) = oneshot::channel();
        visit.hit = Some(hit);
        let count = async {
            let counted = self.hits.count_hit().await;
            if let Ok(hits) = &counted {
                let _ = number.send(*hits);
            }
            counted
        };
        let (counted, response) = tokio::join!(count, self.inner.handle(request, visit));
        match counted {
            Ok(_) => response,
            Err(unavailable) => respond::store_unavailable(&unavailable),
        }
    }
}
