//! Bare relay: the baseline peer of `relay_load --compare-bare`.
//!
//! A minimal WebSocket forwarder on the very stack of `cobrowse-relay` (tokio, axum 0.8 `ws`,
//! the same 8 KiB read buffer, one unbounded queue and writer task per connection), speaking
//! just enough of the protocol for `relay_load`: `POST /api/sessions` makes a session id,
//! a customer's `Hello` and an agent's `Join` get a `Joined`, the agent then gets the last
//! keyframe the customer sent, and every customer `Frame` is forwarded as is (the same
//! buffer, no copy) to the session's agents. No session machine, no mirror, no
//! authentication, no limits: it is the floor of what any relay on this stack costs, so the
//! real relay's latency and memory can be read as ratios against it, measured in the same run.
//!
//! Listens on `COBROWSE_LISTEN` (default `127.0.0.1:0`), prints `listening on http://ADDR`
//! and runs until Ctrl-C or SIGTERM.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cobrowse_engine::protocol::{Message, MessageKind, MessageView, Mode, ParticipantId};
use cobrowse_engine::protocol::{ResumeToken, Role};
use cobrowse_engine::session::{ControlCeiling, SessionId};
use cobrowse_engine::{FrameKind, FrameView};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// The same initial read buffer as the real relay (`cobrowse_relay::ws::READ_BUFFER_BYTES`).
const READ_BUFFER_BYTES: usize = 8 * 1024;

#[derive(Default)]
struct Session {
    /// The customer's last keyframe message, for agents joining later.
    keyframe: Option<Bytes>,
    /// The agents' writer queues.
    agents: Vec<UnboundedSender<Bytes>>,
}

type Sessions = Mutex<HashMap<u32, Arc<Mutex<Session>>>>;

#[derive(Default)]
struct Relay {
    sessions: Sessions,
    ids: RandomState,
    next: AtomicU64,
}

/// `POST /api/sessions`: a fresh nine-digit id and a dummy secret.
async fn create(State(relay): State<Arc<Relay>>) -> Response {
    let mut sessions = relay.sessions.lock().unwrap();
    let id = loop {
        let random = relay.ids.hash_one(relay.next.fetch_add(1, Relaxed));
        let id = SessionId::from_entropy(random).value();
        if !sessions.contains_key(&id) {
            break id;
        }
    };
    sessions.insert(id, Arc::default());
    let body = serde_json::json!({"id": format!("{id:09}"), "customer_secret": "bare"});
    (StatusCode::CREATED, Json(body)).into_response()
}

/// `GET /ws`: a customer (`?session=ID`) or an agent.
async fn upgrade(
    State(relay): State<Arc<Relay>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let session = query.get("session").and_then(|s| s.parse::<u32>().ok());
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| connection(relay, socket, session))
}

fn joined(session: u32, participant: u32, role: Role) -> Bytes {
    let msg = Message::Joined {
        session_id: SessionId::new(session).expect("nine digits"),
        participant_id: ParticipantId(participant),
        participants: participant as u16,
        role,
        mode: Mode::Pointer,
        ceiling: ControlCeiling::Full,
        paused: false,
        resume_token: ResumeToken([0; 16]),
        customer: None,
    };
    Bytes::from(msg.encode())
}

async fn connection(relay: Arc<Relay>, socket: WebSocket, session: Option<u32>) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = unbounded_channel::<Bytes>();
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if sink.send(WsMessage::Binary(b)).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let find = |id: u32| relay.sessions.lock().unwrap().get(&id).cloned();
    // The session this connection streams frames into, once its customer said `Hello`.
    let mut customer_of: Option<(u32, Arc<Mutex<Session>>)> = None;
    while let Some(Ok(msg)) = stream.next().await {
        let b = match msg {
            WsMessage::Binary(b) => b,
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let Ok(view) = MessageView::access(&b) else {
            break;
        };
        match view.kind() {
            MessageKind::Frame => {
                let Some((_, s)) = &customer_of else { continue };
                let keyframe = view
                    .frame()
                    .and_then(|f| FrameView::access(f).ok())
                    .is_some_and(|f| f.header().kind == FrameKind::Keyframe);
                let mut s = s.lock().unwrap();
                if keyframe {
                    s.keyframe = Some(b.clone());
                }
                // A gone agent's writer has dropped its queue: forget it.
                s.agents.retain(|agent| agent.send(b.clone()).is_ok());
            }
            MessageKind::Hello => {
                let is_customer = matches!(
                    view.to_message(),
                    Message::Hello {
                        role: Role::Customer,
                        ..
                    }
                );
                if let (true, Some(id)) = (is_customer, session)
                    && let Some(s) = find(id)
                {
                    let _ = tx.send(joined(id, 1, Role::Customer));
                    customer_of = Some((id, s));
                }
            }
            MessageKind::Join => {
                let Message::Join { session_id, .. } = view.to_message() else {
                    continue;
                };
                let id = session_id.value();
                if let Some(s) = find(id) {
                    // Under the session's lock: the keyframe goes out exactly once, either
                    // stored here or forwarded when the customer sends it.
                    let mut s = s.lock().unwrap();
                    let _ = tx.send(joined(id, 2, Role::Agent));
                    if let Some(k) = &s.keyframe {
                        let _ = tx.send(k.clone());
                    }
                    s.agents.push(tx.clone());
                }
            }
            _ => {}
        }
    }
    if let Some((id, _)) = customer_of {
        relay.sessions.lock().unwrap().remove(&id);
    }
    // An agent's queue is also held by its session: stop the writer rather than wait for it.
    writer.abort();
}

#[tokio::main]
async fn main() {
    let listen = std::env::var("COBROWSE_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .unwrap_or_else(|e| panic!("bare_relay: cannot listen on {listen}: {e}"));
    println!("listening on http://{}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    let app = Router::new()
        .route("/api/sessions", post(create))
        .route("/ws", get(upgrade))
        .with_state(Arc::new(Relay::default()));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        r = axum::serve(listener, app.into_make_service()) => r.expect("serve"),
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
