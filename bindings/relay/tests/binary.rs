//! The `cobrowse-relay` binary as an operator (or an outside check) starts it: no flags, no
//! secrets, `COBROWSE_LISTEN` naming the address. It must listen there, answer the documented
//! HTTP interface, and shut down cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A request over a fresh connection: (status, body).
fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    cobrowse_tests::http_status_and_body(&text)
}

#[test]
fn the_binary_listens_on_cobrowse_listen_serves_the_api_and_stops_on_sigterm() {
    // A free port on loopback.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cobrowse-relay"))
        .env("COBROWSE_LISTEN", addr.to_string())
        .env("NO_COLOR", "1")
        .env_remove("COBROWSE_AGENT_SECRET")
        .env_remove("COBROWSE_BACKEND_SECRET")
        .env_remove("COBROWSE_DEV")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_token = false;
    loop {
        let line = lines
            .next()
            .expect("the relay exited before listening")
            .unwrap();
        saw_token |= line.starts_with("development agent token (12 h): eyJ");
        if line.contains(&format!("listening on http://{addr}")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay did not listen in time"
        );
    }
    assert!(
        saw_token,
        "a development agent token is printed when no secret is set"
    );

    let (status, body) = http(addr, "POST", "/api/sessions");
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v["id"].as_str().unwrap();
    assert!(
        id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert!(v["customer_secret"].as_str().is_some_and(|s| s.len() >= 32));
    assert_eq!(http(addr, "GET", "/healthz").0, 200);
    let (status, metrics) = http(addr, "GET", "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.lines().any(|l| l == "cobrowse_live_sessions 1"),
        "{metrics}"
    );

    // SIGTERM: a graceful stop, exit status 0.
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the relay did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// Whatever the relay logs at `COBROWSE_LOG=trace` (its own events and every library's), no
/// payload, token, secret or page text appears in it.
#[tokio::test]
async fn a_trace_level_log_holds_no_payload_token_or_page_text() {
    use cobrowse_engine::protocol::{ClientInfo, Message, Role};
    use cobrowse_engine::{Capture, Rules, encode_frame, parse_document_str};
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMsg;

    const AGENT_SECRET: &str = "trace-test-agent-secret-0123456789";
    const PAGE_TEXT: &str = "PAGE-TEXT-MARKER-7391";
    const CHAT_TEXT: &str = "CHAT-MARKER-5521";
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let log_path = std::env::temp_dir().join(format!("relay-trace-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cobrowse-relay"))
        .env("COBROWSE_LISTEN", addr.to_string())
        .env("COBROWSE_LOG", "trace")
        .env("NO_COLOR", "1")
        .env("COBROWSE_AGENT_SECRET", AGENT_SECRET)
        .env("COBROWSE_BACKEND_SECRET", "trace-test-backend-secret-0123")
        .env_remove("COBROWSE_DEV")
        // The log goes to stdout (tracing's default); stderr too, to be sure.
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the relay did not listen in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = Duration::from_secs(10);
    let (status, body) = tokio::task::spawn_blocking(move || http(addr, "POST", "/api/sessions"))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v["id"].as_str().unwrap().to_owned();
    let secret = v["customer_secret"].as_str().unwrap().to_owned();
    let client = ClientInfo {
        browser: "Firefox".into(),
        browser_version: "128.0".into(),
        os: "Linux".into(),
        client_version: "test".into(),
    };
    let hello = |role| Message::Hello {
        role,
        client: client.clone(),
        resume: None,
    };
    let url = format!("ws://{addr}/ws?session={id}&secret={secret}");
    let (mut customer, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    customer
        .send(WsMsg::Binary(hello(Role::Customer).encode().into()))
        .await
        .unwrap();
    let page = format!("<!DOCTYPE html><html><body><p>{PAGE_TEXT}</p></body></html>");
    let mut capture = Capture::new(Rules::default(), parse_document_str(&page));
    customer
        .send(WsMsg::Binary(encode_frame(&capture.keyframe()).into()))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = cobrowse_relay::auth::issue_agent_token(
        AGENT_SECRET.as_bytes(),
        &cobrowse_relay::auth::AgentClaims {
            sub: "trace-agent".into(),
            name: "Trace Agent".into(),
            cobrowse: true,
            exp: now + 600,
        },
    );
    let (mut agent, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    agent
        .send(WsMsg::Binary(hello(Role::Agent).encode().into()))
        .await
        .unwrap();
    let join = Message::Join {
        session_id: cobrowse_engine::session::SessionId::parse(&id).unwrap(),
        token: cobrowse_engine::protocol::AuthToken::new(token.clone()),
    };
    agent
        .send(WsMsg::Binary(join.encode().into()))
        .await
        .unwrap();
    // The agent gets the page, then the customer's chat: payloads went through the relay.
    let mut next_message = async || loop {
        let m = tokio::time::timeout(t, agent.next())
            .await
            .expect("the agent got the page and the chat")
            .unwrap()
            .unwrap();
        if let WsMsg::Binary(b) = m {
            return Message::decode(&b).unwrap();
        }
    };
    while !matches!(next_message().await, Message::Frame { .. }) {}
    let chat = Message::Chat {
        from: cobrowse_engine::protocol::ParticipantId(1),
        text: CHAT_TEXT.into(),
    };
    customer
        .send(WsMsg::Binary(chat.encode().into()))
        .await
        .unwrap();
    loop {
        if let Message::Chat { text, .. } = next_message().await {
            assert_eq!(text.as_str(), CHAT_TEXT);
            break;
        }
    }
    drop((customer, agent));
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the relay did not stop on SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    // Trace was on: the relay's own debug events are there.
    assert!(text.contains("connection opened"), "{text}");
    for secret_text in [PAGE_TEXT, CHAT_TEXT, secret.as_str(), token.as_str()] {
        assert!(
            !text.contains(secret_text),
            "the log holds {secret_text}:\n{text}"
        );
    }
}
