//! cobrowse-relay: the co-browsing relay server.
//!
//! An axum HTTP + WebSocket server around the engine's sans-IO session machine, with an
//! in-memory store (the embedded default). See `http` for the API and `config` for settings.

pub mod admission;
pub mod audit;
pub mod auth;
pub mod config;
pub mod http;
pub mod link;
pub mod state;
mod token_bucket;
pub mod wire_state;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};

pub use config::RelayConfig;
pub use state::RelayState;

/// The router with every endpoint.
pub fn router(state: Arc<RelayState>) -> Router {
    Router::new()
        .route("/api/sessions", post(http::create_session))
        .route("/api/sessions/{id}", delete(http::end_session))
        .route("/api/sessions/{id}/invites", post(http::create_invite))
        .route("/healthz", get(http::healthz))
        .route("/metrics", get(http::metrics))
        .route("/ws", get(ws::upgrade))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves, sweeping session timers in the background.
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
            loop {
                tick.tick().await;
                ws::sweep_timers(&state).await;
            }
        })
    };
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
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
