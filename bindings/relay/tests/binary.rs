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
        saw_token |= line.starts_with("development agent token (12 h): v1.");
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
