//! Prometheus metrics in the text exposition format: request counts and
//! latency by route template (never the concrete URL, which may hold ids),
//! requests in flight, and the database pool.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::server::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    in_flight: AtomicI64,
    started: Option<SystemTime>,
}

impl Metrics {
    pub fn new() -> Self {
        Metrics { started: Some(SystemTime::now()), ..Default::default() }
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let h = latency.entry((method.to_owned(), route.to_owned())).or_default();
            h.count += 1;
            h.sum += seconds;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
        }
    }

    /// The exposition text, with the pool's current figures.
    pub fn render(&self, pool_size: u32, pool_idle: usize, pool_max: u32) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP http_requests_total HTTP requests by method, route template and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP http_request_duration_seconds Time to the response head, by method and route template.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), h) in latency.iter() {
                let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
                let _ = writeln!(out, "http_request_duration_seconds_count{{{labels}}} {}", h.count);
            }
        }
        out.push_str(
            "# HELP http_requests_in_flight Requests being served now.\n# TYPE http_requests_in_flight gauge\n",
        );
        let _ = writeln!(out, "http_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        out.push_str("# HELP db_pool_connections Database connections by state.\n# TYPE db_pool_connections gauge\n");
        let _ = writeln!(out, "db_pool_connections{{state=\"idle\"}} {pool_idle}");
        let _ =
            writeln!(out, "db_pool_connections{{state=\"in_use\"}} {}", (pool_size as usize).saturating_sub(pool_idle));
        let _ = writeln!(out, "db_pool_connections{{state=\"max\"}} {pool_max}");
        if let Some(started) = self.started.and_then(|s| s.duration_since(UNIX_EPOCH).ok()) {
            out.push_str("# HELP process_start_time_seconds Start time of the process since the Unix epoch.\n");
            out.push_str("# TYPE process_start_time_seconds gauge\n");
            let _ = writeln!(out, "process_start_time_seconds {}", started.as_secs());
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: counts and times every request under its route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| {
        if req.uri().path().starts_with("/pkg/") {
            "/pkg/*".into()
        } else {
            "unmatched".into()
        }
    });
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let res = next.run(req).await;
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    metrics.observe(&method, &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics`
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.metrics.render(state.pool.size(), state.pool.num_idle(), state.settings.database.max_connections);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_counted_and_falls_into_its_buckets() {
        let m = Metrics::new();
        m.observe("GET", "/", 200, 0.02);
        m.observe("GET", "/", 200, 3.0);
        let text = m.render(2, 1, 10);
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/\",le=\"0.025\"} 1"));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/\",le=\"+Inf\"} 2"));
        assert!(text.contains("db_pool_connections{state=\"in_use\"} 1"));
    }
}
