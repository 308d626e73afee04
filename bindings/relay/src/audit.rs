//! The audit log: session events as JSON lines, appended to a file, and counters for the
//! `/metrics` endpoint.
//!
//! Events carry ids, kinds, reasons and counts only: never page content, typed input, chat
//! text or URLs, so nothing masked can reach a log.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

/// Where audit events go.
pub struct AuditLog {
    file: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
    /// The last events, for tests and the health of the log (bounded).
    recent: Mutex<std::collections::VecDeque<Value>>,
}

impl AuditLog {
    /// Opens (appending) the log file, if one is configured.
    pub fn open(path: Option<&Path>) -> std::io::Result<AuditLog> {
        let file = match path {
            Some(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?;
                Some(Mutex::new(std::io::BufWriter::new(f)))
            }
            None => None,
        };
        Ok(AuditLog {
            file,
            recent: Mutex::new(Default::default()),
        })
    }

    /// Records one event: `{"ts": unix ms, "session": "123456789", "event": kind, ...fields}`.
    pub fn record(&self, unix_ms: u64, session: Option<u32>, event: &str, fields: Value) {
        let mut obj = json!({ "ts": unix_ms, "event": event });
        if let Some(s) = session {
            obj["session"] = json!(format!("{s:09}"));
        }
        if let Value::Object(extra) = fields {
            for (k, v) in extra {
                obj[k] = v;
            }
        }
        if let Some(f) = &self.file {
            let mut f = f.lock().expect("audit lock");
            // A full disk must not take the relay down: the error is logged, the event kept
            // in memory.
            if let Err(e) = writeln!(f, "{obj}").and_then(|_| f.flush()) {
                tracing::error!("audit log write failed: {e}");
            }
        }
        let mut recent = self.recent.lock().expect("audit lock");
        if recent.len() == 1024 {
            recent.pop_front();
        }
        recent.push_back(obj);
    }

    /// The most recent events (at most 1024).
    pub fn recent(&self) -> Vec<Value> {
        self.recent
            .lock()
            .expect("audit lock")
            .iter()
            .cloned()
            .collect()
    }
}

/// Counters exported at `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Sessions created since start.
    pub sessions_created: AtomicU64,
    /// Sessions ended since start.
    pub sessions_ended: AtomicU64,
    /// Open WebSocket connections.
    pub connections: AtomicU64,
    /// Frames received from customers and relayed.
    pub frames_relayed: AtomicU64,
    /// Bytes of those frames.
    pub frame_bytes: AtomicU64,
    /// Keyframes the relay made from its mirrors.
    pub relay_keyframes: AtomicU64,
    /// Refused joins (unknown/ended session, bad token, limits).
    pub join_failures: AtomicU64,
    /// Messages refused by rate limits.
    pub rate_limited: AtomicU64,
}

impl Metrics {
    /// Prometheus text exposition.
    pub fn render(&self, live_sessions: usize) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut line = |name: &str, kind: &str, help: &str, v: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        };
        line(
            "cobrowse_live_sessions",
            "gauge",
            "Sessions that have not ended.",
            live_sessions as u64,
        );
        line(
            "cobrowse_sessions_created_total",
            "counter",
            "Sessions created.",
            g(&self.sessions_created),
        );
        line(
            "cobrowse_sessions_ended_total",
            "counter",
            "Sessions ended.",
            g(&self.sessions_ended),
        );
        line(
            "cobrowse_connections",
            "gauge",
            "Open WebSocket connections.",
            g(&self.connections),
        );
        line(
            "cobrowse_frames_relayed_total",
            "counter",
            "Frames relayed from customers.",
            g(&self.frames_relayed),
        );
        line(
            "cobrowse_frame_bytes_total",
            "counter",
            "Bytes of relayed frames.",
            g(&self.frame_bytes),
        );
        line(
            "cobrowse_relay_keyframes_total",
            "counter",
            "Keyframes made by the relay.",
            g(&self.relay_keyframes),
        );
        line(
            "cobrowse_join_failures_total",
            "counter",
            "Refused join attempts.",
            g(&self.join_failures),
        );
        line(
            "cobrowse_rate_limited_total",
            "counter",
            "Messages refused by rate limits.",
            g(&self.rate_limited),
        );
        out
    }
}

/// Adds one to a counter.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}
