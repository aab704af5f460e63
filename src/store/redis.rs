//! The state in Redis, shared by every server instance that names the same store: one counter
//! for the hits, one key per session with the idle limit as its time to live, and two sorted
//! sets (all sessions, and each user's) scored by last use, for the session caps.
//!
//! Each operation is one command or one Lua script, so it is atomic in Redis and costs one
//! round trip; the hit count and the session lookup of one request are sent together on the
//! multiplexed connection. Keeping the data across a Redis restart is Redis's own business
//! (AOF or RDB); this store saves nothing itself. A Redis that cannot be reached makes a call
//! fail after [`OPERATION_TIMEOUT`] ([`Unavailable`], answered 503), and the connection comes
//! back by itself when Redis does.

use super::session_table::{is_session_id, new_session_id};
use super::{CreateError, HitStore, Session, SessionCaps, SessionStore, StoreError, Unavailable};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use url::Url;

/// How long one operation may take before the request is answered 503.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// What every key of this server starts with: the database may hold other things too.
const PREFIX: &str = "session-lab:";

/// Ids a request may ask about at once: a browser sends one `sid`, a confused one a few.
const MAX_IDS: usize = 8;

/// The first live session among `ARGV[4..]`. Its time to live and its places in the sorted
/// sets are refreshed once a second at most (its score is when it was last refreshed): most
/// requests then only read, and write nothing to the append-only file.
const FIND: &str = r"
local prefix, now, idle = ARGV[1], tonumber(ARGV[2]), ARGV[3]
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = prefix .. 'session:' .. id
  local user = redis.call('GET', key)
  if user then
    local seen = tonumber(redis.call('ZSCORE', KEYS[1], id) or 0)
    if seen < now then
      local mine = prefix .. 'user:' .. user
      redis.call('EXPIRE', key, idle)
      redis.call('ZADD', KEYS[1], now, id)
      redis.call('ZADD', mine, now, id)
      redis.call('EXPIRE', mine, idle)
    end
    return {id, user}
  end
end
return false
";

/// Ends the sessions `ARGV[2..]`, the sorted set of all sessions being `all`.
const END_SESSIONS: &str = r"
local function end_sessions(all, prefix, ids)
  for _, id in ipairs(ids) do
    local key = prefix .. 'session:' .. id
    local user = redis.call('GET', key)
    if user then
      redis.call('DEL', key)
      redis.call('ZREM', prefix .. 'user:' .. user, id)
    end
    redis.call('ZREM', all, id)
  end
end
";

/// A new session, unless the store is full (0), after ending the sessions it replaces
/// (`ARGV[8..]`); the user's sessions unused longest end when they are past their share.
/// Entries idle past the limit have expired as keys already and are dropped from the sets
/// first.
const CREATE: &str = r"
local prefix, now, idle, id, user = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local total, per_user = tonumber(ARGV[6]), tonumber(ARGV[7])
local all, mine = KEYS[1], prefix .. 'user:' .. user
end_sessions(all, prefix, {unpack(ARGV, 8)})
redis.call('ZREMRANGEBYSCORE', all, '-inf', now - idle - 1)
redis.call('ZREMRANGEBYSCORE', mine, '-inf', now - idle - 1)
if redis.call('ZCARD', all) >= total then
  return 0
end
local surplus = redis.call('ZCARD', mine) + 1 - per_user
if surplus > 0 then
  for _, old in ipairs(redis.call('ZRANGE', mine, 0, surplus - 1)) do
    redis.call('DEL', prefix .. 'session:' .. old)
    redis.call('ZREM', all, old)
  end
  redis.call('ZREMRANGEBYRANK', mine, 0, surplus - 1)
end
redis.call('SET', prefix .. 'session:' .. id, user, 'EX', idle)
redis.call('ZADD', all, now, id)
redis.call('ZADD', mine, now, id)
redis.call('EXPIRE', mine, idle)
return 1
";

/// Ends the sessions `ARGV[2..]`.
const REMOVE: &str = r"
end_sessions(KEYS[1], ARGV[1], {unpack(ARGV, 2)})
return 1
";

/// The ids among `ids` this server could have issued, [`MAX_IDS`] at most: only those become
/// part of a key name.
fn issued<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    ids.iter()
        .copied()
        .filter(|id| is_session_id(id))
        .take(MAX_IDS)
        .collect()
}

pub struct RedisStore {
    /// One multiplexed connection per core, taken in turn: all the requests' commands going
    /// through one connection's task made that task the bottleneck.
    connections: Vec<ConnectionManager>,
    next: AtomicUsize,
    /// Whether the last operation failed: the log says when Redis goes away and comes back,
    /// not once per request in between.
    unreachable: AtomicBool,
    idle_secs: u64,
    caps: SessionCaps,
    find: Script,
    create: Script,
    remove: Script,
}

/// `url` without its password, to be shown in messages and logs.
pub fn redacted(url: &Url) -> Url {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown
}

impl RedisStore {
    /// Connects to the Redis at `url` and makes sure it answers and runs the scripts this
    /// store needs.
    pub async fn connect(
        url: &Url,
        session_idle: Duration,
        caps: SessionCaps,
    ) -> Result<Self, StoreError> {
        let failed = |cause: String| StoreError::Redis {
            url: redacted(url),
            cause,
        };
        let client = redis::Client::open(url.as_str()).map_err(|e| failed(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OPERATION_TIMEOUT))
            .set_response_timeout(Some(OPERATION_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut connections = Vec::with_capacity(cores);
        for _ in 0..cores {
            let connecting = ConnectionManager::new_with_config(client.clone(), config.clone());
            connections.push(
                match tokio::time::timeout(OPERATION_TIMEOUT, connecting).await {
                    Ok(Ok(connection)) => connection,
                    Ok(Err(error)) => return Err(failed(error.to_string())),
                    Err(_) => {
                        return Err(failed(format!("no answer within {OPERATION_TIMEOUT:?}")));
                    }
                },
            );
        }
        let store = Self {
            connections,
            next: AtomicUsize::new(0),
            unreachable: AtomicBool::new(false),
            idle_secs: session_idle.as_secs().max(1),
            caps,
            find: Script::new(FIND),
            create: Script::new(&format!("{END_SESSIONS}{CREATE}")),
            remove: Script::new(&format!("{END_SESSIONS}{REMOVE}")),
        };
        // A lookup of nothing: proves the connection, the database and Lua scripting.
        store
            .find(&[&new_session_id().map_err(|e| failed(e.to_string()))?], 0)
            .await
            .map_err(|Unavailable(cause)| failed(cause))?;
        Ok(store)
    }

    fn key(name: &str) -> String {
        format!("{PREFIX}{name}")
    }

    /// Runs one operation against Redis within [`OPERATION_TIMEOUT`].
    async fn run<T>(
        &self,
        operation: impl AsyncFnOnce(ConnectionManager) -> redis::RedisResult<T>,
    ) -> Result<T, Unavailable> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        let connection = self.connections[turn].clone();
        let outcome = match tokio::time::timeout(OPERATION_TIMEOUT, operation(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Unavailable(error.to_string())),
            Err(_) => Err(Unavailable(format!(
                "Redis did not answer within {OPERATION_TIMEOUT:?}"
            ))),
        };
        let failed = outcome.is_err();
        if self.unreachable.swap(failed, Ordering::Relaxed) != failed {
            match &outcome {
                Err(unavailable) => {
                    tracing::warn!(%unavailable, "answering 503 until Redis answers again")
                }
                Ok(_) => tracing::info!("Redis answers again"),
            }
        }
        outcome
    }
}

#[async_trait::async_trait]
impl HitStore for RedisStore {
    async fn count_hit(&self) -> Result<u64, Unavailable> {
        self.run(async |mut connection| connection.incr(Self::key("hits"), 1u64).await)
            .await
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn find(&self, ids: &[&str], now: u64) -> Result<Option<Session>, Unavailable> {
        let ids = issued(ids);
        if ids.is_empty() {
            return Ok(None);
        }
        let found: Option<(String, String)> = self
            .run(async |mut connection| {
                let mut find = self.find.key(Self::key("sessions"));
                find.arg(PREFIX).arg(now).arg(self.idle_secs);
                for id in &ids {
                    find.arg(*id);
                }
                find.invoke_async(&mut connection).await
            })
            .await?;
        Ok(found.map(|(id, user)| Session { id, user }))
    }

    async fn create(
        &self,
        user: &str,
        replacing: &[&str],
        now: u64,
    ) -> Result<String, CreateError> {
        let id = new_session_id().map_err(CreateError::Random)?;
        let replacing = issued(replacing);
        let created: u8 = self
            .run(async |mut connection| {
                let mut create = self.create.key(Self::key("sessions"));
                create
                    .arg(PREFIX)
                    .arg(now)
                    .arg(self.idle_secs)
                    .arg(&id)
                    .arg(user)
                    .arg(self.caps.total)
                    .arg(self.caps.per_user.max(1));
                for old in &replacing {
                    create.arg(*old);
                }
                create.invoke_async(&mut connection).await
            })
            .await?;
        if created == 0 {
            return Err(CreateError::Full);
        }
        Ok(id)
    }

    async fn remove(&self, ids: &[&str]) -> Result<(), Unavailable> {
        let ids = issued(ids);
        if ids.is_empty() {
            return Ok(());
        }
        self.run(async |mut connection| {
            let mut remove = self.remove.key(Self::key("sessions"));
            remove.arg(PREFIX);
            for id in &ids {
                remove.arg(*id);
            }
            remove.invoke_async::<()>(&mut connection).await
        })
        .await
    }
}
