//! The process's counters for `serve`'s `/metrics`, in the Prometheus text format 0.0.4 (issue
//! 14, first part): API requests by operation and status, objects stored, bytes, retries and spooled
//! objects, and the live streams (set when scraped). One registry per process, reached through
//! [`global`], so the layers that count need no handle passed down.

use std::sync::OnceLock;

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    api_requests: IntCounterVec,
    store_writes: IntCounter,
    store_bytes: IntCounter,
    store_retries: IntCounter,
    store_spooled: IntCounter,
    live_streams: IntGauge,
}

/// Builds a metric and registers it (names and labels are constants: they cannot clash).
fn registered<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    let metric = metric.expect("a valid metric name and help text");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric registered once");
    metric
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            registered(
                &registry,
                IntCounter::with_opts(Opts::new(format!("ivs_recorder_{name}"), help)),
            )
        };
        Self {
            api_requests: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "ivs_recorder_api_requests_total",
                        "IVS API requests answered, by operation and HTTP status",
                    ),
                    &["operation", "status"],
                ),
            ),
            store_writes: counter(
                "store_writes_total",
                "Objects stored (segments, playlists, thumbnails, metadata)",
            ),
            store_bytes: counter("store_bytes_total", "Bytes of the objects stored"),
            store_retries: counter(
                "store_retries_total",
                "Store writes that failed and were retried",
            ),
            store_spooled: counter(
                "store_spooled_total",
                "Objects kept on disk while the store was unreachable",
            ),
            live_streams: registered(
                &registry,
                IntGauge::new(
                    "ivs_recorder_live_streams",
                    "Channels with a publisher connected",
                ),
            ),
            registry,
        }
    }

    /// An API request for `operation` was answered with `status`.
    pub fn api_request(&self, operation: &str, status: u16) {
        self.api_requests
            .with_label_values(&[operation, &status.to_string()])
            .inc();
    }

    /// An object of `bytes` was stored.
    pub fn stored(&self, bytes: u64) {
        self.store_writes.inc();
        self.store_bytes.inc_by(bytes);
    }

    /// A store write failed and will be retried.
    pub fn store_retry(&self) {
        self.store_retries.inc();
    }

    /// An object went to the disk spool.
    pub fn spooled(&self) {
        self.store_spooled.inc();
    }

    /// How many streams are live now.
    pub fn set_live_streams(&self, count: usize) {
        self.live_streams
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Everything, in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.api_request("GetChannel", 200);
        metrics.api_request("GetChannel", 200);
        metrics.api_request("GetChannel", 404);
        metrics.stored(1000);
        metrics.stored(24);
        metrics.store_retry();
        metrics.set_live_streams(3);
        let text = metrics.render();
        for line in [
            "# TYPE ivs_recorder_api_requests_total counter",
            "ivs_recorder_api_requests_total{operation=\"GetChannel\",status=\"200\"} 2",
            "ivs_recorder_api_requests_total{operation=\"GetChannel\",status=\"404\"} 1",
            "ivs_recorder_store_writes_total 2",
            "ivs_recorder_store_bytes_total 1024",
            "ivs_recorder_store_retries_total 1",
            "ivs_recorder_store_spooled_total 0",
            "ivs_recorder_live_streams 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }
}
