//! The relay's web layer, served for real on 127.0.0.1: static mounts, CORS on the HTTP API,
//! the WebSocket `Origin` check, and the development agent token.

use std::net::SocketAddr;
use std::sync::Arc;

use cobrowse_relay::{RelayConfig, RelayState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const AGENT_SECRET: &[u8] = b"agent-secret-0123456789";

async fn start(config: RelayConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let state = Arc::new(
        RelayState::new(
            config,
            AGENT_SECRET.to_vec(),
            "backend-secret-0123456789".into(),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        cobrowse_relay::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// One HTTP/1.1 request; returns the status line's code, the header block (lower-cased
/// names) and the body.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if method != "GET" {
        req.push_str("Content-Length: 0\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

fn site() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cobrowse-web-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pages")).unwrap();
    std::fs::write(dir.join("index.html"), "<!DOCTYPE html><title>demo</title>").unwrap();
    std::fs::write(dir.join("pages/income.html"), "<p>income</p>").unwrap();
    std::fs::write(dir.join("engine.wasm"), b"\0asm\x01\0\0\0").unwrap();
    dir
}

#[tokio::test]
async fn mounts_serve_files_with_types_and_nothing_outside() {
    let dir = site();
    let mut config = RelayConfig::default();
    config.static_mounts.insert("/demo/".into(), dir.clone());
    let (addr, stop) = start(config).await;

    let (status, head, body) = request(addr, "GET", "/demo/", &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "<!DOCTYPE html><title>demo</title>")
    );
    assert_eq!(
        header(&head, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    let (status, head, _) = request(addr, "GET", "/demo/engine.wasm", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-type"), Some("application/wasm"));
    let (status, _, body) = request(addr, "GET", "/demo/pages/income.html", &[]).await;
    assert_eq!((status, body.as_str()), (200, "<p>income</p>"));
    let (status, head, _) = request(addr, "GET", "/demo?x=1", &[]).await;
    assert_eq!(
        (status, header(&head, "location")),
        (308, Some("/demo/?x=1"))
    );
    let (status, head, _) = request(addr, "GET", "/demo/pages", &[]).await;
    assert_eq!(
        (status, header(&head, "location")),
        (308, Some("/demo/pages/"))
    );
    for bad in [
        "/demo/../Cargo.toml",
        "/demo/%2e%2e/Cargo.toml",
        "/demo/missing.html",
        "/elsewhere/",
    ] {
        let (status, _, _) = request(addr, "GET", bad, &[]).await;
        assert_eq!(status, 404, "{bad}");
    }
    // The API still answers beside the mounts.
    let (status, _, body) = request(addr, "GET", "/healthz", &[]).await;
    assert_eq!((status, body.trim()), (200, "ok"));
    stop.send(()).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    let config = RelayConfig {
        allowed_origins: vec!["https://bank.example".into()],
        ..RelayConfig::default()
    };
    let (addr, stop) = start(config).await;
    let preflight = |origin: &'static str| async move {
        request(
            addr,
            "OPTIONS",
            "/api/sessions",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
            ],
        )
        .await
    };
    let (status, head, _) = preflight("https://bank.example").await;
    assert_eq!(status, 204);
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        Some("https://bank.example")
    );
    assert_eq!(
        header(&head, "access-control-allow-methods"),
        Some("get, post, delete, options")
    );
    assert_eq!(
        header(&head, "access-control-allow-headers"),
        Some("authorization, content-type")
    );
    let (status, head, _) = preflight("https://evil.example").await;
    assert_eq!(status, 403);
    assert_eq!(header(&head, "access-control-allow-origin"), None);

    let (status, head, body) = request(
        addr,
        "POST",
        "/api/sessions",
        &[("Origin", "https://bank.example")],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        Some("https://bank.example")
    );
    assert_eq!(header(&head, "vary"), Some("origin"));
    let (status, head, _) = request(
        addr,
        "POST",
        "/api/sessions",
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(header(&head, "access-control-allow-origin"), None);
    // The relay's own origin needs no configuration.
    let own = format!("http://{addr}");
    let (status, head, _) =
        request(addr, "POST", "/api/sessions", &[("Origin", own.as_str())]).await;
    assert_eq!(status, 201);
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        Some(own.as_str())
    );
    stop.send(()).unwrap();
}

async fn upgrade_status(addr: SocketAddr, origin: Option<&str>) -> u16 {
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    if let Some(o) = origin {
        headers.push(("Origin", o));
    }
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn websocket_upgrades_check_the_origin() {
    let config = RelayConfig {
        allowed_origins: vec!["https://bank.example".into()],
        ..RelayConfig::default()
    };
    let (addr, stop) = start(config).await;
    assert_eq!(
        upgrade_status(addr, Some("https://bank.example")).await,
        101
    );
    assert_eq!(
        upgrade_status(addr, Some(&format!("http://{addr}"))).await,
        101
    );
    assert_eq!(upgrade_status(addr, None).await, 101);
    assert_eq!(
        upgrade_status(addr, Some("https://evil.example")).await,
        403
    );
    assert_eq!(upgrade_status(addr, Some("null")).await, 403);
    stop.send(()).unwrap();
}

#[tokio::test]
async fn the_development_token_is_served_in_development_mode_only() {
    let (addr, stop) = start(RelayConfig::default()).await;
    let (status, _, _) = request(addr, "GET", "/api/dev/agent-token", &[]).await;
    assert_eq!(status, 404);
    stop.send(()).unwrap();

    let config = RelayConfig {
        dev: true,
        ..RelayConfig::default()
    };
    let (addr, stop) = start(config).await;
    let (status, head, body) = request(
        addr,
        "GET",
        "/api/dev/agent-token?sub=agent-7&name=Ann",
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&head, "cache-control"), Some("no-store"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["sub"], "agent-7");
    let claims = cobrowse_relay::auth::verify_agent_token(
        AGENT_SECRET,
        v["token"].as_str().unwrap(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.name.as_str(), claims.cobrowse),
        ("agent-7", "Ann", true)
    );
    let (status, _, _) = request(addr, "GET", "/api/dev/agent-token?sub=a%20b", &[]).await;
    assert_eq!(status, 400);
    stop.send(()).unwrap();
}
