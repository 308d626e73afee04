//! The audit log: session events as JSON lines, appended to a file, a bounded in-memory
//! tail, and an optional webhook queue (events it could not take are counted in
//! [`crate::metrics::Metrics::webhook_dropped`]).
//!
//! Events carry ids, kinds, reasons and counts only: never page content, typed input, chat
//! text or URLs, so nothing masked can reach a log.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::{Value, json};

// The metrics lived here before `crate::metrics`; the old paths still resolve.
pub use crate::metrics::{Metrics, bump};

/// Where audit events go.
pub struct AuditLog {
    file: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
    webhook: Option<tokio::sync::mpsc::Sender<Value>>,
    webhook_rx: Mutex<Option<tokio::sync::mpsc::Receiver<Value>>>,
    /// Events dropped because the webhook queue was full.
    webhook_dropped: metrics::Counter,
    /// The last events, for tests and the health of the log (bounded).
    recent: Mutex<std::collections::VecDeque<Value>>,
}

impl AuditLog {
    /// Opens (appending) the log file, if one is configured; with `webhook`, events are also
    /// queued (at most [`WEBHOOK_QUEUE`]) for [`run_webhook`]; events the queue cannot take
    /// are counted in `webhook_dropped`.
    pub fn open(
        path: Option<&Path>,
        webhook: bool,
        webhook_dropped: metrics::Counter,
    ) -> std::io::Result<AuditLog> {
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
        let (webhook, webhook_rx) = if webhook {
            let (tx, rx) = tokio::sync::mpsc::channel(WEBHOOK_QUEUE);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        Ok(AuditLog {
            file,
            webhook,
            webhook_rx: Mutex::new(webhook_rx),
            webhook_dropped,
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
        // The same line in the relay's log (ids, kinds and reasons only, like the audit log).
        tracing::info!(target: "cobrowse_relay::audit", "{obj}");
        if let Some(f) = &self.file {
            let mut f = f.lock().expect("audit lock");
            // A full disk must not take the relay down: the error is logged, the event kept
            // in memory.
            if let Err(e) = writeln!(f, "{obj}").and_then(|_| f.flush()) {
                tracing::error!("audit log write failed: {e}");
            }
        }
        if let Some(tx) = &self.webhook
            && tx.try_send(obj.clone()).is_err()
        {
            bump(&self.webhook_dropped);
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

/// Events waiting for the webhook at most; past that they are dropped and counted.
pub const WEBHOOK_QUEUE: usize = 10_000;

impl AuditLog {
    /// The receiving end of the webhook queue (taken once, by [`run_webhook`]'s caller).
    pub fn take_webhook_queue(&self) -> Option<tokio::sync::mpsc::Receiver<Value>> {
        self.webhook_rx.lock().expect("audit lock").take()
    }
}

/// POSTs queued events to `url`, one JSON object per request, in order, signed with
/// `secret` when given (`X-Cobrowse-Signature: sha256=<hex HMAC-SHA256 of the body>`).
/// A failed delivery is retried three times with backoff (0.5 s, 1 s, 2 s), then logged and
/// dropped; a slow or dead endpoint never blocks the relay (the queue is bounded).
pub async fn run_webhook(
    url: String,
    secret: Option<Vec<u8>>,
    mut rx: tokio::sync::mpsc::Receiver<Value>,
) {
    use hmac::Mac;
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("webhook client: {e}");
            return;
        }
    };
    while let Some(event) = rx.recv().await {
        let body = event.to_string();
        let signature = secret.as_ref().map(|key| {
            let mut m =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
            m.update(body.as_bytes());
            format!("sha256={}", hex::encode(m.finalize().into_bytes()))
        });
        let mut delay = std::time::Duration::from_millis(500);
        for attempt in 0..4 {
            let mut req = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(sig) = &signature {
                req = req.header("x-cobrowse-signature", sig);
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => {
                    tracing::warn!("webhook answered {} (attempt {})", r.status(), attempt + 1)
                }
                Err(e) => tracing::warn!(
                    "webhook failed (attempt {}): {}",
                    attempt + 1,
                    e.without_url()
                ),
            }
            if attempt == 3 {
                tracing::error!("webhook event dropped after 4 attempts");
                break;
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
}
