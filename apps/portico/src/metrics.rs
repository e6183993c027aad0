//! Prometheus metrics: request counts and latency histograms per route and
//! status, store call latencies per port and operation, rendered as text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.counts) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

type HttpKey = (String, &'static str, u16);
type StoreKey = (&'static str, &'static str, bool);

/// The process's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<HttpKey, Histogram>>,
    stores: Mutex<BTreeMap<StoreKey, Histogram>>,
    /// Job runs per (job, outcome), and records removed per (job, kind).
    jobs: Mutex<JobCounters>,
}

#[derive(Debug, Clone, Default)]
struct JobCounters {
    runs: BTreeMap<(&'static str, &'static str), u64>,
    removed: BTreeMap<(&'static str, &'static str), u64>,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `method` label: the standard methods by name, any other token as
/// `other`, so a client cannot grow the label set.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Records one HTTP request: `route` is the matched pattern (or
    /// `unmatched`), so ids do not explode the label set.
    pub fn http(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        let mut map = self.http.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((route.to_owned(), method, status))
            .or_default()
            .observe(took.as_secs_f64());
    }

    /// Records one store call.
    pub fn store(&self, port: &'static str, op: &'static str, ok: bool, took: Duration) {
        let mut map = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((port, op, ok))
            .or_default()
            .observe(took.as_secs_f64());
    }

    /// Records one background job run: `outcome` is `ok`, `error` or
    /// `skipped` (another instance held the lease); `removed` counts what it
    /// deleted, per kind.
    pub fn job(&self, job: &'static str, outcome: &'static str, removed: &[(&'static str, u64)]) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        *jobs.runs.entry((job, outcome)).or_default() += 1;
        for (kind, n) in removed {
            *jobs.removed.entry((job, kind)).or_default() += n;
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let http = self.http.lock().unwrap_or_else(|e| e.into_inner()).clone();
        out.push_str("# HELP portico_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE portico_http_requests_total counter\n");
        for ((route, method, status), h) in &http {
            let _ = writeln!(
                out,
                "portico_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                h.count
            );
        }
        out.push_str("# HELP portico_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE portico_http_request_duration_seconds histogram\n");
        for ((route, method, status), h) in &http {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            h.render(&mut out, "portico_http_request_duration_seconds", &labels);
        }
        let stores = self
            .stores
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        out.push_str("# HELP portico_store_call_duration_seconds Latency of calls to the stores, per port and operation.\n");
        out.push_str("# TYPE portico_store_call_duration_seconds histogram\n");
        for ((port, op, ok), h) in &stores {
            let outcome = if *ok { "ok" } else { "error" };
            let labels = format!("port=\"{port}\",op=\"{op}\",outcome=\"{outcome}\"");
            h.render(&mut out, "portico_store_call_duration_seconds", &labels);
        }
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        out.push_str(
            "# HELP portico_job_runs_total Background job runs in this process, per outcome.\n",
        );
        out.push_str("# TYPE portico_job_runs_total counter\n");
        for ((job, outcome), n) in &jobs.runs {
            let _ = writeln!(
                out,
                "portico_job_runs_total{{job=\"{job}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP portico_job_removed_total Records and objects background jobs of this process removed.\n");
        out.push_str("# TYPE portico_job_removed_total counter\n");
        for ((job, kind), n) in &jobs.removed {
            let _ = writeln!(
                out,
                "portico_job_removed_total{{job=\"{job}\",kind=\"{kind}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.http("GET", "/v1/me", 200, Duration::from_micros(300));
        m.http("GET", "/v1/me", 200, Duration::from_millis(3));
        m.store("users", "get", true, Duration::from_millis(2));
        m.job("upload_sweep", "ok", &[("dangling_objects", 2)]);
        m.job("upload_sweep", "ok", &[("dangling_objects", 1)]);
        let text = m.render();
        assert!(text.contains("portico_job_runs_total{job=\"upload_sweep\",outcome=\"ok\"} 2"));
        assert!(text.contains(
            "portico_job_removed_total{job=\"upload_sweep\",kind=\"dangling_objects\"} 3"
        ));
        assert!(text.contains(
            "portico_http_requests_total{method=\"GET\",route=\"/v1/me\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "portico_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/me\",status=\"200\",le=\"0.001\"} 1"
        ));
        assert!(text.contains(
            "portico_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/me\",status=\"200\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "portico_store_call_duration_seconds_count{port=\"users\",op=\"get\",outcome=\"ok\"} 1"
        ));
    }
}
