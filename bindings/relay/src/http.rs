//! The HTTP API: create a session (customer), end a session (vendor backend), health, metrics.
//!
//! - `POST /api/sessions` -> 201 `{"id": "123456789", "display_id": "123 456 789",
//!   "customer_secret": "…"}`; 503 when `limits.max_live_sessions` is reached.
//! - `DELETE /api/sessions/{id}` with `Authorization: Bearer <backend_secret>` -> 204; 401
//!   without the right token; 404 for an unknown or ended session.
//! - `POST /api/sessions/{id}/invites` with `Authorization: Bearer <agent token>` of an agent
//!   in the session -> 201 `{"session_id": "123456789", "invite": "…", "expires_in_secs": 600}`:
//!   the share link among agents (see [`crate::admission`]); a colleague joins with
//!   `GET /ws?invite=…`. 401 without a valid agent token; 404 when the session is not live or
//!   the agent is not in it (one answer for both).
//! - `GET /api/dev/agent-token?sub=…&name=…` -> 200 `{"token": "…", "sub": "…"}`, only in
//!   development mode (`dev = true`, HS256) and only to a loopback client (404 otherwise): an
//!   agent token signed with the relay's own secret, so that the demo's console signs itself
//!   in. `sub` defaults to `dev-agent` (at most 64 characters of `[A-Za-z0-9_.-]`).
//! - `GET /healthz` -> 200 `ok`.
//! - `GET /metrics` -> Prometheus text, including `cobrowse_live_sessions`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cobrowse_engine::session::SessionId;
use serde_json::json;

use crate::admission::INVITE_LIFETIME;
use crate::auth::secrets_match;
use crate::net::Peer;
use crate::source::client_group;
use crate::state::{CreateError, RelayState};

/// `POST /api/sessions`: limited per source address (`limits.sessions_per_ip_per_minute`) and
/// in all (`limits.sessions_per_second`, `limits.max_live_sessions`); refusals are 429 (a
/// rate) or 503 (full), with `Retry-After`.
pub async fn create_session(
    State(state): State<Arc<RelayState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    let source = client_group(peer.addr.ip(), &headers, &state.config.trusted_proxies);
    match state.create_session(source) {
        Ok(entry) => (
            StatusCode::CREATED,
            Json(json!({
                "id": format!("{:09}", entry.id.value()),
                "display_id": entry.id.to_string(),
                "customer_secret": entry.customer_secret,
            })),
        )
            .into_response(),
        Err(CreateError::Full | CreateError::NoFreeId) => {
            tracing::warn!(source = %source, "session refused: the relay is full");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "60")],
                Json(json!({"error": "too many live sessions"})),
            )
                .into_response()
        }
        Err(e @ (CreateError::SourceLimited | CreateError::GlobalLimited)) => {
            tracing::info!(source = %source, "session refused: {e:?}");
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "10")],
                Json(json!({"error": "too many sessions created; try again later"})),
            )
                .into_response()
        }
    }
}

/// `DELETE /api/sessions/{id}`
pub async fn end_session(
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let authorized =
        bearer(&headers).is_some_and(|token| secrets_match(token, &state.backend_secret));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "backend token required"})),
        )
            .into_response();
    }
    let Some(entry) = SessionId::parse(&id)
        .ok()
        .and_then(|id| state.session(id.value()))
    else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such live session"})),
        )
            .into_response();
    };
    let mut inner = entry.lock(state.wake_clock()).await;
    let now = state.now();
    if inner.machine.handle_backend_end(now).is_err() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such live session"})),
        )
            .into_response();
    }
    crate::ws::deliver(&state, &entry, &mut inner);
    state.after_event(&entry, &mut inner);
    StatusCode::NO_CONTENT.into_response()
}

/// The bearer token of a request.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// `POST /api/sessions/{id}/invites`
pub async fn create_invite(
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(claims) =
        bearer(&headers).and_then(|t| state.tokens.verify(t, state.unix_secs()).ok())
    else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "agent token required"})),
        )
            .into_response();
    };
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such live session"})),
        )
            .into_response()
    };
    let Some(entry) = SessionId::parse(&id)
        .ok()
        .and_then(|id| state.session(id.value()))
    else {
        return not_found();
    };
    let agent = crate::auth::agent_id_of(&claims.sub);
    let mut inner = entry.lock(state.wake_clock()).await;
    if inner.machine.is_ended() || inner.machine.agent(agent).is_none() {
        return not_found();
    }
    let invite = inner.wire.invites.issue(std::time::Instant::now());
    drop(inner);
    state.audit.record(
        state.unix_ms(),
        Some(entry.id.value()),
        "invite_created",
        json!({ "agent": agent.0 }),
    );
    tracing::info!(session = entry.id.value(), "invite created");
    (
        StatusCode::CREATED,
        Json(json!({
            "session_id": format!("{:09}", entry.id.value()),
            "invite": invite,
            "expires_in_secs": INVITE_LIFETIME.as_secs(),
        })),
    )
        .into_response()
}

/// `GET /api/dev/agent-token` (development mode, loopback clients only).
pub async fn dev_agent_token(
    State(state): State<Arc<RelayState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let hs256 = state
        .config
        .agent_token_algorithm
        .eq_ignore_ascii_case("HS256");
    if !state.config.dev || !hs256 || !peer.addr.ip().is_loopback() {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let sub = query.get("sub").map_or("dev-agent", String::as_str);
    let valid = !sub.is_empty()
        && sub.len() <= 64
        && sub
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !valid {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "sub: 1 to 64 of A-Z a-z 0-9 _ . -"})),
        )
            .into_response();
    }
    let name: String = query
        .get("name")
        .map_or("Development Agent", String::as_str)
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let claims = crate::auth::AgentClaims {
        sub: sub.to_owned(),
        name,
        cobrowse: true,
        exp: state.unix_secs() + 12 * 3600,
    };
    let token = crate::auth::issue_agent_token(&state.agent_secret, &claims);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "token": token, "sub": sub })),
    )
        .into_response()
}

/// `GET /healthz`
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /metrics`
pub async fn metrics(State(state): State<Arc<RelayState>>) -> Response {
    let body = state.metrics.render(state.live_sessions());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
