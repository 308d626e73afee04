//! Which web pages may talk to the relay: CORS on the HTTP API and the `Origin` check on
//! WebSocket upgrades, both from one allow-list (`allowed_origins` in the config).
//!
//! Rules (one function, [`origin_allowed`], decides for both):
//! - A request **without** an `Origin` header is not a browser page's cross-site request (a
//!   vendor backend, `curl`, a native client): allowed. Browsers always send `Origin` on
//!   WebSocket upgrades and on cross-origin API calls, so a hostile page cannot omit it.
//! - The relay's own origin (`http(s)://` + the request's `Host`) is always allowed: pages the
//!   relay serves itself (the demo, the console) need no configuration.
//! - Otherwise the origin must equal an entry of `allowed_origins` (compared ASCII
//!   case-insensitively, without a trailing `/`), or the list holds `"*"`.
//!
//! A refused WebSocket upgrade is answered `403` before any upgrade happens. For the API, an
//! allowed origin gets `Access-Control-Allow-Origin: <origin>` (never `*`, so that it can
//! carry `Authorization`) with `Vary: Origin`; a preflight (`OPTIONS`) from an allowed origin
//! is answered `204` with the methods and headers the API uses, from any other origin `403`.
//! A non-preflight request from a refused origin is still served (a browser withholds the
//! answer from the page without the CORS header; the API's own credentials protect it).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::RelayState;

/// Methods the HTTP API answers to cross-origin callers.
const ALLOWED_METHODS: &str = "GET, POST, DELETE, OPTIONS";
/// Request headers the HTTP API reads.
const ALLOWED_HEADERS: &str = "authorization, content-type";
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Checks one `allowed_origins` entry: `"*"` or `scheme://host[:port]` with an `http` or
/// `https` scheme and nothing after the host. The error names the entry.
pub fn check_origin_setting(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ', '@']) => Ok(()),
        _ => Err(format!(
            "allowed_origins: `{origin}` is not \"*\" or an origin such as https://www.example.com"
        )),
    }
}

/// Whether a page of `origin` may use the relay reached as `host` (see the module docs).
pub fn origin_allowed(allowed: &[String], origin: &str, host: Option<&str>) -> bool {
    let origin = origin.trim_end_matches('/');
    if let Some(host) = host {
        for scheme in ["http://", "https://"] {
            if origin
                .strip_prefix(scheme)
                .is_some_and(|h| h.eq_ignore_ascii_case(host))
            {
                return true;
            }
        }
    }
    allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// The request's `Origin`, if it has a readable one.
fn origin_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

fn host_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

/// Middleware of the HTTP API: preflights and the CORS headers of answers.
pub async fn cors(State(state): State<Arc<RelayState>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let Some(origin) = origin_of(headers).map(str::to_owned) else {
        return next.run(request).await;
    };
    let allowed = origin_allowed(&state.config.allowed_origins, &origin, host_of(headers));
    if request.method() == Method::OPTIONS {
        if !allowed {
            return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        allow_origin(h, &origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
        return response;
    }
    let mut response = next.run(request).await;
    if allowed {
        allow_origin(response.headers_mut(), &origin);
    } else {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

fn allow_origin(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Middleware of `GET /ws`: an upgrade from a page whose origin is not allowed gets `403`.
pub async fn websocket_origin(
    State(state): State<Arc<RelayState>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if let Some(origin) = origin_of(headers)
        && !origin_allowed(&state.config.allowed_origins, origin, host_of(headers))
    {
        tracing::info!("websocket refused: origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_origin_listed_origins_and_star() {
        let list = vec!["https://bank.example".to_owned()];
        assert!(origin_allowed(
            &list,
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080")
        ));
        assert!(origin_allowed(
            &list,
            "https://BANK.example/",
            Some("relay:1")
        ));
        assert!(!origin_allowed(
            &list,
            "https://bank.example.evil",
            Some("relay:1")
        ));
        assert!(!origin_allowed(
            &list,
            "http://127.0.0.1:8081",
            Some("127.0.0.1:8080")
        ));
        assert!(!origin_allowed(&[], "null", Some("127.0.0.1:8080")));
        assert!(origin_allowed(
            &["*".to_owned()],
            "https://any.example",
            None
        ));
    }

    #[test]
    fn settings_are_origins() {
        assert_eq!(check_origin_setting("https://a.example:8443"), Ok(()));
        assert_eq!(check_origin_setting("*"), Ok(()));
        assert!(check_origin_setting("https://a.example/path").is_err());
        assert!(check_origin_setting("a.example").is_err());
        assert!(check_origin_setting("https://").is_err());
    }
}
