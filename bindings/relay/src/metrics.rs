//! The relay's metrics: counters, gauges and latency histograms recorded through the
//! `metrics` crate and rendered by `metrics-exporter-prometheus` in the Prometheus text format
//! at `GET /metrics` (no listener of its own).
//!
//! Each relay has its own recorder: the handles below are registered on it once, at start,
//! and never on the process-wide recorder, so several relays in one process (the tests) never
//! share or overwrite each other's figures. Every metric is registered at start, so a scrape
//! shows every name from the first request on (counters at 0, histograms with empty buckets).
//!
//! Metric names are stable (the README lists them); counters end in `_total`, durations are
//! in seconds. Values carry no labels: no ids, addresses or page content reach a metric.

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The name of the frame relay time histogram: a customer's frame from its arrival at its
/// session (before the session lock) to its bytes queued for every agent that gets it.
pub const FRAME_RELAY_SECONDS: &str = "cobrowse_frame_relay_seconds";
/// The name of the join time histogram: an agent's `Join` received to its `Joined` (and the
/// relay-made keyframe) queued, for joins that succeed.
pub const JOIN_SECONDS: &str = "cobrowse_join_seconds";

/// Upper bounds (seconds) of the frame relay time buckets: 50 µs to 1 s.
pub const FRAME_RELAY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];
/// Upper bounds (seconds) of the join time buckets: 100 µs to 2.5 s.
pub const JOIN_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The relay's metrics: handles into its own Prometheus recorder.
pub struct Metrics {
    handle: PrometheusHandle,
    /// Sessions that have not ended (set from the store at each scrape).
    live_sessions: Gauge,
    /// Sessions created since start.
    pub sessions_created: Counter,
    /// Sessions ended since start.
    pub sessions_ended: Counter,
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// Frames received from customers and relayed.
    pub frames_relayed: Counter,
    /// Bytes of those frames.
    pub frame_bytes: Counter,
    /// Keyframes the relay made from its mirrors.
    pub relay_keyframes: Counter,
    /// Refused joins (unknown/ended session, bad token, limits).
    pub join_failures: Counter,
    /// Messages refused by rate limits.
    pub rate_limited: Counter,
    /// Deltas not sent to an agent too far behind in its acknowledgements (it gets one
    /// keyframe when it catches up instead).
    pub deltas_withheld: Counter,
    /// Connections closed at accept (per-address or global connection cap).
    pub connections_refused: Counter,
    /// Session creations refused (per-address or global creation rate, or full).
    pub sessions_refused: Counter,
    /// Sessions ended because their customer never connected.
    pub sessions_unconnected: Counter,
    /// Failed customer connections (unknown id, wrong secret, ended session).
    pub customer_failures: Counter,
    /// Frames refused because the mirror would exceed its session's or the relay's budget.
    pub frames_over_budget: Counter,
    /// Audit events the webhook queue could not take.
    pub webhook_dropped: Counter,
    /// See [`FRAME_RELAY_SECONDS`].
    pub frame_relay_seconds: Histogram,
    /// See [`JOIN_SECONDS`].
    pub join_seconds: Histogram,
}

/// Registers and describes metrics on one recorder.
struct Registrar<'a> {
    recorder: &'a metrics_exporter_prometheus::PrometheusRecorder,
}

const METADATA: Metadata<'static> =
    Metadata::new("cobrowse_relay", metrics::Level::INFO, Some(module_path!()));

impl Registrar<'_> {
    fn counter(&self, name: &'static str, help: &'static str) -> Counter {
        debug_assert!(
            name.ends_with("_total"),
            "counter {name} must end in _total"
        );
        self.recorder.describe_counter(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
        self.recorder
            .register_counter(&Key::from_static_name(name), &METADATA)
    }

    fn gauge(&self, name: &'static str, help: &'static str) -> Gauge {
        self.recorder.describe_gauge(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
        self.recorder
            .register_gauge(&Key::from_static_name(name), &METADATA)
    }

    fn histogram(&self, name: &'static str, help: &'static str) -> Histogram {
        debug_assert!(name.ends_with("_seconds"), "histogram {name} is in seconds");
        self.recorder.describe_histogram(
            KeyName::from_const_str(name),
            Some(Unit::Seconds),
            SharedString::const_str(help),
        );
        self.recorder
            .register_histogram(&Key::from_static_name(name), &METADATA)
    }
}

impl Metrics {
    /// A fresh recorder with every metric registered at zero.
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(FRAME_RELAY_SECONDS.into()),
                FRAME_RELAY_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(JOIN_SECONDS.into()), JOIN_BUCKETS)
            })
            .expect("the bucket lists are not empty")
            .build_recorder();
        let r = Registrar {
            recorder: &recorder,
        };
        Metrics {
            handle: recorder.handle(),
            live_sessions: r.gauge("cobrowse_live_sessions", "Sessions that have not ended."),
            sessions_created: r.counter("cobrowse_sessions_created_total", "Sessions created."),
            sessions_ended: r.counter("cobrowse_sessions_ended_total", "Sessions ended."),
            connections: r.gauge("cobrowse_connections", "Open WebSocket connections."),
            frames_relayed: r.counter(
                "cobrowse_frames_relayed_total",
                "Frames relayed from customers.",
            ),
            frame_bytes: r.counter("cobrowse_frame_bytes_total", "Bytes of relayed frames."),
            relay_keyframes: r.counter(
                "cobrowse_relay_keyframes_total",
                "Keyframes made by the relay.",
            ),
            join_failures: r.counter("cobrowse_join_failures_total", "Refused join attempts."),
            rate_limited: r.counter(
                "cobrowse_rate_limited_total",
                "Messages refused by rate limits.",
            ),
            deltas_withheld: r.counter(
                "cobrowse_deltas_withheld_total",
                "Deltas withheld from agents too far behind in their acknowledgements.",
            ),
            connections_refused: r.counter(
                "cobrowse_connections_refused_total",
                "Connections closed at accept by the connection caps.",
            ),
            sessions_refused: r.counter(
                "cobrowse_sessions_refused_total",
                "Session creations refused by the creation limits.",
            ),
            sessions_unconnected: r.counter(
                "cobrowse_sessions_unconnected_total",
                "Sessions ended because their customer never connected.",
            ),
            customer_failures: r.counter(
                "cobrowse_customer_failures_total",
                "Failed customer connections.",
            ),
            frames_over_budget: r.counter(
                "cobrowse_frames_over_budget_total",
                "Frames refused by the mirror memory budgets.",
            ),
            webhook_dropped: r.counter(
                "cobrowse_webhook_dropped_total",
                "Session events the webhook queue could not take.",
            ),
            frame_relay_seconds: r.histogram(
                FRAME_RELAY_SECONDS,
                "A customer's frame from its arrival at its session to its bytes queued for \
                 the agents.",
            ),
            join_seconds: r.histogram(
                JOIN_SECONDS,
                "An agent's Join received to its Joined queued (successful joins).",
            ),
        }
    }

    /// The Prometheus text exposition, with `cobrowse_live_sessions` set to `live_sessions`.
    pub fn render(&self, live_sessions: usize) -> String {
        self.live_sessions.set(live_sessions as f64);
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets (a scrape does it too); run
    /// periodically so that samples do not pile up between scrapes.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Adds one to a counter.
pub fn bump(c: &Counter) {
    c.increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value on the line `name value` of a rendering.
    fn value(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    }

    #[test]
    fn two_relays_in_one_process_keep_their_own_figures() {
        let a = Metrics::new();
        let b = Metrics::new();
        bump(&a.frames_relayed);
        bump(&a.frames_relayed);
        a.frame_bytes.increment(300);
        a.connections.increment(1.0);
        a.join_seconds.record(0.0003);
        bump(&b.frames_relayed);
        let (ta, tb) = (a.render(3), b.render(0));
        assert_eq!(value(&ta, "cobrowse_frames_relayed_total"), 2.0);
        assert_eq!(value(&ta, "cobrowse_frame_bytes_total"), 300.0);
        assert_eq!(value(&ta, "cobrowse_connections"), 1.0);
        assert_eq!(value(&ta, "cobrowse_live_sessions"), 3.0);
        assert_eq!(value(&ta, "cobrowse_join_seconds_count"), 1.0);
        assert_eq!(
            value(&ta, "cobrowse_join_seconds_bucket{le=\"0.00025\"}"),
            0.0
        );
        assert_eq!(
            value(&ta, "cobrowse_join_seconds_bucket{le=\"0.0005\"}"),
            1.0
        );
        assert_eq!(value(&ta, "cobrowse_join_seconds_bucket{le=\"+Inf\"}"), 1.0);
        assert_eq!(value(&tb, "cobrowse_frames_relayed_total"), 1.0);
        assert_eq!(value(&tb, "cobrowse_frame_bytes_total"), 0.0);
        assert_eq!(value(&tb, "cobrowse_join_seconds_count"), 0.0);
        assert_eq!(value(&tb, "cobrowse_live_sessions"), 0.0);
        assert!(
            ta.contains("# TYPE cobrowse_frame_relay_seconds histogram"),
            "{ta}"
        );
        assert!(
            ta.contains("# HELP cobrowse_frames_relayed_total Frames relayed from customers."),
            "{ta}"
        );
    }
}
