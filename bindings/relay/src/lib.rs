//! cobrowse-relay: the co-browsing relay server.
//!
//! An axum HTTP + WebSocket server around the engine's sans-IO session machine, with an
//! in-memory store (the embedded default). See `http` for the API and `config` for settings.

pub mod admission;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod config;
pub mod http;
pub mod link;
pub mod metrics;
pub mod net;
pub mod origins;
pub mod small_map;
pub mod source;
pub mod state;
pub mod static_files;
mod token_bucket;
pub mod wire_state;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};

pub use config::RelayConfig;
pub use state::RelayState;

/// Libraries whose own logging can carry payloads, headers or URLs (a WebSocket message, a
/// `?secret=` query): held at `warn` whatever `COBROWSE_LOG` says.
pub const QUIET_LIBRARIES: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "axum",
    "hyper",
    "hyper_util",
    "h2",
    "tower",
    "tower_http",
    "reqwest",
    "rustls",
    "mio",
    "tokio",
];

/// The log filter for `spec` (the `COBROWSE_LOG` value, `info` when unset or invalid): the
/// relay's own events at the level asked for, the [`QUIET_LIBRARIES`] at `warn` at most. The
/// relay itself never logs message contents, tokens or secrets at any level.
pub fn log_filter(spec: Option<&str>) -> tracing_subscriber::EnvFilter {
    let mut filter = spec
        .and_then(|s| tracing_subscriber::EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    for lib in QUIET_LIBRARIES {
        if let Ok(d) = format!("{lib}=warn").parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// The router with every endpoint: the HTTP API (with CORS, [`origins`]), the WebSocket
/// (with its `Origin` check), and the static mounts ([`static_files`]) as the fallback.
pub fn router(state: Arc<RelayState>) -> Router {
    let api = Router::new()
        .route("/api/sessions", post(http::create_session))
        .route("/api/sessions/{id}", delete(http::end_session))
        .route("/api/sessions/{id}/invites", post(http::create_invite))
        .route("/api/dev/agent-token", get(http::dev_agent_token))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origins::cors,
        ));
    let socket = Router::new().route("/ws", get(ws::upgrade)).route_layer(
        axum::middleware::from_fn_with_state(state.clone(), origins::websocket_origin),
    );
    Router::new()
        .merge(api)
        .merge(socket)
        .route("/healthz", get(http::healthz))
        .route("/metrics", get(http::metrics))
        .fallback(static_files::serve)
        .layer(axum::middleware::from_fn(track_request))
        .with_state(state)
}

/// Tells the connection's guard when a request is being handled (no header deadline) and
/// when its response went out (the next header is due), see [`net`].
async fn track_request(
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<net::Peer>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    peer.guard.request_started();
    let response = next.run(request).await;
    peer.guard.response_sent();
    response
}

/// Serves on `listener` until `shutdown` resolves, sweeping session timers in the background.
/// Raises the process's open-file limit first (see [`net::raise_open_file_limit`]) and
/// derives the global connection cap from it unless `limits.max_connections` is set.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<RelayState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let webhook = match (&state.config.webhook_url, state.audit.take_webhook_queue()) {
        (Some(url), Some(rx)) => {
            let secret = state.config.webhook_secret.clone().map(String::into_bytes);
            Some(tokio::spawn(audit::run_webhook(url.clone(), secret, rx)))
        }
        _ => None,
    };
    let sweeper = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            for n in 0u64.. {
                tick.tick().await;
                ws::sweep_timers(&state).await;
                // Histogram samples folded into buckets every 5 s between scrapes.
                if n % 20 == 19 {
                    state.metrics.run_upkeep();
                }
            }
        })
    };
    let open_files = net::raise_open_file_limit();
    let global = net::global_cap(state.config.limits.max_connections, open_files);
    tracing::info!(
        open_files = open_files.unwrap_or(0),
        max_connections = global,
        "connection limits"
    );
    let listener = net::GuardedListener::new(listener, state.clone(), global);
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<net::Peer>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    if let Some(w) = webhook {
        // Give queued events a moment to go out, then stop.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), w).await;
    }
    result
}
