//! The relay's WebSocket path, served for real on 127.0.0.1 and driven by real WebSocket
//! clients: a simulated customer that captures a page with the engine and streams a keyframe
//! and seeded edits as deltas, and agents that replay every frame into their own mirrors and
//! check, after every step, that their page's fingerprint is the customer's.
//!
//! Every await is bounded ([`T`]); a silent relay fails a test instead of hanging it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cobrowse_engine::protocol::{
    ClientInfo, DenyReason, EndReason, ErrorCode, HighlightScope, Message, Mode, Navigation,
    ParticipantId, Role,
};
use cobrowse_engine::session::SessionId;
use cobrowse_engine::*;
use cobrowse_relay::auth::{AgentClaims, issue_agent_token};
use cobrowse_relay::{RelayConfig, RelayState};
use cobrowse_tests::edits::EditGenerator;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMsg;

const BACKEND: &str = "backend-secret-0123456789";
const AGENT_SECRET: &[u8] = b"agent-secret-0123456789";
/// The bound on every wait.
const T: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(300);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PAGE: &str = r#"<!DOCTYPE html><html><head><title>Shop</title></head><body>
<h1 id="title">Checkout</h1>
<p id="intro">Please check your order.</p>
<ul id="items"><li>Tea</li><li>Cake</li><li>Jam</li></ul>
<form id="order" action="/order" method="post">
  <input id="name" name="name" value="Ada">
  <input id="card" type="password" name="card" value="4111111111111111">
  <button id="buy" type="submit">Buy</button>
</form>
<div id="footer"><a id="help" href="https://example.com/help">Help</a></div>
</body></html>"#;

// ---------------------------------------------------------------------------------------------
// The server.

struct Server {
    addr: SocketAddr,
    state: Arc<RelayState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(config: RelayConfig) -> Server {
    let state = Arc::new(RelayState::new(config, AGENT_SECRET.to_vec(), BACKEND.into()).unwrap());
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
    Server {
        addr,
        state,
        _stop: tx,
    }
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let fut = async {
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
    };
    tokio::time::timeout(T, fut).await.expect("HTTP timed out")
}

/// `POST /api/sessions`: (id, customer secret).
async fn create(addr: SocketAddr) -> (String, String) {
    let (status, body) = http(addr, "POST", "/api/sessions", &[]).await;
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        v["id"].as_str().unwrap().to_owned(),
        v["customer_secret"].as_str().unwrap().to_owned(),
    )
}

/// `POST /api/sessions/{id}/invites` with an agent token: (status, body).
async fn invite(addr: SocketAddr, id: &str, agent_token: &str) -> (u16, String) {
    let auth = format!("Bearer {agent_token}");
    http(
        addr,
        "POST",
        &format!("/api/sessions/{id}/invites"),
        &[("Authorization", &auth)],
    )
    .await
}

fn token(sub: &str, exp_offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    issue_agent_token(
        AGENT_SECRET,
        &AgentClaims {
            sub: sub.into(),
            name: format!("Agent {sub}"),
            cobrowse: true,
            exp: (now + exp_offset) as u64,
        },
    )
}

fn metric(state: &RelayState, name: &str) -> u64 {
    state
        .metrics
        .render(state.live_sessions())
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name}"))
}

// ---------------------------------------------------------------------------------------------
// Clients.

#[derive(Debug)]
enum In {
    Msg(Message),
    Closed,
}

async fn connect(addr: SocketAddr, query: &str) -> Ws {
    let url = format!("ws://{addr}/ws{query}");
    tokio::time::timeout(T, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect timed out")
        .expect("connect")
        .0
}

async fn send(ws: &mut Ws, msg: &Message) {
    send_raw(ws, msg.encode()).await;
}

async fn send_raw(ws: &mut Ws, bytes: Vec<u8>) {
    tokio::time::timeout(T, ws.send(WsMsg::Binary(bytes.into())))
        .await
        .expect("send timed out")
        .expect("send");
}

async fn recv(ws: &mut Ws) -> In {
    loop {
        match tokio::time::timeout(T, ws.next())
            .await
            .expect("timed out waiting for the relay")
        {
            None | Some(Err(_)) | Some(Ok(WsMsg::Close(_))) => return In::Closed,
            Some(Ok(WsMsg::Binary(b))) => {
                let m = Message::decode(&b).expect("the relay sends valid messages");
                // The customer's measured round trip comes whenever a ping is answered: noise
                // here, like the pings themselves (`the_agents_see_the_customers_round_trip`).
                if !matches!(m, Message::Latency { .. }) {
                    return In::Msg(m);
                }
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// Nothing (but pings and the customer's measured round trip) arrives for a little while.
async fn quiet(ws: &mut Ws) -> Option<Message> {
    let until = tokio::time::Instant::now() + QUIET;
    loop {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(WsMsg::Binary(b)))) => match Message::decode(&b).unwrap() {
                Message::Latency { .. } => continue,
                m => return Some(m),
            },
            Ok(Some(Ok(WsMsg::Ping(_) | WsMsg::Pong(_)))) => continue,
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }
}

/// Reads until an error arrives, then expects the close (or reports that it stayed open).
async fn expect_error(ws: &mut Ws) -> ErrorCode {
    loop {
        match recv(ws).await {
            In::Msg(Message::Error { code, .. }) => return code,
            In::Msg(_) => continue,
            In::Closed => panic!("closed without a typed error"),
        }
    }
}

async fn expect_closed(ws: &mut Ws) {
    loop {
        match recv(ws).await {
            In::Closed => return,
            In::Msg(_) => continue,
        }
    }
}

fn hello(role: Role) -> Message {
    hello_resuming(role, None)
}

/// A `Hello` that resumes with the token of an earlier `Joined`.
fn hello_resuming(role: Role, resume: Option<protocol::Reconnect>) -> Message {
    Message::Hello {
        role,
        client: ClientInfo {
            browser: "Firefox".into(),
            browser_version: "128.0".into(),
            os: "Linux".into(),
            client_version: "test".into(),
        },
        resume,
    }
}

/// A customer: the live page, captured and diffed with the engine.
struct Customer {
    ws: Ws,
    /// The session and the resume token of its `Joined`.
    session: SessionId,
    resume: protocol::ResumeToken,
    /// The customer's page and the frames made of it.
    capture: Capture,
    edits: EditGenerator,
}

impl Customer {
    async fn connect(addr: SocketAddr, id: &str, secret: &str, seed: u64) -> Customer {
        let mut ws = connect(addr, &format!("?session={id}&secret={secret}")).await;
        send(&mut ws, &hello(Role::Customer)).await;
        Customer::joined(ws, seed).await
    }

    /// Comes back with the resume token of an earlier `Joined` instead of the secret.
    async fn resume(
        addr: SocketAddr,
        session: SessionId,
        token: protocol::ResumeToken,
        seed: u64,
    ) -> Customer {
        let mut ws = connect(addr, "").await;
        let resume = protocol::Reconnect {
            session_id: session,
            participant_id: ParticipantId(1),
            token,
            last_seq: None,
        };
        send(&mut ws, &hello_resuming(Role::Customer, Some(resume))).await;
        Customer::joined(ws, seed).await
    }

    async fn joined(mut ws: Ws, seed: u64) -> Customer {
        let (session, resume) = match recv(&mut ws).await {
            In::Msg(Message::Joined {
                session_id,
                participant_id,
                role,
                resume_token,
                ..
            }) => {
                assert_eq!((participant_id, role), (ParticipantId(1), Role::Customer));
                (session_id, resume_token)
            }
            other => panic!("customer expected Joined, got {other:?}"),
        };
        Customer {
            ws,
            session,
            resume,
            capture: Capture::new(Rules::default(), parse_document_str(PAGE)),
            edits: EditGenerator::new(seed),
        }
    }

    fn fingerprint(&self) -> u64 {
        self.capture.tree().fingerprint()
    }

    async fn send_keyframe(&mut self) {
        let frame = self.capture.keyframe();
        send_raw(&mut self.ws, encode_frame(&frame)).await;
    }

    /// A navigation: another page, captured and sent as a keyframe.
    async fn navigate(&mut self, html: &str) {
        // The delta to the new page is not sent: a navigation reaches the agents as a keyframe.
        let _ = self.capture.replace_document(parse_document_str(html));
        self.send_keyframe().await;
    }

    /// Seeded edits on the page, sent as one delta (edits that change nothing visible are
    /// followed by more until one does); returns the delta frame's length in bytes.
    async fn step(&mut self) -> usize {
        let delta = loop {
            self.edits.edit(self.capture.tree_mut(), 3);
            if let Some(d) = self.capture.delta() {
                break d;
            }
        };
        send_raw(&mut self.ws, encode_frame(&delta)).await;
        delta.len()
    }

    /// The wire id of the element with this `id` attribute.
    fn wire(&self, html_id: &str) -> WireId {
        let live = self.capture.tree();
        let n = live
            .descendants(live.root())
            .find(|&n| {
                live.element(n)
                    .is_some_and(|e| e.attr("id") == Some(html_id))
            })
            .unwrap_or_else(|| panic!("#{html_id}"));
        live.wire_id(n)
    }

    /// The next message that is not a frame-related one.
    async fn next(&mut self) -> In {
        recv(&mut self.ws).await
    }

    /// Reads until `pred` matches.
    async fn until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Message {
        loop {
            match recv(&mut self.ws).await {
                In::Msg(m) if pred(&m) => return m,
                In::Msg(_) => continue,
                In::Closed => panic!("customer closed while waiting for {what}"),
            }
        }
    }
}

/// An agent with its own mirror.
struct Agent {
    ws: Ws,
    mirror: Mirror,
    pid: ParticipantId,
    /// The session it is in.
    session: SessionId,
    /// Its resume token (from `Joined`).
    resume: protocol::ResumeToken,
    /// Relay-made keyframes received (a keyframe whose seq is not new to this agent's stream is
    /// counted too: the agent cannot tell who made it, the test can by the customer's silence).
    keyframes: usize,
}

impl Agent {
    async fn try_join(addr: SocketAddr, id: &str, token: &str) -> Result<Agent, (ErrorCode, Ws)> {
        Agent::try_join_with(addr, "", id, token).await
    }

    /// Joins over a connection opened with `query` (an invite).
    async fn try_join_with(
        addr: SocketAddr,
        query: &str,
        id: &str,
        token: &str,
    ) -> Result<Agent, (ErrorCode, Ws)> {
        let mut ws = connect(addr, query).await;
        send(&mut ws, &hello(Role::Agent)).await;
        send(
            &mut ws,
            &Message::Join {
                session_id: SessionId::parse(id).unwrap(),
                token: protocol::AuthToken::new(token),
            },
        )
        .await;
        Agent::joined(ws).await
    }

    /// Comes back with the resume token of an earlier `Joined` (no vendor token).
    async fn try_resume(
        addr: SocketAddr,
        session: SessionId,
        pid: ParticipantId,
        token: protocol::ResumeToken,
    ) -> Result<Agent, (ErrorCode, Ws)> {
        let mut ws = connect(addr, "").await;
        let resume = protocol::Reconnect {
            session_id: session,
            participant_id: pid,
            token,
            last_seq: None,
        };
        send(&mut ws, &hello_resuming(Role::Agent, Some(resume))).await;
        Agent::joined(ws).await
    }

    /// Reads until `Joined` or an error.
    async fn joined(mut ws: Ws) -> Result<Agent, (ErrorCode, Ws)> {
        loop {
            match recv(&mut ws).await {
                In::Msg(Message::Joined {
                    session_id,
                    participant_id,
                    role,
                    customer,
                    resume_token,
                    ..
                }) => {
                    assert_eq!(role, Role::Agent);
                    assert!(participant_id.0 >= 2, "agents are numbered from 2");
                    assert_eq!(customer.map(|c| c.browser), Some("Firefox".to_owned()));
                    return Ok(Agent {
                        ws,
                        mirror: Mirror::new(MirrorOptions::default()),
                        pid: participant_id,
                        session: session_id,
                        resume: resume_token,
                        keyframes: 0,
                    });
                }
                In::Msg(Message::Error { code, .. }) => return Err((code, ws)),
                In::Msg(_) => continue,
                In::Closed => panic!("closed without Joined or an error"),
            }
        }
    }

    /// Asks the relay for an invite (`POST /api/sessions/{id}/invites`) with this agent's
    /// vendor token; returns the `?invite=` query a colleague connects with.
    async fn invite(&self, addr: SocketAddr, token: &str) -> String {
        let (status, body) = invite(addr, &format!("{:09}", self.session.value()), token).await;
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["expires_in_secs"], 600);
        format!("?invite={}", v["invite"].as_str().unwrap())
    }

    async fn join(addr: SocketAddr, id: &str, token: &str) -> Agent {
        match Agent::try_join(addr, id, token).await {
            Ok(a) => a,
            Err((code, _)) => panic!("join refused: {code:?}"),
        }
    }

    fn on(&mut self, m: &Message) {
        if let Message::Frame { bytes } = m {
            let h = FrameView::access(bytes).expect("a valid frame").header();
            if h.kind == FrameKind::Keyframe {
                self.keyframes += 1;
            }
            self.mirror
                .apply_frame(bytes, &mut ())
                .expect("the agent's mirror applies every frame it gets");
        }
    }

    /// The next message (frames are applied to the mirror and returned too).
    async fn next(&mut self) -> In {
        let m = recv(&mut self.ws).await;
        if let In::Msg(m) = &m {
            self.on(m);
        }
        m
    }

    /// Reads (applying frames) until the mirror shows `fingerprint`.
    async fn sync(&mut self, fingerprint: u64) {
        while self.mirror.fingerprint() != fingerprint || !self.mirror.in_sync() {
            match self.next().await {
                In::Msg(_) => {}
                In::Closed => panic!("agent closed while syncing"),
            }
        }
    }

    /// Reads (applying frames) until `pred` matches.
    async fn until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Message {
        loop {
            match self.next().await {
                In::Msg(m) if pred(&m) => return m,
                In::Msg(_) => continue,
                In::Closed => panic!("agent closed while waiting for {what}"),
            }
        }
    }

    /// Reads until an error, returning its code.
    async fn error(&mut self) -> ErrorCode {
        match self
            .until("an error", |m| matches!(m, Message::Error { .. }))
            .await
        {
            Message::Error { code, .. } => code,
            _ => unreachable!(),
        }
    }
}

/// Matches `Connection` messages saying a participant is (`true`) or is no longer connected.
fn connection(connected: bool) -> impl Fn(&Message) -> bool {
    move |m| matches!(m, Message::Connection { connected: c, .. } if *c == connected)
}

/// A session with a connected customer who sent its first keyframe, and one joined agent in
/// sync with it.
async fn session_with_agent(addr: SocketAddr, seed: u64, sub: &str) -> (String, Customer, Agent) {
    let (id, secret) = create(addr).await;
    let mut c = Customer::connect(addr, &id, &secret, seed).await;
    c.send_keyframe().await;
    let mut a = Agent::join(addr, &id, &token(sub, 3600)).await;
    a.sync(c.fingerprint()).await;
    (id, c, a)
}

/// The next `Latency` message on `ws` (the other helpers skip them), within `T`.
async fn next_latency(ws: &mut Ws) -> Message {
    loop {
        match tokio::time::timeout(T, ws.next())
            .await
            .expect("no Latency in time")
        {
            Some(Ok(WsMsg::Binary(b))) => {
                let m = Message::decode(&b).unwrap();
                if matches!(m, Message::Latency { .. }) {
                    return m;
                }
            }
            Some(Ok(_)) => continue,
            other => panic!("closed while waiting for Latency: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_agents_see_the_customers_round_trip() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 81, "latency-1").await;
    // The relay pings the customer's socket within 2 s of its connection; tungstenite answers
    // while the customer reads, and the round trip reaches the agent.
    let reader = tokio::spawn(async move {
        let _ = quiet(&mut c.ws).await;
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            let _ = quiet(&mut c.ws).await;
        }
        c
    });
    let Message::Latency {
        participant_id,
        rtt_ms,
    } = next_latency(&mut a.ws).await
    else {
        unreachable!()
    };
    assert_eq!(participant_id, protocol::ParticipantId(1), "the customer's");
    assert!(rtt_ms < 5_000, "a loopback round trip: {rtt_ms} ms");
    let c = reader.await.unwrap();
    // An agent joining later gets the last measurement after its keyframe.
    let invite = a.invite(s.addr, &token("latency-1", 3600)).await;
    let mut late = match Agent::try_join_with(s.addr, &invite, &id, &token("latency-2", 3600)).await
    {
        Ok(b) => b,
        Err((code, _)) => panic!("invite refused: {code:?}"),
    };
    late.sync(c.fingerprint()).await;
    assert!(matches!(
        next_latency(&mut late.ws).await,
        Message::Latency {
            participant_id: protocol::ParticipantId(1),
            ..
        }
    ));
}

// ---------------------------------------------------------------------------------------------
// The keyframe the relay makes from its mirror.

#[test]
fn relay_keyframes_round_trip_to_the_same_fingerprint() {
    let rules = Rules::default();
    let cases = cobrowse_tests::repo_root().join("corpus/cases");
    let mut pages: Vec<String> = vec![PAGE.to_owned()];
    for e in std::fs::read_dir(&cases).unwrap() {
        let p = e.unwrap().path();
        for f in ["from.html", "to.html"] {
            if let Ok(s) = std::fs::read_to_string(p.join(f)) {
                pages.push(s);
            }
        }
    }
    assert!(pages.len() > 10);
    for (i, html) in pages.iter().enumerate() {
        let mut capture = Capture::new(rules.clone(), parse_document_str(html));
        let mut relay = Mirror::new(MirrorOptions::default());
        relay.apply_frame(&capture.keyframe(), &mut ()).unwrap();
        // Some edits, so the relay's tree has been through deltas.
        EditGenerator::new(i as u64).edit(capture.tree_mut(), 6);
        if let Some(delta) = capture.delta() {
            relay.apply_frame(&delta, &mut ()).unwrap();
        }
        let kf = relay.keyframe().expect("in sync");
        let mut agent = Mirror::new(MirrorOptions::default());
        let got = agent
            .apply_frame(&kf, &mut ())
            .unwrap_or_else(|e| panic!("page {i}: {e}"));
        assert_eq!(got.seq, capture.seq());
        assert_eq!(
            agent.fingerprint(),
            capture.tree().fingerprint(),
            "page {i}"
        );
        assert!(agent.tree().same_tree(relay.tree()), "page {i}");
        // And later deltas still apply on top of it (the wire ids are the same).
        EditGenerator::new(100 + i as u64).edit(capture.tree_mut(), 4);
        if let Some(delta) = capture.delta() {
            agent.apply_frame(&delta, &mut ()).unwrap();
        }
        assert_eq!(
            agent.fingerprint(),
            capture.tree().fingerprint(),
            "page {i}"
        );
    }
    // Not in sync: no keyframe.
    assert!(Mirror::default().keyframe().is_none());
}

// ---------------------------------------------------------------------------------------------
// Lifecycle.

#[tokio::test]
async fn lifecycle_join_gets_a_relay_keyframe_deltas_flow_pause_resume_and_customer_end() {
    let s = start(RelayConfig::default()).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 1).await;
    // The page goes to the relay before any agent is there.
    c.send_keyframe().await;
    c.step().await;
    assert!(quiet(&mut c.ws).await.is_none(), "no keyframe request");

    // The agent joins and at once has the page, made by the relay: the customer is told an
    // agent joined and is not asked for anything.
    let mut a = Agent::join(s.addr, &id, &token("ada", 3600)).await;
    a.sync(c.fingerprint()).await;
    assert_eq!(a.keyframes, 1);
    assert_eq!(metric(&s.state, "cobrowse_relay_keyframes_total"), 1);
    match c.next().await {
        In::Msg(Message::PeerJoined {
            participant_id,
            role,
            participants,
        }) => assert_eq!(
            (participant_id, role, participants),
            (a.pid, Role::Agent, 2)
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        quiet(&mut c.ws).await.is_none(),
        "the relay did not ask the customer for a keyframe"
    );

    // Deltas flow; the agent's page equals the customer's after every step.
    for _ in 0..12 {
        c.step().await;
        a.sync(c.fingerprint()).await;
        assert_eq!(a.mirror.fingerprint(), c.fingerprint());
    }
    assert_eq!(a.keyframes, 1, "deltas only after the join");
    assert!(metric(&s.state, "cobrowse_frames_relayed_total") >= 12);

    // Pause: the agent is told, and nothing of the page reaches it.
    send(
        &mut c.ws,
        &Message::Pause {
            reason: session::PauseReason::CustomerStoppedSharing,
        },
    )
    .await;
    a.until("Pause", |m| matches!(m, Message::Pause { .. }))
        .await;
    let before = a.mirror.fingerprint();
    c.step().await; // a (misbehaving) frame while paused is dropped
    assert!(quiet(&mut a.ws).await.is_none(), "nothing while paused");
    assert_eq!(a.mirror.fingerprint(), before);

    // Resume: agents wait for the customer's keyframe; a delta coming first is not forwarded
    // and the relay asks for the keyframe.
    send(&mut c.ws, &Message::Resume).await;
    a.until("Resume", |m| matches!(m, Message::Resume)).await;
    c.until("Resume", |m| matches!(m, Message::Resume)).await;
    c.step().await;
    c.until("KeyframeRequest", |m| {
        matches!(m, Message::KeyframeRequest { .. })
    })
    .await;
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;
    for _ in 0..3 {
        c.step().await;
        a.sync(c.fingerprint()).await;
    }

    // Chat both ways, attributed to the authenticated sender whatever the message claims.
    send(
        &mut a.ws,
        &Message::Chat {
            from: ParticipantId(1),
            text: "hello from the agent".into(),
        },
    )
    .await;
    match c.until("Chat", |m| matches!(m, Message::Chat { .. })).await {
        Message::Chat { from, text } => {
            assert_eq!(from, a.pid, "the sender is the connection, not the claim");
            assert_eq!(text, "hello from the agent");
        }
        _ => unreachable!(),
    }
    send(
        &mut c.ws,
        &Message::Chat {
            from: ParticipantId(99),
            text: "hi".into(),
        },
    )
    .await;
    let apid = a.pid;
    match a
        .until(
            "Chat",
            |m| matches!(m, Message::Chat { from, .. } if *from != apid),
        )
        .await
    {
        Message::Chat { from, .. } => assert_eq!(from, ParticipantId(1)),
        _ => unreachable!(),
    }

    // The customer ends it: the agent is told and closed; so is the customer.
    send(
        &mut c.ws,
        &Message::End {
            reason: EndReason::CustomerEnded,
        },
    )
    .await;
    match a.until("End", |m| matches!(m, Message::End { .. })).await {
        Message::End { reason } => assert_eq!(reason, EndReason::CustomerEnded),
        _ => unreachable!(),
    }
    expect_closed(&mut a.ws).await;
    c.until("End", |m| matches!(m, Message::End { .. })).await;
    expect_closed(&mut c.ws).await;
    assert_eq!(s.state.live_sessions(), 0);

    // No rejoin, by the agent or the customer.
    let Err((code, mut ws)) = Agent::try_join(s.addr, &id, &token("ada", 3600)).await else {
        panic!("rejoined an ended session");
    };
    assert_eq!(code, ErrorCode::SessionEnded);
    expect_closed(&mut ws).await;
    let mut ws = connect(s.addr, &format!("?session={id}&secret={secret}")).await;
    send(&mut ws, &hello(Role::Customer)).await;
    assert_eq!(expect_error(&mut ws).await, ErrorCode::SessionNotFound);
    expect_closed(&mut ws).await;
}

#[tokio::test]
async fn an_agent_joining_before_the_first_page_gets_the_customers_keyframe() {
    let s = start(RelayConfig::default()).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 16).await;
    let mut a = Agent::join(s.addr, &id, &token("vic", 3600)).await;
    // The relay has no page yet: it asks the customer, once.
    c.until("KeyframeRequest", |m| {
        matches!(m, Message::KeyframeRequest { have_seq: None })
    })
    .await;
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;
    c.step().await;
    a.sync(c.fingerprint()).await;
    // A customer without the session's credentials is refused.
    let mut ws = connect(s.addr, "").await;
    send(&mut ws, &hello(Role::Customer)).await;
    assert_eq!(expect_error(&mut ws).await, ErrorCode::Unauthorized);
    expect_closed(&mut ws).await;
}

#[tokio::test]
async fn an_agent_ends_the_session_and_the_customer_is_told() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 2, "bob").await;
    c.step().await;
    a.sync(c.fingerprint()).await;
    send(
        &mut a.ws,
        &Message::End {
            reason: EndReason::AgentEnded,
        },
    )
    .await;
    match c.until("End", |m| matches!(m, Message::End { .. })).await {
        Message::End { reason } => assert_eq!(reason, EndReason::AgentEnded),
        _ => unreachable!(),
    }
    expect_closed(&mut c.ws).await;
    a.until("End", |m| matches!(m, Message::End { .. })).await;
    expect_closed(&mut a.ws).await;
    let Err((code, _)) = Agent::try_join(s.addr, &id, &token("bob", 3600)).await else {
        panic!("rejoined");
    };
    assert_eq!(code, ErrorCode::SessionEnded);
}

#[tokio::test]
async fn the_backend_ends_the_session_and_both_sides_are_told() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 3, "cy").await;
    let auth = format!("Bearer {BACKEND}");
    let (status, _) = http(
        s.addr,
        "DELETE",
        &format!("/api/sessions/{id}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(status, 204);
    for ws in [&mut c.ws, &mut a.ws] {
        loop {
            match recv(ws).await {
                In::Msg(Message::End { reason }) => {
                    assert_eq!(reason, EndReason::BackendEnded);
                    break;
                }
                In::Msg(_) => continue,
                In::Closed => panic!("closed before End"),
            }
        }
        expect_closed(ws).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Control and permissions.

#[tokio::test]
async fn control_request_approve_decline_revoke_and_denials() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 4, "dee").await;
    let invite = a.invite(s.addr, &token("dee", 3600)).await;
    let mut b = match Agent::try_join_with(s.addr, &invite, &id, &token("eve", 3600)).await {
        Ok(b) => b,
        Err((code, _)) => panic!("invite refused: {code:?}"),
    };
    b.sync(c.fingerprint()).await;
    assert_ne!(a.pid, b.pid);
    let name = c.wire("name");
    let buy = c.wire("buy");

    // Pointer mode: input is refused, a click is only a ripple on the customer's page.
    send(
        &mut a.ws,
        &Message::AgentInput {
            target: name,
            value: "Grace".into(),
        },
    )
    .await;
    assert_eq!(
        a.error().await,
        ErrorCode::PermissionDenied(DenyReason::NotInControl)
    );
    send(
        &mut a.ws,
        &Message::AgentClick {
            target: buy,
            x: 3.5,
            y: 4.0,
        },
    )
    .await;
    match c
        .until("ClickRipple", |m| matches!(m, Message::ClickRipple { .. }))
        .await
    {
        Message::ClickRipple {
            from, x, target, ..
        } => {
            assert_eq!((from, x, target), (a.pid, 3.5, Some(buy)))
        }
        _ => unreachable!(),
    }

    // Request, decline.
    send(&mut a.ws, &Message::ControlRequest { agent: a.pid }).await;
    match c
        .until("ControlRequest", |m| {
            matches!(m, Message::ControlRequest { .. })
        })
        .await
    {
        Message::ControlRequest { agent } => assert_eq!(agent, a.pid),
        _ => unreachable!(),
    }
    send(&mut c.ws, &Message::ControlDecline { agent: a.pid }).await;
    a.until("ControlDecline", |m| {
        matches!(m, Message::ControlDecline { .. })
    })
    .await;

    // Request, approve: everyone learns the mode.
    send(&mut a.ws, &Message::ControlRequest { agent: a.pid }).await;
    c.until("ControlRequest", |m| {
        matches!(m, Message::ControlRequest { .. })
    })
    .await;
    // While a request is pending another agent's request is refused.
    send(&mut c.ws, &Message::ControlApprove { agent: a.pid }).await;
    a.until("ControlApprove", |m| {
        matches!(m, Message::ControlApprove { .. })
    })
    .await;
    match b
        .until("ModeChanged", |m| matches!(m, Message::ModeChanged { .. }))
        .await
    {
        Message::ModeChanged { mode, .. } => assert_eq!(mode, Mode::Control(a.pid)),
        _ => unreachable!(),
    }

    // In control: input is replayed on the customer's side.
    send(
        &mut a.ws,
        &Message::AgentInput {
            target: name,
            value: "Grace".into(),
        },
    )
    .await;
    match c
        .until("AgentInput", |m| matches!(m, Message::AgentInput { .. }))
        .await
    {
        Message::AgentInput { target, value } => {
            assert_eq!((target, value.as_str()), (name, "Grace"))
        }
        _ => unreachable!(),
    }
    // Navigation and scrolling in control are replayed too.
    send(
        &mut a.ws,
        &Message::Navigate {
            to: Navigation::Url("https://example.com/cart".into()),
        },
    )
    .await;
    match c
        .until("Navigate", |m| matches!(m, Message::Navigate { .. }))
        .await
    {
        Message::Navigate { to } => {
            assert_eq!(to, Navigation::Url("https://example.com/cart".into()))
        }
        _ => unreachable!(),
    }
    send(
        &mut a.ws,
        &Message::Scroll {
            target: None,
            x: 0.0,
            y: 480.5,
        },
    )
    .await;
    match c
        .until("Scroll", |m| matches!(m, Message::Scroll { .. }))
        .await
    {
        Message::Scroll { y, .. } => assert_eq!(y, 480.5),
        _ => unreachable!(),
    }
    // Denial: submit buttons are disabled for agents.
    send(&mut a.ws, &Message::AgentSubmit { target: buy }).await;
    assert_eq!(
        a.error().await,
        ErrorCode::PermissionDenied(DenyReason::ElementDisabled)
    );
    // Denial: the masked password field.
    send(
        &mut a.ws,
        &Message::AgentInput {
            target: c.wire("card"),
            value: "x".into(),
        },
    )
    .await;
    assert_eq!(
        a.error().await,
        ErrorCode::PermissionDenied(DenyReason::MaskedField)
    );
    // Denial: an action by the agent not in control.
    send(
        &mut b.ws,
        &Message::Navigate {
            to: Navigation::Reload,
        },
    )
    .await;
    assert_eq!(
        b.error().await,
        ErrorCode::PermissionDenied(DenyReason::NotInControl)
    );
    send(&mut b.ws, &Message::ControlRequest { agent: b.pid }).await;
    assert_eq!(
        b.error().await,
        ErrorCode::PermissionDenied(DenyReason::NotInControl),
        "control is held by another agent"
    );
    // Denial: a role may not send the other side's messages.
    send(&mut b.ws, &Message::ControlApprove { agent: b.pid }).await;
    assert_eq!(
        b.error().await,
        ErrorCode::PermissionDenied(DenyReason::WrongRole)
    );
    send(&mut c.ws, &Message::AgentSubmit { target: buy }).await;
    assert_eq!(
        expect_error(&mut c.ws).await,
        ErrorCode::PermissionDenied(DenyReason::WrongRole)
    );

    // Revoke: back to pointer mode, and input is refused again.
    send(&mut c.ws, &Message::ControlRevoke).await;
    a.until("ControlRevoke", |m| matches!(m, Message::ControlRevoke))
        .await;
    match b
        .until("ModeChanged", |m| matches!(m, Message::ModeChanged { .. }))
        .await
    {
        Message::ModeChanged { mode, .. } => assert_eq!(mode, Mode::Pointer),
        _ => unreachable!(),
    }
    send(
        &mut a.ws,
        &Message::AgentInput {
            target: name,
            value: "x".into(),
        },
    )
    .await;
    assert_eq!(
        a.error().await,
        ErrorCode::PermissionDenied(DenyReason::NotInControl)
    );

    // Presence: pointer and highlight reach the customer, attributed to the connection.
    send(
        &mut b.ws,
        &Message::Pointer {
            from: ParticipantId(1),
            x: 10.25,
            y: 20.0,
            target: Some(name),
        },
    )
    .await;
    match c
        .until("Pointer", |m| matches!(m, Message::Pointer { .. }))
        .await
    {
        Message::Pointer {
            from, x, target, ..
        } => {
            assert_eq!((from, x, target), (b.pid, 10.25, Some(name)))
        }
        _ => unreachable!(),
    }
    send(
        &mut b.ws,
        &Message::Highlight {
            from: b.pid,
            id: 7,
            target: c.wire("intro"),
            rect: None,
            color: None,
        },
    )
    .await;
    match c
        .until("Highlight", |m| matches!(m, Message::Highlight { .. }))
        .await
    {
        Message::Highlight { from, id, .. } => assert_eq!((from, id), (b.pid, 7)),
        _ => unreachable!(),
    }
    send(
        &mut b.ws,
        &Message::HighlightClear {
            from: b.pid,
            which: HighlightScope::All,
        },
    )
    .await;
    match c
        .until("HighlightClear", |m| {
            matches!(m, Message::HighlightClear { .. })
        })
        .await
    {
        Message::HighlightClear { from, which } => {
            assert_eq!((from, which), (b.pid, HighlightScope::One(7)))
        }
        _ => unreachable!(),
    }
    // Side channel: a shared link, with its title, from the authenticated agent.
    send(
        &mut b.ws,
        &Message::SharedLink {
            from: ParticipantId(1),
            url: "https://example.com/terms".into(),
            title: "Terms".into(),
        },
    )
    .await;
    match c
        .until("SharedLink", |m| matches!(m, Message::SharedLink { .. }))
        .await
    {
        Message::SharedLink { from, url, title } => {
            assert_eq!(from, b.pid);
            assert_eq!(
                (url.as_str(), title.as_str()),
                ("https://example.com/terms", "Terms")
            );
        }
        _ => unreachable!(),
    }
    // Frames still flow to both agents.
    c.step().await;
    a.sync(c.fingerprint()).await;
    b.sync(c.fingerprint()).await;

    // Masked values never reach the relay's memory, and typed text and chat never reach
    // its audit log.
    let entry = s.state.session(id.parse().unwrap()).unwrap();
    let html = entry.inner.lock().await.mirror.to_html();
    assert!(!html.contains("4111111111111111"));
    assert!(!b.mirror.to_html().contains("4111111111111111"));
    let audit = serde_json::to_string(&s.state.audit.recent()).unwrap();
    assert!(!audit.contains("Grace") && !audit.contains("4111111111111111"));
}

#[tokio::test]
async fn partial_control_refuses_form_input() {
    let mut config = RelayConfig::default();
    config.policy.control_ceiling = "partial".into();
    let s = start(config).await;
    let (_id, mut c, mut a) = session_with_agent(s.addr, 5, "fay").await;
    send(&mut a.ws, &Message::ControlRequest { agent: a.pid }).await;
    c.until("ControlRequest", |m| {
        matches!(m, Message::ControlRequest { .. })
    })
    .await;
    send(&mut c.ws, &Message::ControlApprove { agent: a.pid }).await;
    a.until("ControlApprove", |m| {
        matches!(m, Message::ControlApprove { .. })
    })
    .await;
    send(
        &mut a.ws,
        &Message::AgentInput {
            target: c.wire("name"),
            value: "x".into(),
        },
    )
    .await;
    match a
        .until("Error", |m| matches!(m, Message::Error { .. }))
        .await
    {
        Message::Error { code, message } => {
            assert_eq!(
                code,
                ErrorCode::PermissionDenied(DenyReason::FormsNotEditable)
            );
            assert_eq!(message, session::FORMS_NOT_EDITABLE_MESSAGE);
        }
        _ => unreachable!(),
    }
    // Clicking a link is still allowed in partial control.
    send(
        &mut a.ws,
        &Message::AgentClick {
            target: c.wire("help"),
            x: 1.0,
            y: 1.0,
        },
    )
    .await;
    c.until("AgentClick", |m| matches!(m, Message::AgentClick { .. }))
        .await;
}

// ---------------------------------------------------------------------------------------------
// Late joiners and reconnects.

#[tokio::test]
async fn a_late_joiner_gets_a_relay_made_keyframe() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 6, "gus").await;
    for _ in 0..20 {
        c.step().await;
        a.sync(c.fingerprint()).await;
    }
    let made = metric(&s.state, "cobrowse_relay_keyframes_total");
    // Past the first join the id alone admits nobody new: the late joiner comes in by an
    // invite (the share link among agents) that the agent in the session asked for.
    let invite = a.invite(s.addr, &token("gus", 3600)).await;
    let mut late = match Agent::try_join_with(s.addr, &invite, &id, &token("hal", 3600)).await {
        Ok(late) => late,
        Err((code, _)) => panic!("invite refused: {code:?}"),
    };
    late.sync(c.fingerprint()).await;
    assert_eq!(late.keyframes, 1);
    assert_eq!(metric(&s.state, "cobrowse_relay_keyframes_total"), made + 1);
    // The customer hears of the join but is never asked to resend.
    c.until(
        "PeerJoined",
        |m| matches!(m, Message::PeerJoined { participant_id, .. } if *participant_id == late.pid),
    )
    .await;
    assert!(quiet(&mut c.ws).await.is_none());
    for _ in 0..5 {
        c.step().await;
        a.sync(c.fingerprint()).await;
        late.sync(c.fingerprint()).await;
    }
    // An agent that asks (a gap on its side) gets a relay keyframe too.
    send(&mut late.ws, &Message::KeyframeRequest { have_seq: None }).await;
    late.until("a keyframe", |m| matches!(m, Message::Frame { .. }))
        .await;
    assert_eq!(late.keyframes, 2);
    assert_eq!(late.mirror.fingerprint(), c.fingerprint());
}

/// Real pages (every 20th of the fetched corpus) one after the other, each followed by seeded
/// edits: every agent's mirror shows the customer's page after every frame, and an agent who
/// joins midway by invite catches up from a relay-made keyframe.
#[tokio::test]
async fn corpus_pages_and_seeded_edits_reach_every_agent_exactly() {
    let pages = cobrowse_tests::corpus_pages_required();
    if pages.is_empty() {
        return;
    }
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 50, "web").await;
    let mut late: Option<Agent> = None;
    let mut steps = 0;
    for (i, page) in pages.iter().step_by(20).enumerate() {
        let html = String::from_utf8_lossy(&std::fs::read(page).unwrap()).into_owned();
        c.navigate(&html).await;
        for _ in 0..4 {
            c.step().await;
            steps += 1;
            a.sync(c.fingerprint()).await;
            if let Some(l) = late.as_mut() {
                l.sync(c.fingerprint()).await;
            }
        }
        if i == 3 {
            let invite = a.invite(s.addr, &token("web", 3600)).await;
            let mut l = match Agent::try_join_with(s.addr, &invite, &id, &token("net", 3600)).await
            {
                Ok(l) => l,
                Err((code, _)) => panic!("invite refused: {code:?}"),
            };
            l.sync(c.fingerprint()).await;
            assert_eq!(l.keyframes, 1, "a relay-made keyframe of the current page");
            late = Some(l);
        }
    }
    assert!(steps >= 40, "{steps} deltas");
    let late = late.expect("the late agent joined");
    assert_eq!(late.mirror.fingerprint(), c.fingerprint());
    assert_eq!(a.mirror.fingerprint(), c.fingerprint());
}

#[tokio::test]
async fn an_agent_behind_in_its_acks_gets_one_keyframe_instead_of_a_backlog() {
    use cobrowse_relay::ws::ACK_WINDOW;
    let mut config = RelayConfig::default();
    config.limits.frames_per_second = 100_000;
    config.limits.frame_burst = 100_000;
    let s = start(config).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 44, "ack").await;
    // A second agent that never acknowledges: it gets every delta.
    let invite = a.invite(s.addr, &token("ack", 3600)).await;
    let mut b = match Agent::try_join_with(s.addr, &invite, &id, &token("nak", 3600)).await {
        Ok(b) => b,
        Err((code, _)) => panic!("invite refused: {code:?}"),
    };
    b.sync(c.fingerprint()).await;
    let acked = c.capture.seq();
    send(&mut a.ws, &Message::Ack { seq: acked }).await;
    let extra = 10;
    for _ in 0..(ACK_WINDOW + extra) {
        c.step().await;
    }
    b.sync(c.fingerprint()).await;
    assert_eq!(b.keyframes, 1, "only its join keyframe");
    // The acknowledging agent gets the window's deltas, then nothing.
    let mut got = Vec::new();
    while let Some(m) = quiet(&mut a.ws).await {
        if let Message::Frame { bytes } = &m {
            got.push(FrameView::access(bytes).unwrap().header().seq);
        }
        a.on(&m);
    }
    let last = acked + ACK_WINDOW;
    assert_eq!(got, (acked + 1..=last).collect::<Vec<u64>>());
    assert_eq!(metric(&s.state, "cobrowse_deltas_withheld_total"), extra);
    // Once it acknowledges what it got, one keyframe brings it to the present.
    send(&mut a.ws, &Message::Ack { seq: last }).await;
    a.sync(c.fingerprint()).await;
    assert_eq!(a.keyframes, 2);
    c.step().await;
    a.sync(c.fingerprint()).await;
    b.sync(c.fingerprint()).await;
}

#[tokio::test]
async fn past_the_first_join_the_id_alone_admits_nobody_new() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 40, "kim").await;
    let unknown = if id == "123456789" {
        "987654321"
    } else {
        "123456789"
    };
    let before = metric(&s.state, "cobrowse_join_failures_total");
    // A guess of this live id and a guess of a free one get the same answer, word for word.
    let mut answers = Vec::new();
    for sid in [id.as_str(), unknown] {
        let mut ws = connect(s.addr, "").await;
        send(&mut ws, &hello(Role::Agent)).await;
        send(
            &mut ws,
            &Message::Join {
                session_id: SessionId::parse(sid).unwrap(),
                token: protocol::AuthToken::new(token("lou", 3600)),
            },
        )
        .await;
        let answer = loop {
            match recv(&mut ws).await {
                In::Msg(m @ Message::Error { .. }) => break m,
                In::Msg(_) => continue,
                In::Closed => panic!("closed without an error"),
            }
        };
        answers.push(answer);
        expect_closed(&mut ws).await;
    }
    assert_eq!(answers[0], answers[1]);
    assert!(matches!(
        answers[0],
        Message::Error {
            code: ErrorCode::SessionNotFound,
            ..
        }
    ));
    // A made-up invite is no better.
    let made_up = "?invite=AAAAAAAAAAAAAAAAAAAAAA";
    let Err((code, _)) = Agent::try_join_with(s.addr, made_up, &id, &token("lou", 3600)).await
    else {
        panic!("joined with a made-up invite");
    };
    assert_eq!(code, ErrorCode::SessionNotFound);
    assert_eq!(
        metric(&s.state, "cobrowse_join_failures_total"),
        before + 3,
        "every refusal is a counted failure"
    );
    // Invites come only from an agent in the session, with a valid token; a stranger cannot
    // tell a live id from a free one by asking.
    assert_eq!(invite(s.addr, &id, &token("lou", 3600)).await.0, 404);
    assert_eq!(invite(s.addr, unknown, &token("lou", 3600)).await.0, 404);
    assert_eq!(invite(s.addr, &id, &token("kim", -10)).await.0, 401);
    let path = format!("/api/sessions/{id}/invites");
    assert_eq!(http(s.addr, "POST", &path, &[]).await.0, 401);
    // The session was not disturbed, and its agent may still bring a colleague.
    c.step().await;
    a.sync(c.fingerprint()).await;
    let invite = a.invite(s.addr, &token("kim", 3600)).await;
    let mut lou = match Agent::try_join_with(s.addr, &invite, &id, &token("lou", 3600)).await {
        Ok(lou) => lou,
        Err((code, _)) => panic!("invite refused: {code:?}"),
    };
    lou.sync(c.fingerprint()).await;
    a.until(
        "PeerJoined",
        |m| matches!(m, Message::PeerJoined { participant_id, .. } if *participant_id == lou.pid),
    )
    .await;
}

#[tokio::test]
async fn a_session_nobody_joins_ends_when_its_join_window_passes() {
    let mut config = RelayConfig::default();
    config.policy.join_window_secs = 1;
    let s = start(config).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 42).await;
    c.send_keyframe().await;
    match c.until("End", |m| matches!(m, Message::End { .. })).await {
        Message::End { reason } => assert_eq!(reason, EndReason::NoAgentJoined),
        _ => unreachable!(),
    }
    expect_closed(&mut c.ws).await;
    let Err((code, _)) = Agent::try_join(s.addr, &id, &token("ned", 3600)).await else {
        panic!("joined an expired id");
    };
    assert_eq!(code, ErrorCode::SessionEnded);
    assert_eq!(s.state.live_sessions(), 0);
}

#[tokio::test]
async fn an_agent_resumes_with_its_resume_token_and_a_wrong_one_is_refused() {
    let s = start(RelayConfig::default()).await;
    let (_id, mut c, a) = session_with_agent(s.addr, 41, "max").await;
    let (session, pid, resume) = (a.session, a.pid, a.resume);
    drop(a);
    c.until("Connection", connection(false)).await;
    c.step().await;
    // A forged token, and the right token under another participant id: refused, and the
    // connection stays open for a Join.
    let forged = protocol::ResumeToken([7; 16]);
    for (p, t) in [(pid, forged), (ParticipantId(pid.0 + 1), resume)] {
        let Err((code, ws)) = Agent::try_resume(s.addr, session, p, t).await else {
            panic!("resumed with a wrong token");
        };
        assert_eq!(code, ErrorCode::Unauthorized);
        drop(ws);
    }
    let Err((_, mut ws)) = Agent::try_resume(s.addr, session, pid, forged).await else {
        panic!("resumed with a forged token");
    };
    send(
        &mut ws,
        &Message::Join {
            session_id: session,
            token: protocol::AuthToken::new(token("max", 3600)),
        },
    )
    .await;
    let mut back = match Agent::joined(ws).await {
        Ok(back) => back,
        Err((code, _)) => panic!("join after a refused resume: {code:?}"),
    };
    assert_eq!(back.pid, pid);
    back.sync(c.fingerprint()).await;
    drop(back);
    c.until("Connection", connection(false)).await;
    c.step().await;
    // The real token: back in, same participant, a fresh relay-made keyframe, no vendor token.
    let mut again = match Agent::try_resume(s.addr, session, pid, resume).await {
        Ok(again) => again,
        Err((code, _)) => panic!("resume refused: {code:?}"),
    };
    assert_eq!(again.pid, pid);
    again.sync(c.fingerprint()).await;
    assert_eq!(again.keyframes, 1);
    c.until("Connection", connection(true)).await;
    c.step().await;
    again.sync(c.fingerprint()).await;
}

#[tokio::test]
async fn a_customer_resumes_with_its_resume_token() {
    let s = start(RelayConfig::default()).await;
    let (_id, c, mut a) = session_with_agent(s.addr, 43, "ray").await;
    let (session, resume) = (c.session, c.resume);
    drop(c);
    a.until("Connection", connection(false)).await;
    // A wrong token is refused and the connection closed.
    let mut ws = connect(s.addr, "").await;
    let wrong = protocol::Reconnect {
        session_id: session,
        participant_id: ParticipantId(1),
        token: protocol::ResumeToken([1; 16]),
        last_seq: None,
    };
    send(&mut ws, &hello_resuming(Role::Customer, Some(wrong))).await;
    // Every failed customer connection gets the one answer (see the customer path's docs).
    assert_eq!(expect_error(&mut ws).await, ErrorCode::SessionNotFound);
    expect_closed(&mut ws).await;
    // The right one: the page comes back and the agent follows.
    let mut c = Customer::resume(s.addr, session, resume, 430).await;
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;
    c.step().await;
    a.sync(c.fingerprint()).await;
}

#[tokio::test]
async fn an_agent_reconnecting_within_the_grace_period_gets_a_fresh_keyframe() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, a) = session_with_agent(s.addr, 7, "ivy").await;
    let pid = a.pid;
    drop(a); // the connection drops
    match c
        .until("Connection", |m| matches!(m, Message::Connection { .. }))
        .await
    {
        Message::Connection {
            participant_id,
            connected,
        } => assert_eq!((participant_id, connected), (pid, false)),
        _ => unreachable!(),
    }
    // The page keeps changing meanwhile.
    for _ in 0..4 {
        c.step().await;
    }
    let mut a = Agent::join(s.addr, &id, &token("ivy", 3600)).await;
    assert_eq!(a.pid, pid, "same participant after a reconnect");
    a.sync(c.fingerprint()).await;
    assert_eq!(a.keyframes, 1);
    match c
        .until("Connection", |m| matches!(m, Message::Connection { .. }))
        .await
    {
        Message::Connection { connected, .. } => assert!(connected),
        _ => unreachable!(),
    }
    c.step().await;
    a.sync(c.fingerprint()).await;
}

#[tokio::test]
async fn an_agent_gone_past_the_grace_period_ends_the_session() {
    let mut config = RelayConfig::default();
    config.policy.agent_grace_period_secs = 1;
    let s = start(config).await;
    let (id, mut c, a) = session_with_agent(s.addr, 15, "uma").await;
    let (session, pid, resume) = (a.session, a.pid, a.resume);
    drop(a);
    match c.until("End", |m| matches!(m, Message::End { .. })).await {
        Message::End { reason } => assert_eq!(reason, EndReason::AgentGone),
        _ => unreachable!(),
    }
    expect_closed(&mut c.ws).await;
    let Err((code, _)) = Agent::try_join(s.addr, &id, &token("uma", 3600)).await else {
        panic!("rejoined after the grace period");
    };
    assert_eq!(code, ErrorCode::SessionEnded);
    let Err((code, _)) = Agent::try_resume(s.addr, session, pid, resume).await else {
        panic!("resumed after the grace period");
    };
    assert_eq!(code, ErrorCode::SessionEnded);
}

#[tokio::test]
async fn a_customer_reload_reconnects_to_the_session_and_agents_follow() {
    let s = start(RelayConfig::default()).await;
    let (id, c, mut a) = session_with_agent(s.addr, 8, "jo").await;
    drop(c);
    a.until("Connection", connection(false)).await;
    let secret = s
        .state
        .session(id.parse().unwrap())
        .unwrap()
        .customer_secret
        .clone();
    let mut c = Customer::connect(s.addr, &id, &secret, 80).await;
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;
    c.step().await;
    a.sync(c.fingerprint()).await;
}

// ---------------------------------------------------------------------------------------------
// Limits and bad input. Each also checks that another session is not disturbed.

#[tokio::test]
async fn frames_over_the_rate_limit_are_dropped_with_a_typed_error() {
    let mut config = RelayConfig::default();
    config.limits.frames_per_second = 1;
    config.limits.frame_burst = 3;
    let s = start(config).await;
    let (_id, mut c, mut a) = session_with_agent(s.addr, 9, "kim").await;
    let (_id2, mut c2, mut a2) = session_with_agent(s.addr, 10, "lee").await;
    for _ in 0..6 {
        c.step().await;
    }
    assert_eq!(expect_error(&mut c.ws).await, ErrorCode::RateLimited);
    assert!(metric(&s.state, "cobrowse_rate_limited_total") >= 1);
    // The connection is kept: it still answers pings.
    send(
        &mut c.ws,
        &Message::Ping {
            nonce: 5,
            sent_at_ms: 1,
        },
    )
    .await;
    c.until("Pong", |m| matches!(m, Message::Pong { nonce: 5, .. }))
        .await;
    // The other session's own bucket is untouched.
    c2.step().await;
    a2.sync(c2.fingerprint()).await;
    // Once the bucket refills, a keyframe (the relay asks for one after the gap) restores the
    // agent.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.step().await;
    c.until("KeyframeRequest", |m| {
        matches!(m, Message::KeyframeRequest { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;
}

#[tokio::test]
async fn garbage_bytes_get_a_typed_error_and_the_close() {
    let s = start(RelayConfig::default()).await;
    let (_id, mut c, mut a) = session_with_agent(s.addr, 11, "max").await;
    // From an agent in a session.
    send_raw(&mut a.ws, b"\x00\x01garbage\xff".to_vec()).await;
    assert_eq!(a.error().await, ErrorCode::BadMessage);
    expect_closed(&mut a.ws).await;
    // From a fresh connection.
    let mut ws = connect(s.addr, "").await;
    send_raw(&mut ws, vec![0xde, 0xad, 0xbe, 0xef]).await;
    assert_eq!(expect_error(&mut ws).await, ErrorCode::BadMessage);
    expect_closed(&mut ws).await;
    // A text message.
    let mut ws = connect(s.addr, "").await;
    ws.send(WsMsg::Text("hello".into())).await.unwrap();
    assert_eq!(expect_error(&mut ws).await, ErrorCode::BadMessage);
    expect_closed(&mut ws).await;
    // A message before Hello.
    let mut ws = connect(s.addr, "").await;
    send(&mut ws, &Message::Resume).await;
    assert_eq!(expect_error(&mut ws).await, ErrorCode::BadMessage);
    expect_closed(&mut ws).await;
    // The customer carries on.
    c.until("Connection", connection(false)).await;
    send(
        &mut c.ws,
        &Message::Ping {
            nonce: 1,
            sent_at_ms: 2,
        },
    )
    .await;
    c.until("Pong", |m| matches!(m, Message::Pong { .. })).await;
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_the_connection_closed() {
    let mut config = RelayConfig::default();
    config.limits.max_message_bytes = 64 << 10;
    let s = start(config).await;
    let (_id, mut c, mut a) = session_with_agent(s.addr, 12, "ned").await;
    let (_id2, mut c2, mut a2) = session_with_agent(s.addr, 13, "oz").await;
    send_raw(&mut c.ws, encode_frame(&vec![7u8; 200 << 10])).await;
    // A typed error, then the close.
    let mut told = false;
    loop {
        match recv(&mut c.ws).await {
            In::Msg(Message::Error { code, .. }) => {
                assert_eq!(code, ErrorCode::TooLarge);
                told = true;
            }
            In::Msg(_) => continue,
            In::Closed => break,
        }
    }
    assert!(told, "the relay said TooLarge before closing");
    a.until("Connection", connection(false)).await;
    c2.step().await;
    a2.sync(c2.fingerprint()).await;
}

#[tokio::test]
async fn bad_joins_are_refused_with_typed_errors_and_counted() {
    let s = start(RelayConfig::default()).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 14, "pat").await;
    let unknown = if id == "123456789" {
        "987654321"
    } else {
        "123456789"
    };
    let cases: Vec<(&str, String, ErrorCode)> = vec![
        (unknown, token("q1", 3600), ErrorCode::SessionNotFound),
        (&id, token("q2", -10), ErrorCode::Unauthorized),
        (
            &id,
            issue_agent_token(
                b"not-the-relay-secret-000",
                &AgentClaims {
                    sub: "q3".into(),
                    name: "Mallory".into(),
                    cobrowse: true,
                    exp: u64::MAX / 2,
                },
            ),
            ErrorCode::Unauthorized,
        ),
        (&id, "v1.garbage.token".into(), ErrorCode::Unauthorized),
    ];
    let before = metric(&s.state, "cobrowse_join_failures_total");
    for (sid, tok, want) in &cases {
        match Agent::try_join(s.addr, sid, tok).await {
            Ok(_) => panic!("joined with a bad {want:?} case"),
            Err((code, mut ws)) => {
                assert_eq!(code, *want);
                expect_closed(&mut ws).await;
            }
        }
    }
    assert_eq!(
        metric(&s.state, "cobrowse_join_failures_total"),
        before + cases.len() as u64
    );
    // A customer with a wrong secret.
    let mut ws = connect(s.addr, &format!("?session={id}&secret=wrong")).await;
    send(&mut ws, &hello(Role::Customer)).await;
    assert_eq!(expect_error(&mut ws).await, ErrorCode::SessionNotFound);
    expect_closed(&mut ws).await;
    // The session is undisturbed.
    c.step().await;
    a.sync(c.fingerprint()).await;
}

#[tokio::test]
async fn join_failures_per_address_are_limited() {
    let mut config = RelayConfig::default();
    config.limits.join_failures_per_ip_per_hour = 2;
    let s = start(config).await;
    for _ in 0..2 {
        let Err((code, _)) = Agent::try_join(s.addr, "123456789", &token("r", 3600)).await else {
            panic!()
        };
        assert!(matches!(code, ErrorCode::SessionNotFound));
    }
    let (id, _secret) = create(s.addr).await;
    let Err((code, mut ws)) = Agent::try_join(s.addr, &id, &token("r", 3600)).await else {
        panic!("joined past the limit")
    };
    assert_eq!(code, ErrorCode::RateLimited);
    expect_closed(&mut ws).await;
}

#[tokio::test]
async fn an_agent_handles_one_session_at_a_time() {
    let s = start(RelayConfig::default()).await;
    let (first, _c1, mut a) = session_with_agent(s.addr, 21, "solo").await;
    let (second, secret) = create(s.addr).await;
    let mut c2 = Customer::connect(s.addr, &second, &secret, 22).await;
    c2.send_keyframe().await;
    // Busy in the first session: the second refuses, with a typed error.
    let Err((code, _)) = Agent::try_join(s.addr, &second, &token("solo", 3600)).await else {
        panic!("joined a second session");
    };
    assert_eq!(code, ErrorCode::AgentBusy);
    // Another agent is not affected.
    let mut other = Agent::join(s.addr, &second, &token("other", 3600)).await;
    other.sync(c2.fingerprint()).await;
    // Once the first session ends, the agent is free again.
    send(
        &mut a.ws,
        &Message::End {
            reason: EndReason::AgentEnded,
        },
    )
    .await;
    a.until("End", |m| matches!(m, Message::End { .. })).await;
    let _ = first;
    let invite = other.invite(s.addr, &token("other", 3600)).await;
    let mut again = match Agent::try_join_with(s.addr, &invite, &second, &token("solo", 3600)).await
    {
        Ok(again) => again,
        Err((code, _)) => panic!("refused: {code:?}"),
    };
    again.sync(c2.fingerprint()).await;
}

#[tokio::test]
async fn inactivity_past_the_timeout_ends_the_session_for_everyone() {
    let mut config = RelayConfig::default();
    config.policy.inactivity_timeout_secs = 1;
    let s = start(config).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 31, "idle").await;
    // No one does anything: the timer sweep ends the session after a second.
    for ws in [&mut c.ws, &mut a.ws] {
        loop {
            match recv(ws).await {
                In::Msg(Message::End { reason }) => {
                    assert_eq!(reason, EndReason::Inactivity);
                    break;
                }
                In::Msg(_) => continue,
                In::Closed => panic!("closed before End"),
            }
        }
    }
    let Err((code, _)) = Agent::try_join(s.addr, &id, &token("idle", 3600)).await else {
        panic!("rejoined an ended session");
    };
    assert_eq!(code, ErrorCode::SessionEnded);
}

#[tokio::test]
async fn a_page_outside_the_allowed_domains_pauses_until_the_customer_returns() {
    let mut config = RelayConfig::default();
    config.policy.allowed_domains = vec!["shop.example".into()];
    let s = start(config).await;
    let (_id, mut c, mut a) = session_with_agent(s.addr, 32, "dom").await;
    send(
        &mut c.ws,
        &Message::PageChanged {
            url: "https://shop.example/cart".into(),
        },
    )
    .await;
    a.until("PageChanged", |m| matches!(m, Message::PageChanged { .. }))
        .await;
    send(
        &mut c.ws,
        &Message::PageChanged {
            url: "https://elsewhere.example/private".into(),
        },
    )
    .await;
    match a
        .until("Pause", |m| matches!(m, Message::Pause { .. }))
        .await
    {
        Message::Pause { reason } => {
            assert_eq!(reason, session::PauseReason::OutsideAllowedDomains)
        }
        _ => unreachable!(),
    }
    // Frames sent while outside never reach the agent.
    c.step().await;
    assert!(
        quiet(&mut a.ws)
            .await
            .is_none_or(|m| !matches!(m, Message::Frame { .. })),
        "a frame leaked while paused"
    );
    send(
        &mut c.ws,
        &Message::PageChanged {
            url: "https://shop.example/checkout".into(),
        },
    )
    .await;
    a.until("Resume", |m| matches!(m, Message::Resume)).await;
}

// ---------------------------------------------------------------------------------------------
// Under attack (issue 8): deadlines, connection caps, creation limits, memory budgets, one
// answer for failed customers, join limits that spare honest agents. Other source addresses
// are other loopback addresses (127.0.0.2, ...): every connection still goes to 127.0.0.1.

/// A TCP connection to `addr` from the loopback address `from`.
async fn tcp_from(from: [u8; 4], addr: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback source address");
    tokio::time::timeout(T, socket.connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// `POST /api/sessions` from the loopback address `from`: the status.
async fn create_from(from: [u8; 4], addr: SocketAddr) -> u16 {
    let mut s = tcp_from(from, addr).await;
    let req = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(T, s.read_to_end(&mut buf))
        .await
        .expect("answer timed out")
        .unwrap();
    cobrowse_tests::http_status_and_body(&String::from_utf8_lossy(&buf)).0
}

/// How long until the relay closes `s` (reading and discarding whatever arrives); panics
/// after [`T`].
async fn closed_after(s: &mut tokio::net::TcpStream) -> Duration {
    let t0 = std::time::Instant::now();
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(T, s.read(&mut buf))
            .await
            .expect("the relay kept the connection open")
        {
            Ok(0) | Err(_) => return t0.elapsed(),
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn silent_and_dripping_sockets_are_closed_at_the_header_deadline() {
    let mut config = RelayConfig::default();
    config.limits.header_timeout_ms = 400;
    let s = start(config).await;
    // Silent.
    let mut silent = tcp_from([127, 0, 0, 1], s.addr).await;
    let waited = closed_after(&mut silent).await;
    assert!(waited >= Duration::from_millis(350), "{waited:?}");
    // Dripping a header one byte every 50 ms: bytes keep coming, the deadline holds.
    let mut drip = tcp_from([127, 0, 0, 1], s.addr).await;
    let t0 = std::time::Instant::now();
    let header = b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for b in header {
        if drip.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if t0.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    if !closed {
        closed_after(&mut drip).await;
    }
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // A keep-alive connection that goes quiet after a response is closed too.
    let mut keep = tcp_from([127, 0, 0, 1], s.addr).await;
    keep.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let waited = closed_after(&mut keep).await;
    assert!(waited >= Duration::from_millis(350), "{waited:?}");
}

#[tokio::test]
async fn a_silent_websocket_is_closed_and_a_live_one_kept_by_pings() {
    let mut config = RelayConfig::default();
    config.limits.idle_timeout_ms = 600;
    let s = start(config).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 71).await;
    c.send_keyframe().await;
    // The customer keeps reading (tungstenite answers pings): open well past the timeout.
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_millis(1500) {
        assert!(quiet(&mut c.ws).await.is_none());
    }
    // An agent that says nothing and never reads (so never answers a ping) is closed.
    let mut ws = connect(s.addr, "").await;
    send(&mut ws, &hello(Role::Agent)).await;
    let mut hello_only = connect(s.addr, "").await;
    send(&mut hello_only, &hello(Role::Agent)).await;
    // (the customer keeps reading meanwhile)
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_millis(1200) {
        assert!(quiet(&mut c.ws).await.is_none());
    }
    expect_closed(&mut hello_only).await;
    let _ = ws;
    // The customer is still there.
    c.step().await;
    assert!(quiet(&mut c.ws).await.is_none());
}

#[tokio::test]
async fn healthz_answers_with_the_per_address_cap_reached() {
    let mut config = RelayConfig::default();
    config.limits.max_connections_per_ip = 4;
    let s = start(config).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(tcp_from([127, 0, 0, 2], s.addr).await);
    }
    // Let the relay accept them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.state.conn_counts.total(), 4);
    // One more from the same address is closed at once.
    let mut over = tcp_from([127, 0, 0, 2], s.addr).await;
    let waited = closed_after(&mut over).await;
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(metric(&s.state, "cobrowse_connections_refused_total"), 1);
    // Everyone else is served.
    let (status, body) = http(s.addr, "GET", "/healthz", &[]).await;
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, _) = http(s.addr, "GET", "/metrics", &[]).await;
    assert_eq!(status, 200);
    drop(held);
}

#[tokio::test]
async fn a_creation_flood_is_refused_past_its_limit_while_another_address_creates() {
    let mut config = RelayConfig::default();
    config.limits.sessions_per_ip_per_minute = 5;
    let s = start(config).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(create_from([127, 0, 0, 3], s.addr).await);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429, 429, 429]);
    assert_eq!(create_from([127, 0, 0, 1], s.addr).await, 201);
    assert_eq!(s.state.live_sessions(), 6);
    assert_eq!(metric(&s.state, "cobrowse_sessions_refused_total"), 3);
}

#[tokio::test]
async fn a_session_whose_customer_never_connects_ends_at_the_connect_deadline() {
    let mut config = RelayConfig::default();
    config.limits.customer_connect_secs = 1;
    let s = start(config).await;
    let (unused, unused_secret) = create(s.addr).await;
    let (used, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &used, &secret, 72).await;
    c.send_keyframe().await;
    let t0 = std::time::Instant::now();
    while s.state.live_sessions() > 1 {
        assert!(t0.elapsed() < Duration::from_secs(5), "never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live = SessionId::parse(&used).unwrap().value();
    assert!(s.state.session(live).is_some(), "the used session lives on");
    assert!(
        s.state
            .session(SessionId::parse(&unused).unwrap().value())
            .is_none()
    );
    assert_eq!(metric(&s.state, "cobrowse_sessions_unconnected_total"), 1);
    assert!(
        t0.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    // Its customer, coming late with the right secret, gets the answer every failed customer
    // connection gets.
    assert_eq!(
        customer_refusal(s.addr, &format!("?session={unused}&secret={unused_secret}")).await,
        (
            ErrorCode::SessionNotFound,
            "no live session with this id and secret".to_owned()
        )
    );
    assert_eq!(metric(&s.state, "cobrowse_customer_failures_total"), 1);
}

/// A page of `n` inline elements, the issue's memory amplification: nested 500 deep per
/// group (the sanitizer drops nodes past 512 element ancestors, so a page nested `n` deep
/// would never reach the relay whole), groups side by side.
fn huge_page(n: usize) -> String {
    let group = 500;
    let mut body = String::new();
    for start in (0..n).step_by(group) {
        let depth = group.min(n - start);
        body.push_str(&"<span>".repeat(depth));
        body.push('x');
        body.push_str(&"</span>".repeat(depth));
    }
    format!("<!DOCTYPE html><html><body>{body}</body></html>")
}

#[tokio::test]
async fn an_oversized_mirror_is_refused_and_the_sessions_other_frames_are_unharmed() {
    let mut config = RelayConfig::default();
    // Room for the shop page (a few dozen nodes), not for 20,000 nested elements.
    config.limits.max_mirror_bytes = 400 * cobrowse_relay::budget::NODE_BYTES + (128 << 10);
    let s = start(config).await;
    let (id, mut c, mut a) = session_with_agent(s.addr, 73, "budget").await;
    let _ = id;
    c.step().await;
    a.sync(c.fingerprint()).await;
    let before = a.mirror.fingerprint();
    // The customer sends a keyframe of a huge page (made apart from its own capture, so that
    // its next delta follows the page the relay still holds).
    let huge = Capture::new(Rules::default(), parse_document_str(&huge_page(20_000))).keyframe();
    send_raw(&mut c.ws, encode_frame(&huge)).await;
    match c
        .until("Error", |m| matches!(m, Message::Error { .. }))
        .await
    {
        Message::Error { code, message } => {
            assert_eq!(code, ErrorCode::TooLarge);
            assert_eq!(
                message,
                "the page is larger than the relay's budget for one session"
            );
        }
        _ => unreachable!(),
    }
    assert_eq!(metric(&s.state, "cobrowse_frames_over_budget_total"), 1);
    // Nothing of it reached the agent; the relay holds what it held before.
    assert!(quiet(&mut a.ws).await.is_none());
    assert_eq!(a.mirror.fingerprint(), before);
    let held = s
        .state
        .mirror_bytes
        .load(std::sync::atomic::Ordering::Acquire);
    assert!(
        held < 400 * cobrowse_relay::budget::NODE_BYTES + (128 << 10),
        "{held}"
    );
    // The session goes on: the next delta applies on what the relay held and reaches the agent.
    c.step().await;
    a.sync(c.fingerprint()).await;
}

/// Connects as a customer with `query` and returns the refusal it gets (code, text).
async fn customer_refusal(addr: SocketAddr, query: &str) -> (ErrorCode, String) {
    let mut ws = connect(addr, query).await;
    send(&mut ws, &hello(Role::Customer)).await;
    loop {
        match recv(&mut ws).await {
            In::Msg(Message::Error { code, message }) => {
                expect_closed(&mut ws).await;
                return (code, message);
            }
            In::Msg(_) => continue,
            In::Closed => panic!("closed without a typed error"),
        }
    }
}

#[tokio::test]
async fn unknown_id_wrong_secret_and_ended_session_get_the_same_answer() {
    let s = start(RelayConfig::default()).await;
    let (live, secret) = create(s.addr).await;
    let (ended, ended_secret) = create(s.addr).await;
    let (status, _) = http(
        s.addr,
        "DELETE",
        &format!("/api/sessions/{ended}"),
        &[("Authorization", &format!("Bearer {BACKEND}"))],
    )
    .await;
    assert_eq!(status, 204);
    let unknown = if live == "123456789" {
        "987654321"
    } else {
        "123456789"
    };
    let answers = [
        customer_refusal(s.addr, &format!("?session={unknown}&secret={secret}")).await,
        customer_refusal(s.addr, &format!("?session={live}&secret=wrong-secret")).await,
        customer_refusal(s.addr, &format!("?session={ended}&secret={ended_secret}")).await,
    ];
    assert_eq!(
        answers[0],
        (
            ErrorCode::SessionNotFound,
            "no live session with this id and secret".to_owned()
        )
    );
    assert_eq!(answers[1], answers[0]);
    assert_eq!(answers[2], answers[0]);
    assert_eq!(metric(&s.state, "cobrowse_customer_failures_total"), 3);
}

#[tokio::test]
async fn customer_failures_count_in_the_per_address_limit() {
    let mut config = RelayConfig::default();
    config.limits.join_failures_per_ip_per_hour = 3;
    let s = start(config).await;
    let (live, secret) = create(s.addr).await;
    for _ in 0..3 {
        let (code, _) = customer_refusal(s.addr, &format!("?session={live}&secret=guess")).await;
        assert_eq!(code, ErrorCode::SessionNotFound);
    }
    // Past the limit, even the right secret is refused from this address.
    let (code, _) = customer_refusal(s.addr, &format!("?session={live}&secret={secret}")).await;
    assert_eq!(code, ErrorCode::RateLimited);
}

#[tokio::test]
async fn an_honest_agent_is_admitted_from_an_address_a_guesser_exhausted() {
    let mut config = RelayConfig::default();
    config.limits.join_failures_per_ip_per_hour = 3;
    config.limits.join_failures_per_agent_per_hour = 100;
    let s = start(config).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 74).await;
    c.send_keyframe().await;
    // A guesser behind the same address: forged tokens, then guessed ids with its own.
    for _ in 0..2 {
        let Err((code, _)) = Agent::try_join(s.addr, &id, "not-a-token").await else {
            panic!("joined with a forged token")
        };
        assert_eq!(code, ErrorCode::Unauthorized);
    }
    let Err((code, _)) = Agent::try_join(s.addr, "123456780", &token("guesser", 3600)).await else {
        panic!("joined an unknown id")
    };
    assert_ne!(code, ErrorCode::RateLimited);
    // The address is exhausted for the guesser and for forged tokens...
    let Err((code, _)) = Agent::try_join(s.addr, "123456781", &token("guesser", 3600)).await else {
        panic!("joined an unknown id")
    };
    assert_eq!(code, ErrorCode::RateLimited);
    let Err((code, _)) = Agent::try_join(s.addr, &id, "not-a-token").await else {
        panic!("joined with a forged token")
    };
    assert_eq!(code, ErrorCode::RateLimited);
    // ... not for an honest agent with a valid token and no failures of its own.
    let mut honest = Agent::join(s.addr, &id, &token("honest", 3600)).await;
    honest.sync(c.fingerprint()).await;
}

// ---------------------------------------------------------------------------------------------
// Metrics, scraped from `GET /metrics` (the Prometheus exporter's text).

/// The value of the sample line `sample value` (a name with its labels) in a scrape.
fn sample(scrape: &str, sample: &str) -> f64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{sample} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {sample} in\n{scrape}"))
}

/// The cumulative counts of a histogram's buckets, in the order of the scrape.
fn buckets(scrape: &str, name: &str) -> Vec<(String, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (le, v) = rest.split_once("\"} ").expect("a bucket line");
            (le.to_owned(), v.parse().expect("a count"))
        })
        .collect()
}

#[tokio::test]
async fn metrics_scraped_after_a_session_count_its_frames_and_time_its_join_and_relays() {
    let s = start(RelayConfig::default()).await;
    let (_, before) = http(s.addr, "GET", "/metrics", &[]).await;
    for name in [
        "cobrowse_frames_relayed_total",
        "cobrowse_frame_bytes_total",
        "cobrowse_frame_relay_seconds_count",
        "cobrowse_join_seconds_count",
        "cobrowse_live_sessions",
    ] {
        assert_eq!(sample(&before, name), 0.0, "{name}");
    }
    // The first keyframe reaches nobody (no agent yet): not relayed. The agent's join gets a
    // relay-made keyframe; three deltas then reach it.
    let (_, mut c, mut a) = session_with_agent(s.addr, 75, "metrics").await;
    let mut bytes = 0;
    for _ in 0..3 {
        bytes += c.step().await;
        a.sync(c.fingerprint()).await;
    }
    // A refused join (a forged token) is counted and not timed.
    let (id, _) = create(s.addr).await;
    let Err((code, _)) = Agent::try_join(s.addr, &id, "not-a-token").await else {
        panic!("joined with a forged token")
    };
    assert_eq!(code, ErrorCode::Unauthorized);
    let (status, scrape) = http(s.addr, "GET", "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(
        scrape.contains("# TYPE cobrowse_frame_relay_seconds histogram"),
        "{scrape}"
    );
    assert!(scrape.contains("# TYPE cobrowse_join_seconds histogram"));
    assert!(scrape.contains("# TYPE cobrowse_frames_relayed_total counter"));
    assert_eq!(sample(&scrape, "cobrowse_live_sessions"), 2.0);
    assert_eq!(sample(&scrape, "cobrowse_sessions_created_total"), 2.0);
    assert_eq!(sample(&scrape, "cobrowse_frames_relayed_total"), 3.0);
    assert_eq!(sample(&scrape, "cobrowse_frame_bytes_total"), bytes as f64);
    assert_eq!(sample(&scrape, "cobrowse_relay_keyframes_total"), 1.0);
    assert_eq!(sample(&scrape, "cobrowse_join_failures_total"), 1.0);
    assert_eq!(sample(&scrape, "cobrowse_rate_limited_total"), 0.0);
    assert_eq!(sample(&scrape, "cobrowse_frames_over_budget_total"), 0.0);
    // The customer and the agent (the refused agent's connection may still be closing).
    assert!(sample(&scrape, "cobrowse_connections") >= 2.0);
    // Frame relay time: one sample per relayed frame, in the buckets and the sum.
    assert_eq!(sample(&scrape, "cobrowse_frame_relay_seconds_count"), 3.0);
    assert!(sample(&scrape, "cobrowse_frame_relay_seconds_sum") > 0.0);
    let relay = buckets(&scrape, "cobrowse_frame_relay_seconds");
    assert_eq!(
        relay.len(),
        cobrowse_relay::metrics::FRAME_RELAY_BUCKETS.len() + 1
    );
    assert_eq!(relay.last().unwrap(), &("+Inf".to_owned(), 3.0));
    assert!(relay.windows(2).all(|w| w[0].1 <= w[1].1), "{relay:?}");
    // Join time: one successful join.
    assert_eq!(sample(&scrape, "cobrowse_join_seconds_count"), 1.0);
    assert!(sample(&scrape, "cobrowse_join_seconds_sum") > 0.0);
    let join = buckets(&scrape, "cobrowse_join_seconds");
    assert_eq!(join.len(), cobrowse_relay::metrics::JOIN_BUCKETS.len() + 1);
    assert_eq!(join.last().unwrap(), &("+Inf".to_owned(), 1.0));
    // Frames after the scrape land in the next one.
    bytes += c.step().await;
    a.sync(c.fingerprint()).await;
    let (_, scrape) = http(s.addr, "GET", "/metrics", &[]).await;
    assert_eq!(sample(&scrape, "cobrowse_frames_relayed_total"), 4.0);
    assert_eq!(sample(&scrape, "cobrowse_frame_bytes_total"), bytes as f64);
    assert_eq!(sample(&scrape, "cobrowse_frame_relay_seconds_count"), 4.0);
}

// ---------------------------------------------------------------------------------------------
// Agent tokens signed with the vendor's own key (RS256, ES256): the relay holds the public key
// and the configured algorithm; tokens of another algorithm are refused. The keys are test
// keys committed under `tests/keys/` (see its README).

/// A test key file's contents.
fn test_key(file: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/keys")
            .join(file),
    )
    .unwrap_or_else(|e| panic!("tests/keys/{file}: {e}"))
}

/// An agent token for `sub`, valid for an hour, signed with `alg`: HS256 with the relay's
/// shared secret, RS256 and ES256 with the test private keys.
fn token_signed(alg: jsonwebtoken::Algorithm, sub: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(AGENT_SECRET).unwrap(),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&test_key("rs256-private.pem")).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&test_key("es256-private.pem")).unwrap(),
        other => panic!("no test key for {other:?}"),
    };
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims = AgentClaims {
        sub: sub.into(),
        name: format!("Agent {sub}"),
        cobrowse: true,
        exp,
    };
    jsonwebtoken::encode(&Header::new(alg), &claims, &key).unwrap()
}

/// A relay pinned to `alg` with the test public key: a token signed with that algorithm and
/// key joins and follows the page; tokens of the other algorithms are refused `Unauthorized`.
async fn only_the_configured_algorithm_joins(alg: jsonwebtoken::Algorithm, public_key: &str) {
    use jsonwebtoken::Algorithm;
    let config = RelayConfig {
        agent_token_algorithm: format!("{alg:?}"),
        agent_token_public_key: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/keys")
                .join(public_key),
        ),
        ..Default::default()
    };
    let s = start(config).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 76).await;
    c.send_keyframe().await;
    for other in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
        if other == alg {
            continue;
        }
        let Err((code, _)) = Agent::try_join(s.addr, &id, &token_signed(other, "mallory")).await
        else {
            panic!("a {alg:?} relay admitted a {other:?} token")
        };
        assert_eq!(
            code,
            ErrorCode::Unauthorized,
            "{other:?} to a {alg:?} relay"
        );
    }
    let mut a = Agent::join(s.addr, &id, &token_signed(alg, "vendor-signed")).await;
    a.sync(c.fingerprint()).await;
    c.step().await;
    a.sync(c.fingerprint()).await;
    assert_eq!(metric(&s.state, "cobrowse_join_failures_total"), 2);
}

#[tokio::test]
async fn an_rs256_relay_admits_rs256_tokens_of_the_vendors_key_and_refuses_hs256_and_es256() {
    only_the_configured_algorithm_joins(jsonwebtoken::Algorithm::RS256, "rs256-public.pem").await;
}

#[tokio::test]
async fn an_es256_relay_admits_es256_tokens_of_the_vendors_key_and_refuses_hs256_and_rs256() {
    only_the_configured_algorithm_joins(jsonwebtoken::Algorithm::ES256, "es256-public.pem").await;
}

#[tokio::test]
async fn an_hs256_relay_refuses_rs256_and_es256_tokens() {
    let s = start(RelayConfig::default()).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 77).await;
    c.send_keyframe().await;
    for alg in [
        jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::Algorithm::ES256,
    ] {
        let Err((code, _)) = Agent::try_join(s.addr, &id, &token_signed(alg, "mallory")).await
        else {
            panic!("an HS256 relay admitted a {alg:?} token")
        };
        assert_eq!(code, ErrorCode::Unauthorized, "{alg:?}");
    }
    let mut a = Agent::join(
        s.addr,
        &id,
        &token_signed(jsonwebtoken::Algorithm::HS256, "shared-secret"),
    )
    .await;
    a.sync(c.fingerprint()).await;
}

// ---------------------------------------------------------------------------------------------
// Behind a trusted reverse proxy: the per-address limits apply to the client that
// `X-Forwarded-For` names, and only when the TCP peer is a configured proxy.

/// `POST /api/sessions` from the loopback address `from`, with `X-Forwarded-For: forwarded`
/// when given: the status.
async fn create_forwarded(from: [u8; 4], addr: SocketAddr, forwarded: Option<&str>) -> u16 {
    let mut s = tcp_from(from, addr).await;
    let header = forwarded.map_or(String::new(), |f| format!("X-Forwarded-For: {f}\r\n"));
    let req = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{header}Content-Length: 0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(T, s.read_to_end(&mut buf))
        .await
        .expect("answer timed out")
        .unwrap();
    cobrowse_tests::http_status_and_body(&String::from_utf8_lossy(&buf)).0
}

/// An agent's join with `token` over a WebSocket opened from 127.0.0.1 with
/// `X-Forwarded-For: forwarded`: the error code it is refused with.
async fn join_refusal_forwarded(
    addr: SocketAddr,
    forwarded: &str,
    id: &str,
    token: &str,
) -> ErrorCode {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", forwarded.parse().unwrap());
    let (mut ws, _) = tokio::time::timeout(T, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect timed out")
        .expect("connect");
    send(&mut ws, &hello(Role::Agent)).await;
    send(
        &mut ws,
        &Message::Join {
            session_id: SessionId::parse(id).unwrap(),
            token: protocol::AuthToken::new(token),
        },
    )
    .await;
    expect_error(&mut ws).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_limited_on_its_own() {
    let mut config = RelayConfig {
        trusted_proxies: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        ..Default::default()
    };
    config.limits.sessions_per_ip_per_minute = 2;
    config.limits.join_failures_per_ip_per_hour = 2;
    let s = start(config).await;
    let proxy = [127, 0, 0, 1];
    // Creation: two clients behind the proxy, each with its own allowance.
    let mut statuses = Vec::new();
    for client in [
        "203.0.113.7",
        "203.0.113.7",
        "203.0.113.7",
        "203.0.113.8",
        "203.0.113.8",
    ] {
        statuses.push(create_forwarded(proxy, s.addr, Some(client)).await);
    }
    assert_eq!(statuses, [201, 201, 429, 201, 201]);
    // The right-most address that is not a proxy is the client (what the proxy appended).
    assert_eq!(
        create_forwarded(proxy, s.addr, Some("203.0.113.8, 127.0.0.1")).await,
        429
    );
    assert_eq!(
        create_forwarded(proxy, s.addr, Some("203.0.113.8, 203.0.113.9")).await,
        201
    );
    // The proxy's own requests (no header) are the proxy's.
    assert_eq!(create_forwarded(proxy, s.addr, None).await, 201);
    // Join failures: one forwarded client exhausts its allowance, the other keeps its own.
    // (a session made by the proxy itself, its second)
    let (id, _) = create(s.addr).await;
    for _ in 0..2 {
        assert_eq!(
            join_refusal_forwarded(s.addr, "198.51.100.1", &id, "forged").await,
            ErrorCode::Unauthorized
        );
    }
    assert_eq!(
        join_refusal_forwarded(s.addr, "198.51.100.1", &id, "forged").await,
        ErrorCode::RateLimited
    );
    assert_eq!(
        join_refusal_forwarded(s.addr, "198.51.100.2", &id, "forged").await,
        ErrorCode::Unauthorized
    );
    assert_eq!(metric(&s.state, "cobrowse_sessions_refused_total"), 2);
}

#[tokio::test]
async fn x_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored() {
    let mut config = RelayConfig {
        trusted_proxies: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        ..Default::default()
    };
    config.limits.sessions_per_ip_per_minute = 2;
    let s = start(config).await;
    // 127.0.0.2 is not a proxy: whatever it says, its requests are its own.
    let mut statuses = Vec::new();
    for client in ["203.0.113.7", "203.0.113.8", "203.0.113.9"] {
        statuses.push(create_forwarded([127, 0, 0, 2], s.addr, Some(client)).await);
    }
    assert_eq!(statuses, [201, 201, 429]);
    // The proxy's clients are not touched by it.
    assert_eq!(
        create_forwarded([127, 0, 0, 1], s.addr, Some("203.0.113.9")).await,
        201
    );
}

// ---------------------------------------------------------------------------------------------
// The browser's wires: customer-side denials, agent invitations, the customer's view for a
// joining agent, the keyframe on resume.

/// The agent asks for control and the customer approves.
async fn take_control(c: &mut Customer, a: &mut Agent) {
    send(&mut a.ws, &Message::ControlRequest { agent: a.pid }).await;
    c.until("ControlRequest", |m| {
        matches!(m, Message::ControlRequest { .. })
    })
    .await;
    send(&mut c.ws, &Message::ControlApprove { agent: a.pid }).await;
    a.until("ControlApprove", |m| {
        matches!(m, Message::ControlApprove { .. })
    })
    .await;
}

#[tokio::test]
async fn a_customer_side_denial_reaches_the_agent_as_sent_and_is_audited() {
    let s = start(RelayConfig::default()).await;
    let (_id, mut c, mut a) = session_with_agent(s.addr, 21, "dora").await;
    take_control(&mut c, &mut a).await;
    let help = c.wire("help");
    // The relay's mirror lets the click through; the customer's live page refuses it.
    send(
        &mut a.ws,
        &Message::AgentClick {
            target: help,
            x: 1.0,
            y: 2.0,
        },
    )
    .await;
    c.until("AgentClick", |m| matches!(m, Message::AgentClick { .. }))
        .await;
    let denial = Message::ActionDenied {
        agent: a.pid,
        action: protocol::ActionKind::Click,
        target: Some(help),
        reason: DenyReason::TargetMissing,
    };
    send(&mut c.ws, &denial).await;
    let got = a
        .until("ActionDenied", |m| {
            matches!(m, Message::ActionDenied { .. })
        })
        .await;
    assert_eq!(got, denial);
    let audit = serde_json::to_string(&s.state.audit.recent()).unwrap();
    assert!(
        audit.contains("action_denied") && audit.contains("TargetMissing"),
        "{audit}"
    );
    // A denial naming nobody in the session is refused; an agent may not send one.
    send(
        &mut c.ws,
        &Message::ActionDenied {
            agent: ParticipantId(77),
            action: protocol::ActionKind::Click,
            target: None,
            reason: DenyReason::ElementDisabled,
        },
    )
    .await;
    assert_eq!(expect_error(&mut c.ws).await, ErrorCode::BadMessage);
    send(&mut a.ws, &denial).await;
    assert_eq!(
        a.error().await,
        ErrorCode::PermissionDenied(DenyReason::WrongRole)
    );
    assert!(quiet(&mut a.ws).await.is_none());
}

/// An agent's connection that sent `Hello` and `Invite`: returns it with what it got before
/// `InviteCreated` (its `Joined` first), the session and the customer's secret.
async fn invite_customer(addr: SocketAddr, sub: &str) -> (Ws, ParticipantId, SessionId, String) {
    let mut ws = connect(addr, "").await;
    send(&mut ws, &hello(Role::Agent)).await;
    send(
        &mut ws,
        &Message::Invite {
            token: protocol::AuthToken::new(token(sub, 3600)),
        },
    )
    .await;
    let pid = match recv(&mut ws).await {
        In::Msg(Message::Joined {
            participant_id,
            role,
            participants,
            paused,
            customer,
            ..
        }) => {
            // The customer counts as a participant from the start.
            assert_eq!((role, participants, paused), (Role::Agent, 2, false));
            assert_eq!(customer, None, "no customer yet");
            participant_id
        }
        other => panic!("expected Joined, got {other:?}"),
    };
    match recv(&mut ws).await {
        In::Msg(Message::InviteCreated {
            session_id,
            customer_secret,
        }) => (ws, pid, session_id, customer_secret.as_str().to_owned()),
        other => panic!("expected InviteCreated, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invitation_shares_nothing_until_the_customer_accepts() {
    let mut config = RelayConfig::default();
    config.policy.agent_invites = true;
    let s = start(config).await;
    let (mut aws, apid, session, secret) = invite_customer(s.addr, "ivy").await;
    let id = format!("{:09}", session.value());

    // Another agent cannot get in by the id while the invitation is open.
    let Err((code, _)) = Agent::try_join(s.addr, &id, &token("mallory", 3600)).await else {
        panic!("joined an invited session by its id");
    };
    assert_eq!(code, ErrorCode::SessionNotFound);

    // The customer's widget connects with the secret the chat carried and is asked.
    let mut c = Customer::connect(s.addr, &id, &secret, 22).await;
    match c.next().await {
        In::Msg(Message::Invitation { agent }) => assert_eq!(agent, apid),
        other => panic!("expected Invitation, got {other:?}"),
    }
    // Before the answer nothing of the page goes anywhere, even from a misbehaving client.
    c.send_keyframe().await;
    send(
        &mut c.ws,
        &Message::Scroll {
            target: None,
            x: 0.0,
            y: 300.0,
        },
    )
    .await;
    send(
        &mut c.ws,
        &Message::PageChanged {
            url: "https://example.com/account".into(),
        },
    )
    .await;
    loop {
        match quiet(&mut aws).await {
            None => break,
            // The customer's connection is news; its page is not.
            Some(Message::Connection { .. }) => {}
            Some(other) => panic!("the agent got {other:?} before the customer accepted"),
        }
    }

    // "Share my browser window": the agent is told, the customer asked for its page.
    send(&mut c.ws, &Message::InviteAccept).await;
    let (mut told, mut asked) = (false, false);
    while !(told && asked) {
        match c.next().await {
            In::Msg(Message::PeerJoined { participant_id, .. }) => {
                told = true;
                assert_eq!(participant_id, apid);
            }
            In::Msg(Message::KeyframeRequest { have_seq }) => {
                asked = true;
                assert_eq!(have_seq, None, "the relay holds no page of it");
            }
            In::Msg(_) => {}
            In::Closed => panic!("customer closed"),
        }
    }
    let mut a = match Agent::joined(aws).await {
        Ok(a) => a,
        Err((code, _)) => panic!("{code:?}"),
    };
    assert_eq!(a.pid, apid);
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;
    assert_eq!(a.keyframes, 1);
    assert_eq!(
        metric(&s.state, "cobrowse_relay_keyframes_total"),
        0,
        "the relay held no page to make a keyframe of before the customer accepted"
    );
    c.step().await;
    a.sync(c.fingerprint()).await;
}

#[tokio::test]
async fn a_declined_invitation_ends_the_session_for_both() {
    let mut config = RelayConfig::default();
    config.policy.agent_invites = true;
    let s = start(config).await;
    let (mut aws, _, session, secret) = invite_customer(s.addr, "ivy").await;
    let id = format!("{:09}", session.value());
    let mut c = Customer::connect(s.addr, &id, &secret, 23).await;
    c.until("Invitation", |m| matches!(m, Message::Invitation { .. }))
        .await;
    send(&mut c.ws, &Message::InviteDecline).await;
    match c.until("End", |m| matches!(m, Message::End { .. })).await {
        Message::End { reason } => assert_eq!(reason, EndReason::InviteDeclined),
        _ => unreachable!(),
    }
    expect_closed(&mut c.ws).await;
    loop {
        match recv(&mut aws).await {
            In::Msg(Message::End { reason }) => {
                assert_eq!(reason, EndReason::InviteDeclined);
                break;
            }
            In::Msg(_) => continue,
            In::Closed => panic!("closed without End"),
        }
    }
    expect_closed(&mut aws).await;
    assert_eq!(s.state.live_sessions(), 0);
}

#[tokio::test]
async fn invitations_are_refused_unless_the_policy_allows_them() {
    let s = start(RelayConfig::default()).await;
    let mut ws = connect(s.addr, "").await;
    send(&mut ws, &hello(Role::Agent)).await;
    send(
        &mut ws,
        &Message::Invite {
            token: protocol::AuthToken::new(token("ivy", 3600)),
        },
    )
    .await;
    assert_eq!(
        expect_error(&mut ws).await,
        ErrorCode::PermissionDenied(DenyReason::NotStarted)
    );
    assert_eq!(s.state.live_sessions(), 0);
    // The connection stays open for a `Join`.
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 24).await;
    c.send_keyframe().await;
    send(
        &mut ws,
        &Message::Join {
            session_id: SessionId::parse(&id).unwrap(),
            token: protocol::AuthToken::new(token("ivy", 3600)),
        },
    )
    .await;
    let mut a = match Agent::joined(ws).await {
        Ok(a) => a,
        Err((code, _)) => panic!("{code:?}"),
    };
    a.sync(c.fingerprint()).await;
}

/// The frames (as `Frame { bytes: [0] }`), `Viewport`s and `Scroll`s an agent gets until it
/// hears nothing for a while, in order (frames are applied to its mirror).
async fn after_keyframe(a: &mut Agent) -> Vec<Message> {
    let mut got = Vec::new();
    while let Some(m) = quiet(&mut a.ws).await {
        a.on(&m);
        match m {
            Message::Frame { .. } => got.push(Message::Frame { bytes: vec![0] }),
            m @ (Message::Viewport { .. } | Message::Scroll { .. }) => got.push(m),
            _ => {}
        }
    }
    got
}

/// Waits until the relay has handled everything sent on `ws` so far (a ping is answered in
/// order).
async fn handled(ws: &mut Ws) {
    send(
        ws,
        &Message::Ping {
            nonce: 7,
            sent_at_ms: 0,
        },
    )
    .await;
    loop {
        match recv(ws).await {
            In::Msg(Message::Pong { nonce: 7, .. }) => return,
            In::Msg(_) => continue,
            In::Closed => panic!("closed while waiting for Pong"),
        }
    }
}

#[tokio::test]
async fn a_joining_agent_gets_the_customers_viewport_and_document_scroll_after_its_keyframe() {
    let s = start(RelayConfig::default()).await;
    let (id, secret) = create(s.addr).await;
    let mut c = Customer::connect(s.addr, &id, &secret, 25).await;
    c.send_keyframe().await;
    let viewport = Message::Viewport {
        width: 1280,
        height: 720,
    };
    let scroll = Message::Scroll {
        target: None,
        x: 0.0,
        y: 900.5,
    };
    send(&mut c.ws, &viewport).await;
    send(&mut c.ws, &scroll).await;
    // An element's scroll is the frames' business (it travels in them), not remembered here.
    let items = c.wire("items");
    send(
        &mut c.ws,
        &Message::Scroll {
            target: Some(items),
            x: 0.0,
            y: 5.0,
        },
    )
    .await;
    handled(&mut c.ws).await;
    let mut a = Agent::join(s.addr, &id, &token("sam", 3600)).await;
    let keyframe = Message::Frame { bytes: vec![0] };
    assert_eq!(
        after_keyframe(&mut a).await,
        vec![keyframe.clone(), viewport.clone(), scroll.clone()]
    );
    assert_eq!(a.mirror.fingerprint(), c.fingerprint());

    // The agent's own keyframe request gets the same, with the newest scroll.
    let lower = Message::Scroll {
        target: None,
        x: 0.0,
        y: 1500.0,
    };
    send(&mut c.ws, &lower).await;
    a.until("Scroll", |m| matches!(m, Message::Scroll { .. }))
        .await;
    send(&mut a.ws, &Message::KeyframeRequest { have_seq: None }).await;
    assert_eq!(
        after_keyframe(&mut a).await,
        vec![keyframe.clone(), viewport.clone(), lower]
    );

    // A new page starts at its own scroll: a later agent gets only the viewport.
    send(
        &mut c.ws,
        &Message::PageChanged {
            url: "https://example.com/next".into(),
        },
    )
    .await;
    a.until("PageChanged", |m| matches!(m, Message::PageChanged { .. }))
        .await;
    let link = a.invite(s.addr, &token("sam", 3600)).await;
    let mut b = match Agent::try_join_with(s.addr, &link, &id, &token("tim", 3600)).await {
        Ok(b) => b,
        Err((code, _)) => panic!("{code:?}"),
    };
    assert_eq!(after_keyframe(&mut b).await, vec![keyframe, viewport]);
}

#[tokio::test]
async fn after_a_resume_agents_get_the_customers_keyframe_and_the_relay_asks_for_it() {
    let s = start(RelayConfig::default()).await;
    let (_id, mut c, mut a) = session_with_agent(s.addr, 26, "rex").await;
    let pause = Message::Pause {
        reason: session::PauseReason::CustomerStoppedSharing,
    };

    // The page changes while paused (nothing is sent); on resume the customer sends its
    // keyframe, and that is what the agent gets: no stale page made by the relay first.
    send(&mut c.ws, &pause).await;
    a.until("Pause", |m| matches!(m, Message::Pause { .. }))
        .await;
    c.edits.edit(c.capture.tree_mut(), 5);
    let _ = c.capture.delta();
    send(&mut c.ws, &Message::Resume).await;
    a.until("Resume", |m| matches!(m, Message::Resume)).await;
    let relay_keyframes = metric(&s.state, "cobrowse_relay_keyframes_total");
    assert!(quiet(&mut a.ws).await.is_none(), "no relay-made keyframe");
    c.send_keyframe().await;
    let before = a.keyframes;
    a.sync(c.fingerprint()).await;
    assert_eq!(a.keyframes, before + 1);
    assert_eq!(
        metric(&s.state, "cobrowse_relay_keyframes_total"),
        relay_keyframes
    );
    c.step().await;
    a.sync(c.fingerprint()).await;

    // A customer that sends nothing after resuming is asked for its keyframe.
    send(&mut c.ws, &pause).await;
    a.until("Pause", |m| matches!(m, Message::Pause { .. }))
        .await;
    send(&mut c.ws, &Message::Resume).await;
    c.until("KeyframeRequest", |m| {
        matches!(m, Message::KeyframeRequest { .. })
    })
    .await;
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;

    // A delta before the keyframe is not forwarded: the relay asks for the keyframe at once.
    send(&mut c.ws, &pause).await;
    a.until("Pause", |m| matches!(m, Message::Pause { .. }))
        .await;
    send(&mut c.ws, &Message::Resume).await;
    a.until("Resume", |m| matches!(m, Message::Resume)).await;
    c.until("Resume", |m| matches!(m, Message::Resume)).await;
    let seen = a.mirror.fingerprint();
    c.step().await;
    match c.next().await {
        In::Msg(Message::KeyframeRequest { .. }) => {}
        other => panic!("expected KeyframeRequest at once, got {other:?}"),
    }
    assert!(
        quiet(&mut a.ws).await.is_none(),
        "the delta was not forwarded"
    );
    assert_eq!(a.mirror.fingerprint(), seen);
    c.send_keyframe().await;
    a.sync(c.fingerprint()).await;
}
