//! Static files: directories served under URL prefixes (`static_mounts` in the config), so
//! one relay process serves the web package, the customer widget's demo site and the agent
//! console (`scripts/demo.sh`).
//!
//! Rules:
//! - A prefix starts and ends with `/` (`"/demo/"`); the longest matching prefix wins. The
//!   prefix without its trailing slash (`/demo`) redirects (308) to the prefix.
//! - The rest of the path is percent-decoded and split on `/`; a segment that is empty, `.`,
//!   `..`, or holds a backslash or a NUL is refused (404), so nothing outside the directory
//!   is reachable by the path. A path ending in `/` serves its `index.html`; a directory
//!   without a trailing slash redirects to it.
//! - Files are served whole with a content type from their extension (`.wasm` as
//!   `application/wasm`, so that browsers compile them while streaming),
//!   `X-Content-Type-Options: nosniff` and `Cache-Control: no-cache`. Only `GET` and `HEAD`.
//!   Anything else under no prefix is the router's 404.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::RelayState;

/// Checks one `static_mounts` prefix. The error names it.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix == "/" || (prefix.starts_with('/') && prefix.ends_with('/') && !prefix.contains("//"))
    {
        Ok(())
    } else {
        Err(format!(
            "static_mounts: `{prefix}` must start and end with `/` (such as \"/demo/\")"
        ))
    }
}

/// The content type of a file name.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "txt" | "ts" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Where a request path leads.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A file path under a mount (it may not exist).
    File(PathBuf),
    /// Redirect to this path.
    Redirect(String),
    /// No mount, or a refused path.
    NotFound,
}

/// Resolves `path` (the URL path, still percent-encoded) against the mounts.
pub fn resolve(mounts: &std::collections::BTreeMap<String, PathBuf>, path: &str) -> Resolved {
    let best = mounts
        .iter()
        .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len());
    let Some((prefix, dir)) = best else {
        let with_slash = format!("{path}/");
        if mounts.contains_key(&with_slash) {
            return Resolved::Redirect(with_slash);
        }
        return Resolved::NotFound;
    };
    let rest = &path[prefix.len()..];
    let mut file = dir.clone();
    let segments: Vec<&str> = rest.split('/').collect();
    for (i, raw) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if raw.is_empty() && last {
            file.push("index.html");
            return Resolved::File(file);
        }
        let Some(seg) = percent_decode(raw) else {
            return Resolved::NotFound;
        };
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains(['\\', '\0', '/']) {
            return Resolved::NotFound;
        }
        file.push(seg);
    }
    debug_assert!(file.starts_with(dir));
    if file.is_dir() {
        return Resolved::Redirect(format!("{path}/"));
    }
    Resolved::File(file)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The router's fallback: a file of a mount, or 404.
pub async fn serve(State(state): State<Arc<RelayState>>, request: Request) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let head = request.method() == Method::HEAD;
    if request.method() != Method::GET && !head {
        return not_found();
    }
    let path = request.uri().path();
    match resolve(&state.config.static_mounts, path) {
        Resolved::NotFound => not_found(),
        Resolved::Redirect(to) => {
            let to = match request.uri().query() {
                Some(q) => format!("{to}?{q}"),
                None => to,
            };
            match HeaderValue::from_str(&to) {
                Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
                Err(_) => not_found(),
            }
        }
        Resolved::File(file) => match tokio::fs::read(&file).await {
            Ok(bytes) => {
                let len = bytes.len();
                let body = if head {
                    Body::empty()
                } else {
                    Body::from(bytes)
                };
                let mut response = Response::new(body);
                let h = response.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&file)),
                );
                h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                h.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response
            }
            Err(_) => not_found(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn paths_stay_inside_their_mount() {
        let dir = std::env::temp_dir().join(format!("cobrowse-static-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let mounts = BTreeMap::from([("/demo/".to_owned(), dir.clone())]);
        assert_eq!(
            resolve(&mounts, "/demo/"),
            Resolved::File(dir.join("index.html"))
        );
        assert_eq!(
            resolve(&mounts, "/demo/a%20b.js"),
            Resolved::File(dir.join("a b.js"))
        );
        assert_eq!(
            resolve(&mounts, "/demo"),
            Resolved::Redirect("/demo/".into())
        );
        assert_eq!(
            resolve(&mounts, "/demo/sub"),
            Resolved::Redirect("/demo/sub/".into())
        );
        for bad in [
            "/demo/../etc/passwd",
            "/demo/%2e%2e/x",
            "/demo/a%2fb",
            "/demo/a\\b",
            "/demo//x",
            "/demo/%zz",
            "/other/x",
        ] {
            assert_eq!(resolve(&mounts, bad), Resolved::NotFound, "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("/demo/").is_ok());
        assert!(check_prefix("/").is_ok());
        assert!(check_prefix("/demo").is_err());
        assert!(check_prefix("demo/").is_err());
    }
}
