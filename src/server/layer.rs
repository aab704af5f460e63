//! How the stages stack. Each stage is a [`Handler`] wrapped around the next one inwards; it
//! answers what it owns and hands the rest on, with what it learned added to the [`Visit`].
//! The innermost handler is [`Home`]; `compose.rs` puts the stack together.

use super::pages;
use super::respond::{self, Body};
use crate::store::Unavailable;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::future::Future;
use std::net::IpAddr;
use tokio::sync::oneshot;

/// Something that answers requests: a stage around the next handler, or [`Home`].
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        request: Request<Incoming>,
        visit: Visit,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// What the outer layers know about a request, handed inwards.
pub struct Visit {
    /// Where the request came from (for stage 3's count of failed logins).
    #[cfg_attr(not(feature = "stage3"), allow(dead_code))]
    pub peer: IpAddr,
    /// Its number among all hits (stage 1): being counted while the inner layers work.
    pub hit: Option<oneshot::Receiver<Result<u64, Unavailable>>>,
    /// Who is logged in (stage 3).
    pub visitor: Option<Visitor>,
}

impl Visit {
    pub fn new(peer: IpAddr) -> Self {
        Self {
            peer,
            hit: None,
            visitor: None,
        }
    }

    /// The request's hit number, once counted; `None` when nothing counts hits, an error when
    /// counting failed.
    pub async fn hits(&mut self) -> Result<Option<u64>, Unavailable> {
        let Some(hit) = self.hit.as_mut() else {
            return Ok(None);
        };
        match hit.await {
            Ok(counted) => counted.map(Some),
            Err(not_counted) => Err(Unavailable::HitNotCounted(not_counted)),
        }
    }
}

/// Who is logged in, and the token their logout form carries (stage 3).
pub struct Visitor {
    pub user: String,
    pub form_token: String,
}

/// The routes anyone may use: `/` (the hit count, and who is logged in) and, elsewhere, 404.
pub struct Home;

impl Handler for Home {
    async fn handle(&self, request: Request<Incoming>, mut visit: Visit) -> Response<Body> {
        if request.uri().path() != "/" {
            return respond::not_found();
        }
        match *request.method() {
            Method::GET | Method::HEAD => {
                let hits = match visit.hits().await {
                    Ok(hits) => hits,
                    Err(unavailable) => return respond::store_unavailable(&unavailable),
                };
                let visitor = visit.visitor.as_ref();
                respond::html(
                    StatusCode::OK,
                    pages::home(
                        hits,
                        visitor.map(|v| (v.user.as_str(), v.form_token.as_str())),
                    ),
                )
            }
            _ => respond::method_not_allowed("GET, HEAD"),
        }
    }
}
