//! Stage 1: every request counts as a hit, whatever it asks for and however it is answered.

use super::layer::{Handler, Visit};
use super::respond::Body;
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
    /// increment and the session lookup then travel together. When the count fails, the
    /// answer stands all the same unless it shows the count (the home page then answers 503
    /// itself): a login or a logout that the store took must not be reported as failed.
    async fn handle(&self, request: Request<Incoming>, mut visit: Visit) -> Response<Body> {
        let (number, hit) = oneshot::channel();
        visit.hit = Some(hit);
        let count = async {
            let _ = number.send(self.hits.count_hit().await);
        };
        tokio::join!(count, self.inner.handle(request, visit)).1
    }
}
