//! Prometheus metrics, kept with `prometheus-client` and rendered in the
//! Prometheus text format 0.0.4:
//!
//! - `portico_http_requests_total` and `portico_http_request_duration_seconds`
//!   per method, route and status. Every label is bounded: the method is a
//!   standard one or `other`, the route a registered pattern or `unmatched`.
//! - `portico_store_call_duration_seconds` per port, operation and outcome.
//! - `portico_job_runs_total` and `portico_job_removed_total` per job.
//! - `portico_build_info{version}` and the standard `process_*` metrics
//!   (CPU seconds, resident and virtual memory, open and maximum file
//!   descriptors, start time), read from `/proc` at each scrape on Linux.

use std::collections::BTreeSet;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StoreLabels {
    port: &'static str,
    op: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct JobLabels {
    job: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MailLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RemovedLabels {
    job: &'static str,
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The process's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Histograms<HttpLabels>,
    store_latency: Histograms<StoreLabels>,
    job_runs: Family<JobLabels, Counter>,
    job_removed: Family<RemovedLabels, Counter>,
    mail: Family<MailLabels, Counter>,
    webhooks: Family<MailLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_latency: Histograms<HttpLabels> = Family::new_with_constructor(latency_histogram);
        let store_latency: Histograms<StoreLabels> =
            Family::new_with_constructor(latency_histogram);
        let job_runs = Family::<JobLabels, Counter>::default();
        let job_removed = Family::<RemovedLabels, Counter>::default();
        let mail = Family::<MailLabels, Counter>::default();
        let webhooks = Family::<MailLabels, Counter>::default();
        registry.register(
            "portico_http_requests",
            "HTTP requests served",
            http_requests.clone(),
        );
        registry.register(
            "portico_http_request_duration_seconds",
            "HTTP request latency",
            http_latency.clone(),
        );
        registry.register(
            "portico_store_call_duration_seconds",
            "Latency of calls to the stores, per port and operation",
            store_latency.clone(),
        );
        registry.register(
            "portico_job_runs",
            "Background job runs in this process, per outcome",
            job_runs.clone(),
        );
        registry.register(
            "portico_job_removed",
            "Records and objects background jobs of this process removed",
            job_removed.clone(),
        );
        registry.register(
            "portico_mail",
            "Queued mail this process worked, per outcome: delivered, expired (dropped unsent, its link expired), retried, dropped (too many failures)",
            mail.clone(),
        );
        registry.register(
            "portico_webhook_deliveries",
            "Webhook deliveries this process worked, per outcome: delivered (2xx), retried, dropped (retries spent, or the endpoint is gone or off), disabled (the endpoint failed for 3 days and was turned off)",
            webhooks.clone(),
        );
        registry.register(
            "portico_build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        registry.register_collector(Box::new(ProcessCollector));
        Self {
            registry,
            http_requests,
            http_latency,
            store_latency,
            job_runs,
            job_removed,
            mail,
            webhooks,
        }
    }
}

/// The `method` label: the standard methods by name, any other token as
/// `other`, so a client cannot grow the label set.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The label of a matched route pattern (or `unmatched`), as a `&'static
/// str` so that recording a request allocates nothing once the route has been
/// seen. The set is bounded by the registered routes: each is kept once, for
/// the life of the process.
pub fn route_label(pattern: &str) -> &'static str {
    static ROUTES: std::sync::RwLock<BTreeSet<&'static str>> =
        std::sync::RwLock::new(BTreeSet::new());
    if let Some(known) = ROUTES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(pattern)
    {
        return known;
    }
    let mut routes = ROUTES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = routes.get(pattern) {
        return known;
    }
    let interned: &'static str = Box::leak(pattern.to_owned().into_boxed_str());
    routes.insert(interned);
    interned
}

impl Metrics {
    /// Records one HTTP request: `method` from [`method_label`], `route`
    /// from [`route_label`], so ids do not explode the label set.
    pub fn http(&self, method: &'static str, route: &'static str, status: u16, took: Duration) {
        let labels = HttpLabels {
            method,
            route,
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Records one store call.
    pub fn store(&self, port: &'static str, op: &'static str, ok: bool, took: Duration) {
        let labels = StoreLabels {
            port,
            op,
            outcome: if ok { "ok" } else { "error" },
        };
        self.store_latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Records one background job run: `outcome` is `ok`, `error` or
    /// `skipped` (another instance held the lease); `removed` counts what it
    /// deleted, per kind.
    pub fn job(&self, job: &'static str, outcome: &'static str, removed: &[(&'static str, u64)]) {
        self.job_runs
            .get_or_create(&JobLabels { job, outcome })
            .inc();
        for (kind, n) in removed {
            self.job_removed
                .get_or_create(&RemovedLabels { job, kind })
                .inc_by(*n);
        }
    }

    /// Counts `n` queued mails worked with `outcome`.
    pub fn mail(&self, outcome: &'static str, n: u64) {
        if n > 0 {
            self.mail.get_or_create(&MailLabels { outcome }).inc_by(n);
        }
    }

    /// Counts `n` webhook deliveries worked with `outcome`.
    pub fn webhook(&self, outcome: &'static str, n: u64) {
        if n > 0 {
            self.webhooks
                .get_or_create(&MailLabels { outcome })
                .inc_by(n);
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::error!(error = %e, "cannot render metrics");
        }
        out
    }
}

/// The standard `process_*` metrics of this process, read from `/proc`
/// when scraped (nothing on systems without it).
#[derive(Debug)]
struct ProcessCollector;

/// What `/proc/self` says, for the process metrics.
#[derive(Debug, Default, PartialEq)]
struct ProcessStats {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    start_time_seconds: f64,
    open_fds: i64,
    max_fds: i64,
}

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

impl ProcessStats {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let boot_time = boot
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse::<f64>()
            .ok()?;
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64);
        Self::parse(&stat, boot_time, &limits, open_fds)
    }

    /// Parses `/proc/self/stat` (fields after the command name: utime 14,
    /// stime 15, starttime 22, vsize 23, rss pages 24) and the open-files
    /// line of `/proc/self/limits`.
    fn parse(stat: &str, boot_time: f64, limits: &str, open_fds: i64) -> Option<Self> {
        // The command name may hold spaces and parentheses: fields start
        // after the last `)`.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        let page = 4096.0;
        let max_fds = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Some(Self {
            cpu_seconds: (field(14)? + field(15)?) / TICKS_PER_SEC,
            start_time_seconds: boot_time + field(22)? / TICKS_PER_SEC,
            virtual_bytes: field(23)? as i64,
            resident_bytes: (field(24)? * page) as i64,
            open_fds,
            max_fds,
        })
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(p) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(p.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, f64); 5] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                p.resident_bytes as f64,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                p.virtual_bytes as f64,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds.",
                p.start_time_seconds,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                p.open_fds as f64,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                p.max_fds as f64,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_label_is_interned_once() {
        let first = route_label(&String::from("/v1/interned/{id}"));
        let again = route_label(&String::from("/v1/interned/{id}"));
        assert_eq!(first, "/v1/interned/{id}");
        assert!(
            std::ptr::eq(first, again),
            "the second look-up reuses the first label"
        );
        assert!(!std::ptr::eq(first, route_label("/v1/interned/other")));
    }

    /// Every metric has one help text that ends in one full stop (the
    /// registry adds it: a text of ours that ends in one shows "..").
    #[test]
    fn help_texts_end_in_one_full_stop() {
        let m = Metrics::default();
        m.http("GET", "/v1/me", 200, Duration::from_micros(300));
        let text = m.render();
        let helps: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
        assert!(helps.len() >= 8, "{text}");
        for help in helps {
            assert!(help.ends_with('.') && !help.ends_with(".."), "{help}");
        }
    }

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.http("GET", "/v1/me", 200, Duration::from_micros(300));
        m.http("GET", "/v1/me", 200, Duration::from_millis(3));
        m.store("users", "get", true, Duration::from_millis(2));
        m.job("upload_sweep", "ok", &[("dangling_objects", 2)]);
        m.job("upload_sweep", "ok", &[("dangling_objects", 1)]);
        let text = m.render();
        assert!(text.contains("portico_build_info{version=\""), "{text}");
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

    #[test]
    fn reads_the_process_figures_from_proc() {
        let stat = "4242 (portico (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 1000 123456789 2000 18446744073709551615";
        let limits = "Limit Soft Limit Hard Limit Units\nMax open files            1024                 524288               files\n";
        let p = ProcessStats::parse(stat, 1_700_000_000.0, limits, 12).unwrap();
        assert_eq!(p.cpu_seconds, 3.0);
        assert_eq!(p.start_time_seconds, 1_700_000_010.0);
        assert_eq!(p.virtual_bytes, 123_456_789);
        assert_eq!(p.resident_bytes, 2000 * 4096);
        assert_eq!((p.open_fds, p.max_fds), (12, 1024));
        assert!(ProcessStats::read().is_some(), "this test runs on Linux");
        let text = Metrics::default().render();
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(text.contains(name), "{name} in {text}");
        }
    }
}
