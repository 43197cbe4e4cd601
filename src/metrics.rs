//! The process's metrics for `serve`'s `/metrics`, in the Prometheus text format 0.0.4: API
//! requests by operation and status; objects stored, their bytes, retries, spooled objects and
//! bytes, objects waiting to be stored; the encode speed of each transcoded rung (media seconds
//! per second of scaling and encoding); the delay from a thumbnail's keyframe to its stored JPEG;
//! and, set when scraped, the live streams with each channel's ingest bitrate, frame rate and
//! ingest queue. One registry per process, reached through [`global`], so the layers that count
//! need no handle passed down.

use std::sync::OnceLock;

use std::time::Duration;

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    api_requests: IntCounterVec,
    store_writes: IntCounter,
    store_bytes: IntCounter,
    store_retries: IntCounter,
    store_spooled: IntCounter,
    store_spooled_bytes: IntCounter,
    store_queue: IntGauge,
    live_streams: IntGauge,
    ingest_bitrate: GaugeVec,
    ingest_frame_rate: GaugeVec,
    ingest_queue_bytes: IntGaugeVec,
    encode_speed: GaugeVec,
    thumbnail_delay: Histogram,
}

/// What is measured of one live stream when `/metrics` is scraped.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSample {
    /// The channel's name (the label).
    pub channel: String,
    /// Bits per second received over the last seconds.
    pub bitrate_bps: f64,
    /// Video frames per second received over the last seconds.
    pub frame_rate: f64,
    /// Bytes received but not yet taken by the recorder.
    pub queued_bytes: u64,
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
            store_spooled_bytes: counter(
                "store_spooled_bytes_total",
                "Bytes of the objects kept on disk while the store was unreachable",
            ),
            store_queue: registered(
                &registry,
                IntGauge::new(
                    "ivs_recorder_store_queue_objects",
                    "Objects waiting to be stored, in memory or in the disk spool",
                ),
            ),
            live_streams: registered(
                &registry,
                IntGauge::new(
                    "ivs_recorder_live_streams",
                    "Channels with a publisher connected",
                ),
            ),
            ingest_bitrate: registered(
                &registry,
                GaugeVec::new(
                    Opts::new(
                        "ivs_recorder_ingest_bitrate_bps",
                        "Bits per second a live channel's publisher sent over the last 5 s",
                    ),
                    &["channel"],
                ),
            ),
            ingest_frame_rate: registered(
                &registry,
                GaugeVec::new(
                    Opts::new(
                        "ivs_recorder_ingest_frame_rate",
                        "Video frames per second a live channel's publisher sent over the last 5 s",
                    ),
                    &["channel"],
                ),
            ),
            ingest_queue_bytes: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "ivs_recorder_ingest_queue_bytes",
                        "Bytes received from a live channel's publisher, not yet taken by its recorder",
                    ),
                    &["channel"],
                ),
            ),
            encode_speed: registered(
                &registry,
                GaugeVec::new(
                    Opts::new(
                        "ivs_recorder_encode_speed_ratio",
                        "Media seconds a transcoded rung scales and encodes per second of its work (x real time), over its last second of media",
                    ),
                    &["channel", "rendition"],
                ),
            ),
            thumbnail_delay: registered(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "ivs_recorder_thumbnail_delay_seconds",
                        "From a thumbnail's keyframe entering the recorder to its JPEG stored",
                    )
                    .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
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

    /// An object of `bytes` went to the disk spool.
    pub fn spooled(&self, bytes: u64) {
        self.store_spooled.inc();
        self.store_spooled_bytes.inc_by(bytes);
    }

    /// A writer's count of objects waiting changed by `change`.
    pub fn store_queue_changed(&self, change: i64) {
        self.store_queue.add(change);
    }

    /// The live streams now, with what each receives.
    pub fn set_live(&self, streams: &[IngestSample]) {
        self.live_streams
            .set(i64::try_from(streams.len()).unwrap_or(i64::MAX));
        self.ingest_bitrate.reset();
        self.ingest_frame_rate.reset();
        self.ingest_queue_bytes.reset();
        for stream in streams {
            let channel = [stream.channel.as_str()];
            self.ingest_bitrate
                .with_label_values(&channel)
                .set(stream.bitrate_bps);
            self.ingest_frame_rate
                .with_label_values(&channel)
                .set(stream.frame_rate);
            self.ingest_queue_bytes
                .with_label_values(&channel)
                .set(i64::try_from(stream.queued_bytes).unwrap_or(i64::MAX));
        }
    }

    /// Rung `rendition` of `channel` encodes at `speed` x real time (`None`: it stopped).
    pub fn set_encode_speed(&self, channel: &str, rendition: &str, speed: Option<f64>) {
        match speed {
            Some(speed) => self
                .encode_speed
                .with_label_values(&[channel, rendition])
                .set(speed),
            None => {
                let _ = self.encode_speed.remove_label_values(&[channel, rendition]);
            }
        }
    }

    /// A thumbnail was stored `delay` after its keyframe entered the recorder.
    pub fn thumbnail_stored(&self, delay: Duration) {
        self.thumbnail_delay.observe(delay.as_secs_f64());
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
        metrics.spooled(300);
        metrics.set_live(&[IngestSample {
            channel: "a".into(),
            bitrate_bps: 2.5e6,
            frame_rate: 30.0,
            queued_bytes: 4096,
        }]);
        metrics.set_encode_speed("a", "480p30", Some(3.5));
        metrics.set_encode_speed("a", "160p30", Some(9.0));
        metrics.set_encode_speed("a", "160p30", None);
        metrics.thumbnail_stored(Duration::from_millis(300));
        let text = metrics.render();
        for line in [
            "# TYPE ivs_recorder_api_requests_total counter",
            "ivs_recorder_api_requests_total{operation=\"GetChannel\",status=\"200\"} 2",
            "ivs_recorder_api_requests_total{operation=\"GetChannel\",status=\"404\"} 1",
            "ivs_recorder_store_writes_total 2",
            "ivs_recorder_store_bytes_total 1024",
            "ivs_recorder_store_retries_total 1",
            "ivs_recorder_store_spooled_total 1",
            "ivs_recorder_store_spooled_bytes_total 300",
            "ivs_recorder_live_streams 1",
            "ivs_recorder_ingest_bitrate_bps{channel=\"a\"} 2500000",
            "ivs_recorder_ingest_frame_rate{channel=\"a\"} 30",
            "ivs_recorder_ingest_queue_bytes{channel=\"a\"} 4096",
            "ivs_recorder_encode_speed_ratio{channel=\"a\",rendition=\"480p30\"} 3.5",
            "ivs_recorder_thumbnail_delay_seconds_bucket{le=\"0.25\"} 0",
            "ivs_recorder_thumbnail_delay_seconds_bucket{le=\"0.5\"} 1",
            "ivs_recorder_thumbnail_delay_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert!(!text.contains("160p30"), "a stopped rung is gone:\n{text}");
        metrics.set_live(&[]);
        assert!(
            !metrics
                .render()
                .contains("ivs_recorder_ingest_bitrate_bps{")
        );
    }
}
