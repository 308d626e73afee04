//! The relay's HTTP API, served for real on 127.0.0.1 and driven over TCP.

use std::net::SocketAddr;
use std::sync::Arc;

use cobrowse_relay::{RelayConfig, RelayState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BACKEND: &str = "backend-secret-0123456789";

async fn start(
    config: RelayConfig,
) -> (
    SocketAddr,
    Arc<RelayState>,
    tokio::sync::oneshot::Sender<()>,
) {
    let state = Arc::new(
        RelayState::new(config, b"agent-secret-0123456789".to_vec(), BACKEND.into()).unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let s = state.clone();
    tokio::spawn(async move {
        cobrowse_relay::serve(listener, s, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, state, tx)
}

/// One HTTP/1.1 request; returns (status, body).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    cobrowse_tests::http_status_and_body(&String::from_utf8_lossy(&buf))
}

fn live(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("cobrowse_live_sessions "))
        .and_then(|v| v.trim().parse().ok())
        .expect("metrics name cobrowse_live_sessions")
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let (addr, _, stop) = start(RelayConfig::default()).await;
    let (status, body) = http(addr, "GET", "/healthz", &[]).await;
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, body) = http(addr, "GET", "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(live(&body), 0);
    assert!(body.contains("# TYPE cobrowse_live_sessions gauge"));
    stop.send(()).unwrap();
}

#[tokio::test]
async fn creating_a_session_gives_nine_digits_and_a_secret() {
    let mut config = RelayConfig::default();
    config.limits.sessions_per_ip_per_minute = 100;
    let (addr, state, stop) = start(config).await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..50 {
        let (status, body) = http(addr, "POST", "/api/sessions", &[]).await;
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 9);
        assert!(id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0'));
        assert_eq!(v["customer_secret"].as_str().unwrap().len(), 43);
        assert!(ids.insert(id), "ids are unique among live sessions");
    }
    let (_, metrics) = http(addr, "GET", "/metrics", &[]).await;
    assert_eq!(live(&metrics), 50);
    assert_eq!(state.live_sessions(), 50);
    stop.send(()).unwrap();
}

#[tokio::test]
async fn the_backend_ends_a_session_with_its_token_only() {
    let (addr, state, stop) = start(RelayConfig::default()).await;
    let (_, body) = http(addr, "POST", "/api/sessions", &[]).await;
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/sessions/{id}");
    assert_eq!(http(addr, "DELETE", &path, &[]).await.0, 401);
    assert_eq!(
        http(
            addr,
            "DELETE",
            &path,
            &[("Authorization", "Bearer wrong-token-0000000")]
        )
        .await
        .0,
        401
    );
    let auth = format!("Bearer {BACKEND}");
    assert_eq!(
        http(
            addr,
            "DELETE",
            "/api/sessions/123",
            &[("Authorization", &auth)]
        )
        .await
        .0,
        404
    );
    assert_eq!(
        http(addr, "DELETE", &path, &[("Authorization", &auth)])
            .await
            .0,
        204
    );
    // Ended: gone from the store, never to come back.
    assert_eq!(state.live_sessions(), 0);
    assert_eq!(
        http(addr, "DELETE", &path, &[("Authorization", &auth)])
            .await
            .0,
        404
    );
    let events: Vec<String> = state
        .audit
        .recent()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert!(events.first().is_some_and(|e| e == "created"), "{events:?}");
    assert!(events.iter().any(|e| e == "ended"), "{events:?}");
    stop.send(()).unwrap();
}

#[tokio::test]
async fn the_live_session_limit_answers_503() {
    let mut config = RelayConfig::default();
    config.limits.max_live_sessions = 2;
    let (addr, _, stop) = start(config).await;
    assert_eq!(http(addr, "POST", "/api/sessions", &[]).await.0, 201);
    assert_eq!(http(addr, "POST", "/api/sessions", &[]).await.0, 201);
    assert_eq!(http(addr, "POST", "/api/sessions", &[]).await.0, 503);
    stop.send(()).unwrap();
}

#[tokio::test]
async fn audit_events_are_appended_as_json_lines() {
    let dir = std::env::temp_dir().join(format!("relay-audit-{}", std::process::id()));
    let file = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&file);
    let config = RelayConfig {
        audit_log: Some(file.clone()),
        ..RelayConfig::default()
    };
    let (addr, _, stop) = start(config).await;
    http(addr, "POST", "/api/sessions", &[]).await;
    http(addr, "POST", "/api/sessions", &[]).await;
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l["event"] == "created" && l["session"].as_str().unwrap().len() == 9)
    );
    stop.send(()).unwrap();
}

#[tokio::test]
async fn session_events_are_posted_to_the_webhook_signed() {
    use axum::routing::post;
    use hmac::Mac;
    // The vendor's endpoint: records bodies and signatures.
    let seen: Arc<tokio::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let sink = seen.clone();
    let app = axum::Router::new().route(
        "/events",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let sig = headers
                    .get("x-cobrowse-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                sink.lock().await.push((body, sig));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let config = RelayConfig {
        webhook_url: Some(format!("http://{hook}/events")),
        webhook_secret: Some("webhook-secret-0123456789".into()),
        ..RelayConfig::default()
    };
    let (addr, _, stop) = start(config).await;
    let (_, body) = http(addr, "POST", "/api/sessions", &[]).await;
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth = format!("Bearer {BACKEND}");
    assert_eq!(
        http(
            addr,
            "DELETE",
            &format!("/api/sessions/{id}"),
            &[("Authorization", &auth)]
        )
        .await
        .0,
        204
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if seen.lock().await.len() >= 2 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = seen.lock().await.clone();
    let events: Vec<String> = got
        .iter()
        .map(|(b, _)| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(events, vec!["created", "ended"], "in order");
    for (body, sig) in &got {
        let mut m =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(b"webhook-secret-0123456789").unwrap();
        m.update(body.as_bytes());
        assert_eq!(
            sig,
            &format!("sha256={}", hex::encode(m.finalize().into_bytes()))
        );
        assert!(body.contains(&id));
    }
    stop.send(()).unwrap();
}
