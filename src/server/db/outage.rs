//! Failing fast while the database server is unreachable.
//!
//! When PostgreSQL is down, sqlx keeps retrying a refused connection until the
//! pool's acquire timeout, so without this every request would hang for that
//! long, pile up and time out together. Instead, once one request finds the
//! server unreachable, the others are answered 503 at once, and one request
//! at a time (at most every [`PROBE_EVERY`]) is let through, with a short
//! timeout, to find out whether it is back. The first one that gets through
//! closes the breaker: the app recovers by itself, with no restart.
//!
//! There is one breaker per database server (host and port), shared by every
//! pool of this process that talks to it.

use sqlx::PgPool;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How often a request is let through to see whether the server is back.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long that request may wait for a connection.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// A request still waiting for its connection after this long makes the
/// app check that the server takes sessions at all (sqlx itself would retry
/// a refused connection until the acquire timeout).
pub const SLOW_CONNECT: Duration = Duration::from_millis(200);

#[derive(Default)]
struct Breaker {
    open: AtomicBool,
    probing: AtomicBool,
    /// A reachability check is under way (one at a time: each costs the
    /// server a session).
    checking: AtomicBool,
    /// When the last probe started, in milliseconds since [`EPOCH`].
    last_probe_ms: AtomicU64,
}

/// Clears a flag when dropped, so a request cancelled halfway (the client
/// gone, the request's timeout) never leaves a check or a probe marked as
/// running for good.
struct Clears<'a>(&'a AtomicBool);

impl Drop for Clears<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
static BREAKERS: LazyLock<Mutex<HashMap<String, Arc<Breaker>>>> = LazyLock::new(Default::default);

fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

fn breaker_for(pool: &PgPool) -> Arc<Breaker> {
    let options = pool.connect_options();
    let key = format!("{}:{}", options.get_host(), options.get_port());
    let mut breakers = BREAKERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    breakers.entry(key).or_default().clone()
}

/// Whether this error means the database server cannot be reached (rather
/// than the request being wrong, or every connection being busy).
pub fn is_outage(e: &sqlx::Error, pool: &PgPool) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        // Timed out although the pool had room for another connection: it
        // could not connect. A full pool timing out is load, not an outage.
        sqlx::Error::PoolTimedOut => pool.size() < pool.options().get_max_connections(),
        sqlx::Error::Database(db) => db.code().is_some_and(|c| is_unavailable_sqlstate(&c)),
        _ => false,
    }
}

/// SQLSTATEs of a server going away: class 08 (connection exception) and
/// 57P01–57P03 (shut down by the administrator, crashed, not yet accepting).
pub fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// Runs `connect` (a `begin`), unless the server is known to be unreachable
/// and another request is already finding out whether it is back: then fails
/// at once with `PoolTimedOut`, which the app answers with 503.
pub async fn guard<T>(pool: &PgPool, connect: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, sqlx::Error> {
    let breaker = breaker_for(pool);
    if !breaker.open.load(Ordering::Acquire) {
        let mut connect = std::pin::pin!(connect);
        // Resolves if, while this request waits, the server turns out to be
        // gone (checked by one waiting request at a time, at most every
        // PROBE_EVERY; the others learn it from the breaker).
        let gone = async {
            tokio::time::sleep(SLOW_CONNECT).await;
            loop {
                if breaker.open.load(Ordering::Acquire) {
                    return;
                }
                if breaker.checking.swap(true, Ordering::AcqRel) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let checking = Clears(&breaker.checking);
                let reachable = reachable(pool).await;
                drop(checking);
                if !reachable {
                    return;
                }
                // There, only busy: look again later.
                tokio::time::sleep(PROBE_EVERY).await;
            }
        };
        let result = tokio::select! {
            result = &mut connect => result,
            () = gone => {
                if !breaker.open.swap(true, Ordering::AcqRel) {
                    breaker.last_probe_ms.store(now_ms(), Ordering::Release);
                    tracing::warn!("database unreachable: answering 503 until it is back");
                }
                return Err(sqlx::Error::PoolTimedOut);
            }
        };
        if let Err(e) = &result {
            if is_outage(e, pool) && !breaker.open.swap(true, Ordering::AcqRel) {
                breaker.last_probe_ms.store(now_ms(), Ordering::Release);
                tracing::warn!("database unreachable: answering 503 until it is back");
            }
        }
        return result;
    }
    let now = now_ms();
    let due = now.saturating_sub(breaker.last_probe_ms.load(Ordering::Acquire)) >= PROBE_EVERY.as_millis() as u64;
    if !due || breaker.probing.swap(true, Ordering::AcqRel) {
        return Err(sqlx::Error::PoolTimedOut);
    }
    breaker.last_probe_ms.store(now, Ordering::Release);
    let _probing = Clears(&breaker.probing);
    // Still down: the probe's own request fails as fast as the others.
    if !reachable(pool).await {
        return Err(sqlx::Error::PoolTimedOut);
    }
    let result = match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    };
    let still_down =
        result.as_ref().err().is_some_and(|e| is_outage(e, pool) || matches!(e, sqlx::Error::PoolTimedOut));
    if !still_down {
        breaker.open.store(false, Ordering::Release);
        tracing::info!("database reachable again");
    }
    result
}

/// Whether the database server takes a new session now: one connection
/// attempt of its own, within half a second. A server that is down refuses
/// it at once; one shutting down or starting up answers 57P01-57P03 at once
/// (sqlx would retry both until the acquire timeout).
async fn reachable(pool: &PgPool) -> bool {
    use sqlx::{ConnectOptions, Connection};
    let options = pool.connect_options();
    match tokio::time::timeout(Duration::from_millis(500), options.connect()).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::postgres::PgPoolOptions;

    /// Whether requests to this pool's server are being refused at once.
    fn is_open(pool: &PgPool) -> bool {
        breaker_for(pool).open.load(Ordering::Acquire)
    }

    /// A pool for a port nobody listens on, that would wait 30 s for a connection.
    fn pool_of_a_stopped_server() -> PgPool {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy(&format!("postgres://nobody@127.0.0.1:{port}/none"))
            .unwrap()
    }

    #[tokio::test]
    async fn a_stopped_server_is_found_out_quickly_and_then_refused_at_once() {
        let pool = pool_of_a_stopped_server();
        let started = Instant::now();
        let first = guard(&pool, pool.acquire()).await;
        assert!(matches!(first, Err(sqlx::Error::PoolTimedOut)), "{first:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "waited {:?}, not the 30 s", started.elapsed());
        assert!(is_open(&pool), "the breaker is open");
        // The next request does not even try: no probe is due yet.
        let started = Instant::now();
        assert!(guard(&pool, pool.acquire()).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn only_one_request_probes_a_stopped_server_at_a_time() {
        let pool = pool_of_a_stopped_server();
        let _ = guard(&pool, pool.acquire()).await;
        tokio::time::sleep(PROBE_EVERY).await;
        let tries = std::sync::atomic::AtomicUsize::new(0);
        let attempt = || async {
            guard(&pool, async {
                tries.fetch_add(1, Ordering::SeqCst);
                pool.acquire().await
            })
            .await
        };
        let results = futures_util::future::join_all((0..10).map(|_| attempt())).await;
        assert!(results.iter().all(Result::is_err));
        // The due probe found the server still gone before connecting through the pool.
        assert_eq!(tries.load(Ordering::SeqCst), 0);
        assert!(is_open(&pool));
    }

    #[test]
    fn a_server_shutting_down_or_a_broken_connection_counts_as_unavailable() {
        for code in ["08006", "08001", "57P01", "57P02", "57P03"] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
        for code in ["57014", "23505", "22021", "40001", "42501"] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[tokio::test]
    async fn a_probe_given_up_halfway_does_not_keep_the_breaker_shut() {
        // A server that takes connections and never answers: checks hang until their timeout.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy(&format!("postgres://nobody@127.0.0.1:{port}/none"))
            .unwrap();
        let _ = guard(&pool, pool.acquire()).await;
        assert!(is_open(&pool));
        tokio::time::sleep(PROBE_EVERY).await;
        // The probing request is cancelled (its client left) while it checks the server.
        let cancelled = tokio::time::timeout(Duration::from_micros(1), guard(&pool, pool.acquire())).await;
        assert!(cancelled.is_err(), "the probe was still checking when it was given up");
        assert!(!breaker_for(&pool).probing.load(Ordering::Acquire), "the next request may probe");
    }
}
