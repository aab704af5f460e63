//! The state in Redis, shared by every server instance that names the same store: one counter
//! for the hits, one key per session with the idle limit as its time to live, and two sorted
//! sets (all sessions, and each user's) scored by last use, for the session caps.
//!
//! Each operation is one command or one Lua script, so it is atomic in Redis. The scripts
//! take the time from Redis (`TIME`), so every instance agrees on when a session was last
//! used whatever their own clocks say. A request's commands go on the connection of the thread
//! that runs it, so its hit count and its session lookup, issued together, travel together.
//! Keeping the data across a Redis restart is Redis's own business (AOF or RDB); this store
//! saves nothing itself. A Redis that cannot be reached makes a call fail after
//! [`OPERATION_TIMEOUT`] ([`Unavailable`], answered 503), and the connections come back by
//! themselves when Redis does: an idle one is pinged, so that one dropped meanwhile (a Redis
//! restart, an idle timeout) is found out by the ping and not by a visitor. A change that
//! reaches Redis only after its request gave up (a paused Redis that resumes) is not made:
//! the scripts that change sessions carry a deadline in Redis's time, which the pings keep
//! track of, so a 503 means nothing changed.

use super::session_table::{is_session_id, new_session_id};
use super::{CreateError, HitStore, Session, SessionCaps, SessionStore, StoreError, Unavailable};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use url::Url;

/// How long one operation may take before the request is answered 503. A request makes one
/// or two (a logout looks the session up, then ends it).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// How often every connection is pinged (with `TIME`, which also tells Redis's clock).
const PING_EVERY: Duration = Duration::from_secs(5);

/// Why Redis did not do what a request asked ([`Unavailable::Redis`], answered 503).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    /// Redis refused, or the connection to it failed.
    #[error(transparent)]
    Command(#[from] redis::RedisError),
    #[error("Redis did not answer within {OPERATION_TIMEOUT:?}")]
    Timeout,
    /// A change was not made: Redis got to it after its request gave up.
    #[error("Redis got to the change after its request had given up")]
    GaveUp,
}

/// What every key of this server starts with: the database may hold other things too.
const PREFIX: &str = "session-lab:";

/// The first line of a script that may grow the data: with it (Redis 7), a Redis out of
/// memory refuses the script before it runs, rather than at its first write, half done.
const GROWS: &str = "#!lua\n";

/// The first line of a script that only reads, refreshes or deletes: it runs on a full Redis
/// too, so that visitors still get in and out.
const ALLOW_OOM: &str = "#!lua flags=allow-oom\n";

/// Redis's time in seconds, to the microsecond, as `now`.
const CLOCK: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
";

/// The first live session among `ARGV[3..]`. Its time to live and its places in the sorted
/// sets are refreshed once a second at most (half its idle limit if that is shorter; its
/// score is when it was last refreshed): most requests then only read, and write nothing to
/// the append-only file.
const FIND: &str = r"
local prefix, idle = ARGV[1], tonumber(ARGV[2])
local every = math.min(1, idle / 2)
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = prefix .. 'session:' .. id
  local user = redis.call('GET', key)
  if user then
    local seen = tonumber(redis.call('ZSCORE', KEYS[1], id) or 0)
    if now - seen >= every then
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

/// Ends the sessions `ids`, the sorted set of all sessions being `all`.
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

/// A new session, unless its request gave up already (-1, past the deadline `ARGV[7]`) or the
/// store is full (0), after ending the sessions it replaces (`ARGV[8..]`); the user's sessions
/// unused longest end when they are past their share. Entries idle past the limit have
/// expired as keys already and are dropped from the sets first.
const CREATE: &str = r"
local prefix, idle, id, user = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local total, per_user = tonumber(ARGV[5]), tonumber(ARGV[6])
if now > tonumber(ARGV[7]) then
  return -1
end
local all, mine = KEYS[1], prefix .. 'user:' .. user
end_sessions(all, prefix, {unpack(ARGV, 8)})
redis.call('ZREMRANGEBYSCORE', all, '-inf', now - idle)
redis.call('ZREMRANGEBYSCORE', mine, '-inf', now - idle)
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

/// Ends the sessions `ARGV[3..]`, unless their request gave up already (-1, past the deadline
/// `ARGV[2]`).
const REMOVE: &str = r"
if now > tonumber(ARGV[2]) then
  return -1
end
end_sessions(KEYS[1], ARGV[1], {unpack(ARGV, 3)})
return 1
";

/// Distinct ids looked at in one request: more than a browser keeps for a site (about 180
/// cookies), so stale ones planted before a live one cannot hide it, and few enough that a
/// request of thousands costs Redis, which every instance shares, a fraction of a
/// millisecond.
const MAX_IDS: usize = 200;

/// The distinct ids among `ids` this server could have issued, in order, [`MAX_IDS`] at most:
/// only those become part of a key name.
fn issued<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .copied()
        .filter(|id| is_session_id(id) && seen.insert(*id))
        .take(MAX_IDS)
        .collect()
}

/// `url` without its password, to be shown in messages and logs.
pub fn redacted(url: &Url) -> Url {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown
}

pub struct RedisStore {
    /// One multiplexed connection per core: all the requests' commands going through one
    /// connection's task made that task the bottleneck.
    connections: Vec<ConnectionManager>,
    idle_secs: u64,
    caps: SessionCaps,
    find: Script,
    create: Script,
    remove: Script,
    /// Whether the log last said Redis fails: read by every operation without a lock, so
    /// that only a change of state takes [`Self::reported_at`].
    said_failing: AtomicBool,
    /// When the log last said Redis went away or came back: said once, not once per request,
    /// even when some operations fail and others succeed.
    reported_at: Mutex<Option<Instant>>,
    clock: std::sync::Arc<RedisClock>,
    pinger: tokio::task::JoinHandle<()>,
}

/// Redis's time, as last read: when, here, and what it was there.
struct RedisClock(Mutex<(Instant, f64)>);

impl RedisClock {
    /// The clock as Redis's `TIME` (seconds and microseconds) just read it.
    fn read(time: (u64, u64)) -> Self {
        Self(Mutex::new(Self::reading(time)))
    }

    fn reading((seconds, microseconds): (u64, u64)) -> (Instant, f64) {
        (Instant::now(), seconds as f64 + microseconds as f64 / 1e6)
    }

    fn set(&self, time: (u64, u64)) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Self::reading(time);
    }

    /// Redis's time at which an operation sent now has been given up, give or take the time
    /// its reading took to arrive (well under a millisecond on a working network).
    fn deadline(&self) -> f64 {
        let (read, time) = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        time + (read.elapsed() + OPERATION_TIMEOUT).as_secs_f64()
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.pinger.abort();
    }
}

std::thread_local! {
    /// The connection of this thread, given out in turn to the threads that ask.
    static CONNECTION: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

impl RedisStore {
    /// Connects to the Redis at `url` and makes sure it answers and runs the scripts this
    /// store needs (Redis 7 or later).
    pub async fn connect(
        url: &Url,
        session_idle: Duration,
        caps: SessionCaps,
    ) -> Result<Self, StoreError> {
        let failed = |cause: String| StoreError::Redis {
            url: redacted(url),
            // A peer that is not Redis gets a parse error over several lines.
            cause: cause.split_whitespace().collect::<Vec<_>>().join(" "),
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
        let mut first = connections[0].clone();
        let ask = redis::cmd("TIME");
        let time =
            tokio::time::timeout(OPERATION_TIMEOUT, ask.query_async::<(u64, u64)>(&mut first));
        let clock = match time.await {
            Ok(Ok(time)) => std::sync::Arc::new(RedisClock::read(time)),
            Ok(Err(error)) => return Err(failed(error.to_string())),
            Err(_) => return Err(failed(format!("no answer within {OPERATION_TIMEOUT:?}"))),
        };
        let store = Self {
            pinger: tokio::spawn(ping(connections.clone(), clock.clone())),
            clock,
            connections,
            idle_secs: session_idle.as_secs().max(1),
            caps,
            find: Script::new(&format!("{ALLOW_OOM}{CLOCK}{FIND}")),
            create: Script::new(&format!("{GROWS}{CLOCK}{END_SESSIONS}{CREATE}")),
            remove: Script::new(&format!("{ALLOW_OOM}{CLOCK}{END_SESSIONS}{REMOVE}")),
            said_failing: AtomicBool::new(false),
            reported_at: Mutex::new(None),
        };
        // A lookup of nothing: proves the connection, the password, the database and Lua
        // scripting with flags.
        let nobody = new_session_id().map_err(|e| failed(e.to_string()))?;
        let ids = [nobody.as_str()];
        let probe =
            tokio::time::timeout(OPERATION_TIMEOUT, store.find_on(store.connection(), &ids));
        match probe.await {
            Ok(Ok(_)) => Ok(store),
            Ok(Err(error)) => Err(failed(error.to_string())),
            Err(_) => Err(failed(format!("no answer within {OPERATION_TIMEOUT:?}"))),
        }
    }

    fn key(name: &str) -> String {
        format!("{PREFIX}{name}")
    }

    fn connection(&self) -> ConnectionManager {
        let turn = CONNECTION.with(|turn| *turn) % self.connections.len();
        self.connections[turn].clone()
    }

    async fn find_on(
        &self,
        mut connection: ConnectionManager,
        ids: &[&str],
    ) -> redis::RedisResult<Option<(String, String)>> {
        let mut find = self.find.key(Self::key("sessions"));
        find.arg(PREFIX).arg(self.idle_secs);
        for id in ids {
            find.arg(*id);
        }
        find.invoke_async(&mut connection).await
    }

    /// Runs one operation against Redis within [`OPERATION_TIMEOUT`], once more when its
    /// connection turned out to be dropped (by a Redis restart, an idle timeout, a proxy): the
    /// manager has reconnected by then. The scripts are safe to run twice (the same id, the
    /// same ends); the hit count would count twice only if the connection dropped after Redis
    /// ran the `INCR` and before its answer came.
    async fn run<T, F>(&self, operation: impl Fn(ConnectionManager) -> F) -> Result<T, Unavailable>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let attempts = async {
            match operation(self.connection()).await {
                Err(error) if error.is_connection_dropped() => operation(self.connection()).await,
                outcome => outcome,
            }
        };
        let outcome = match tokio::time::timeout(OPERATION_TIMEOUT, attempts).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Failure::Command(error).into()),
            Err(_) => Err(Failure::Timeout.into()),
        };
        self.report(&outcome);
        outcome
    }

    /// Logs when Redis goes away and when it is back, at most once every [`PING_EVERY`].
    fn report<T>(&self, outcome: &Result<T, Unavailable>) {
        let failing = outcome.is_err();
        if self.said_failing.load(Ordering::Relaxed) == failing {
            return;
        }
        let mut reported_at = self.reported_at.lock().unwrap_or_else(|p| p.into_inner());
        if reported_at.is_some_and(|at| at.elapsed() < PING_EVERY)
            || self.said_failing.swap(failing, Ordering::Relaxed) == failing
        {
            return;
        }
        *reported_at = Some(Instant::now());
        match outcome {
            Err(unavailable) => {
                tracing::warn!(%unavailable, "answering 503 while Redis fails")
            }
            Ok(_) => tracing::info!("Redis answers again"),
        }
    }
}

/// Pings every connection every [`PING_EVERY`]: a connection that Redis (or something on the
/// way) dropped while it was idle fails its ping, and its manager reconnects it then. The
/// pings ask for `TIME`, which keeps `clock` in step with Redis's.
async fn ping(connections: Vec<ConnectionManager>, clock: std::sync::Arc<RedisClock>) {
    let mut ticker = tokio::time::interval(PING_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        for connection in &connections {
            let mut connection = connection.clone();
            let ping = redis::cmd("TIME");
            let pinged = ping.query_async::<(u64, u64)>(&mut connection);
            if let Ok(Ok(time)) = tokio::time::timeout(OPERATION_TIMEOUT, pinged).await {
                clock.set(time);
            }
        }
    }
}

#[async_trait::async_trait]
impl HitStore for RedisStore {
    async fn count_hit(&self) -> Result<u64, Unavailable> {
        self.run(|mut connection| async move { connection.incr(Self::key("hits"), 1u64).await })
            .await
    }
}

/// The times the stages pass are ignored here: Redis's clock is the one all instances share.
#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn find(&self, ids: &[&str], _now: u64) -> Result<Option<Session>, Unavailable> {
        let ids = issued(ids);
        if ids.is_empty() {
            return Ok(None);
        }
        let found = self
            .run(|connection| self.find_on(connection, &ids))
            .await?;
        Ok(found.map(|(id, user)| Session { id, user }))
    }

    async fn create(
        &self,
        user: &str,
        replacing: &[&str],
        _now: u64,
    ) -> Result<String, CreateError> {
        let id = new_session_id().map_err(CreateError::Random)?;
        let replacing = issued(replacing);
        let created: i8 = self
            .run(|mut connection| {
                let mut create = self.create.key(Self::key("sessions"));
                create
                    .arg(PREFIX)
                    .arg(self.idle_secs)
                    .arg(&id)
                    .arg(user)
                    .arg(self.caps.total)
                    .arg(self.caps.per_user.max(1))
                    .arg(self.clock.deadline());
                for old in &replacing {
                    create.arg(*old);
                }
                async move { create.invoke_async(&mut connection).await }
            })
            .await?;
        match created {
            1 => Ok(id),
            0 => Err(CreateError::Full),
            _ => Err(Unavailable::from(Failure::GaveUp).into()),
        }
    }

    async fn remove(&self, ids: &[&str]) -> Result<(), Unavailable> {
        let ids = issued(ids);
        if ids.is_empty() {
            return Ok(());
        }
        let removed: i8 = self
            .run(|mut connection| {
                let mut remove = self.remove.key(Self::key("sessions"));
                remove.arg(PREFIX).arg(self.clock.deadline());
                for id in &ids {
                    remove.arg(*id);
                }
                async move { remove.invoke_async(&mut connection).await }
            })
            .await?;
        match removed {
            1 => Ok(()),
            _ => Err(Failure::GaveUp.into()),
        }
    }
}
