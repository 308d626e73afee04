//! One WebSocket connection: one task that reads (this actor) and writes (its
//! [`Writer`], driven in the same `select!`), and what it is bound to (nothing yet, a
//! customer, an agent). The customer and agent halves of the actor are in
//! [`super::customer`] and [`super::agent`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket};
use cobrowse_engine::protocol::{
    self, ErrorCode, Message, MessageKind, MessageView, ParticipantId, Party, Role,
};
use cobrowse_engine::session::{AgentId, Recipient};
use futures_util::StreamExt;

use super::codes::{CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG};
use super::deliver::deliver;
use super::keepalive::{Due, Keepalive};
use super::refusals::error_msg;
use super::writer::Writer;
use crate::link::READ_BUFFER_BYTES;
use crate::link::{CloseReason, Control, Link, Outbound};
use crate::net::Peer;
use crate::source::{AddrGroup, client_group};
use crate::state::{RelayState, SessionEntry};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::HashMap;

/// `GET /ws`: upgrades to a WebSocket (see the module docs).
pub async fn upgrade(
    State(state): State<Arc<RelayState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let source = client_group(peer.addr.ip(), &headers, &state.config.trusted_proxies);
    // From here the WebSocket's own deadlines apply, not the request-header one.
    peer.guard.upgraded();
    let max = state.config.limits.max_message_bytes;
    let proofs = Proofs {
        session: query.get("session").cloned(),
        secret: query.get("secret").cloned(),
        invite: query.get("invite").cloned(),
    };
    // Each message goes to the socket as it is written: tungstenite's write buffer then only
    // ever holds one message (a burst fed without a flush would grow it, and it keeps its
    // capacity for the connection's life).
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| run(state, socket, source, proofs))
}

/// What the connection's query string carries (never logged).
pub(super) struct Proofs {
    /// A customer's session id (`?session=`).
    pub(super) session: Option<String>,
    /// A customer's secret (`?secret=`).
    pub(super) secret: Option<String>,
    /// An agent's invite (`?invite=`), see [`crate::admission`].
    pub(super) invite: Option<String>,
}

pub(super) enum Bound {
    None,
    /// An agent said `Hello` and has not joined yet.
    AgentHello,
    Customer(Arc<SessionEntry>),
    Agent(Arc<SessionEntry>, AgentId, ParticipantId),
}

pub(super) struct Conn {
    pub(super) state: Arc<RelayState>,
    pub(super) tx: Link,
    pub(super) source: AddrGroup,
    pub(super) proofs: Proofs,
    pub(super) bound: Bound,
}

pub(super) enum Flow {
    Continue,
    Close,
}

/// The connection's task. Split before the task's future is made, so that the future (held
/// for the connection's whole life) keeps the two halves, not room for the whole socket.
pub(super) fn run(
    state: Arc<RelayState>,
    socket: WebSocket,
    source: AddrGroup,
    proofs: Proofs,
) -> impl Future<Output = ()> {
    let (sink, stream) = socket.split();
    let (tx, rx) = Link::new();
    let writer = Writer::new(sink, rx);
    let conn = Conn {
        state: state.clone(),
        tx,
        source,
        proofs,
        bound: Bound::None,
    };
    serve(state, stream, writer, conn)
}

async fn serve(
    state: Arc<RelayState>,
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    mut writer: Writer,
    mut conn: Conn,
) {
    let source = conn.source;
    state.metrics.connections.increment(1.0);
    tracing::debug!(source = %source, "connection opened");
    let limits = &state.config.limits;
    let handshake_deadline = tokio::time::Instant::now() + limits.handshake_timeout();
    // Pings and the idle deadline (see [`Keepalive`]); a customer's connection is also probed
    // for its round trip, which goes to the agents ([`Conn::on_pong`]).
    let mut keepalive = Keepalive::new(tokio::time::Instant::now(), limits.idle_timeout());
    let mut ping_sent: Option<tokio::time::Instant> = None;
    // One timer serves the handshake deadline, the pings and the idle deadline (boxed, so
    // that the connection's future keeps a pointer, not the timer, for its whole life).
    let mut timer = Box::pin(tokio::time::sleep_until(
        keepalive.next_wake().min(handshake_deadline),
    ));
    let mut writer_done = false;
    loop {
        let handshaking = matches!(conn.bound, Bound::None | Bound::AgentHello);
        let item = tokio::select! {
            item = stream.next() => Some(item),
            () = &mut timer => {
                let now = tokio::time::Instant::now();
                if handshaking && now >= handshake_deadline {
                    None
                } else {
                    match keepalive.on_timer(now) {
                        Due::Idle => {
                            tracing::debug!(source = %source, "connection closed: idle");
                            conn.tx.send(Outbound::close(CloseReason::Idle));
                            break;
                        }
                        Due::Ping => {
                            conn.tx.send(Outbound::Control(Control::Ping));
                            ping_sent = Some(now);
                        }
                        Due::Nothing => {}
                    }
                    let wake = if handshaking {
                        keepalive.next_wake().min(handshake_deadline)
                    } else {
                        keepalive.next_wake()
                    };
                    timer.as_mut().reset(wake);
                    continue;
                }
            }
            () = writer.drive() => { writer_done = true; break; }
        };
        let Some(item) = item else {
            tracing::info!(source = %source, "connection closed: no Hello in time");
            conn.fatal(ErrorCode::BadMessage, "no Hello in time", CLOSE_POLICY);
            break;
        };
        let now = tokio::time::Instant::now();
        keepalive.heard(now);
        let flow = match item {
            None => break,
            Some(Ok(WsMessage::Binary(b))) => conn.on_binary(b).await,
            Some(Ok(WsMessage::Text(_))) => {
                conn.fatal(
                    ErrorCode::BadMessage,
                    "text messages are not part of the protocol",
                    CLOSE_POLICY,
                );
                Flow::Close
            }
            Some(Ok(WsMessage::Close(_))) => break,
            Some(Ok(WsMessage::Pong(_))) => {
                if let Some(sent) = ping_sent.take() {
                    conn.on_pong(sent.elapsed()).await;
                }
                Flow::Continue
            }
            Some(Ok(WsMessage::Ping(_))) => Flow::Continue,
            Some(Err(e)) => {
                // tungstenite reports an over-size message as a capacity error.
                let text = e.to_string().to_ascii_lowercase();
                if text.contains("too long") || text.contains("capacity") || text.contains("size") {
                    conn.fatal(
                        ErrorCode::TooLarge,
                        "message over the size limit",
                        CLOSE_TOO_BIG,
                    );
                } else {
                    conn.fatal(
                        ErrorCode::BadMessage,
                        "WebSocket protocol error",
                        CLOSE_POLICY,
                    );
                }
                break;
            }
        };
        if let Flow::Close = flow {
            break;
        }
        if matches!(conn.bound, Bound::Customer(_))
            && keepalive.probe_round_trip(now, limits.customer_rtt_probe())
        {
            timer.as_mut().reset(keepalive.next_wake());
        }
    }
    conn.cleanup().await;
    let Conn { tx, .. } = conn;
    drop(tx);
    if !writer_done {
        // Let the writer flush what was queued (an error, a close) before the socket goes.
        let _ = tokio::time::timeout(Duration::from_secs(2), writer.drive()).await;
    }
    state.metrics.connections.decrement(1.0);
    tracing::debug!(source = %source, "connection closed");
}

impl Conn {
    /// The round trip of the relay's last WebSocket ping. A customer's goes to the agents as
    /// [`Message::Latency`] (their "connection status") when it changed, and is kept for
    /// agents who join later (sent after their keyframe, [`super::keyframes::send_keyframe`]).
    async fn on_pong(&mut self, rtt: Duration) {
        let Bound::Customer(entry) = &self.bound else {
            return;
        };
        let entry = entry.clone();
        let mut inner = entry.lock(self.state.wake_clock()).await;
        let rtt_ms = u32::try_from(rtt.as_millis()).unwrap_or(u32::MAX);
        if let Some(latency) = inner.wire.customer_round_trip(rtt_ms) {
            inner.links.send_msg(&Recipient::AllAgents, &latency);
        }
    }

    pub(super) fn send(&self, msg: &Message) {
        self.tx.send(Outbound::Wire(Bytes::from(msg.encode())));
    }

    pub(super) fn error(&self, code: ErrorCode, text: &str) {
        self.send(&error_msg(code, text));
    }

    /// A typed error, then the close.
    pub(super) fn fatal(&self, code: ErrorCode, text: &str, close: u16) {
        self.error(code, text);
        let reason = match close {
            CLOSE_TOO_BIG => CloseReason::TooLarge,
            CLOSE_NORMAL => CloseReason::SessionEnded,
            _ => CloseReason::Refused,
        };
        debug_assert_eq!(reason.code(), close, "a close code without its reason");
        self.tx.send(Outbound::close(reason));
    }

    pub(super) fn party(&self) -> Option<Party> {
        match self.bound {
            Bound::None => None,
            Bound::AgentHello | Bound::Agent(..) => Some(Party::Agent),
            Bound::Customer(_) => Some(Party::Customer),
        }
    }

    pub(super) async fn on_binary(&mut self, bytes: Bytes) -> Flow {
        let view = match MessageView::access(&bytes) {
            Ok(v) => v,
            Err(e) => {
                let close = if e.error_code() == ErrorCode::TooLarge {
                    CLOSE_TOO_BIG
                } else {
                    CLOSE_POLICY
                };
                self.fatal(e.error_code(), &e.to_string(), close);
                return Flow::Close;
            }
        };
        let kind = view.kind();
        let Some(party) = self.party() else {
            // The first message must be Hello.
            if kind != MessageKind::Hello {
                self.fatal(
                    ErrorCode::BadMessage,
                    "the first message must be Hello",
                    CLOSE_POLICY,
                );
                return Flow::Close;
            }
            // Rare paths are boxed (here and below): the connection's future, held for its
            // whole life, then only keeps room for the frame path.
            return Box::pin(self.on_hello(view.to_message())).await;
        };
        if !kind.may_come_from(party) {
            self.error(
                ErrorCode::PermissionDenied(protocol::DenyReason::WrongRole),
                "this role may not send this message",
            );
            return Flow::Continue;
        }
        match &self.bound {
            Bound::AgentHello => Box::pin(self.after_agent_hello(view.to_message())).await,
            Bound::Customer(entry) => {
                let entry = entry.clone();
                if kind == MessageKind::Frame {
                    let frame = view.frame().unwrap_or_default();
                    self.customer_frame(&entry, frame, bytes.clone()).await;
                    return Flow::Continue;
                }
                let msg = view.to_message();
                Box::pin(self.customer_message(&entry, msg)).await
            }
            Bound::Agent(entry, agent, pid) => {
                let (entry, agent, pid) = (entry.clone(), *agent, *pid);
                let msg = view.to_message();
                Box::pin(self.agent_message(&entry, agent, pid, msg)).await
            }
            Bound::None => Flow::Close,
        }
    }

    /// The connection's first message, a `Hello`.
    async fn on_hello(&mut self, hello: Message) -> Flow {
        let Message::Hello {
            role,
            client,
            resume,
        } = hello
        else {
            return Flow::Close;
        };
        match (role, resume) {
            (Role::Customer, resume) => self.customer_hello(client, resume).await,
            (Role::Agent, Some(resume)) => self.agent_resume(resume).await,
            (Role::Agent, None) => {
                self.bound = Bound::AgentHello;
                Flow::Continue
            }
        }
    }

    /// An agent's message after its `Hello`, before it joined.
    async fn after_agent_hello(&mut self, msg: Message) -> Flow {
        match msg {
            Message::Join { session_id, token } => {
                self.agent_join(session_id, token.as_str()).await
            }
            Message::Invite { token } => self.agent_invite(token.as_str()).await,
            Message::Ping { nonce, sent_at_ms } => {
                self.send(&Message::Pong { nonce, sent_at_ms });
                Flow::Continue
            }
            _ => {
                self.fatal(
                    ErrorCode::BadMessage,
                    "an agent sends Join (or Invite) after Hello",
                    CLOSE_POLICY,
                );
                Flow::Close
            }
        }
    }

    /// The connection is gone: the machine hears of a disconnect (if this connection was
    /// still the participant's current one).
    pub(super) async fn cleanup(&mut self) {
        let state = self.state.clone();
        match std::mem::replace(&mut self.bound, Bound::None) {
            Bound::Customer(entry) => {
                let mut guard = entry.lock(self.state.wake_clock()).await;
                let inner = &mut *guard;
                if inner
                    .links
                    .customer
                    .as_ref()
                    .is_some_and(|t| t.same_channel(&self.tx))
                {
                    inner.links.customer = None;
                    let _ = inner.machine.handle_customer_disconnect(state.now());
                    deliver(&state, &entry, inner);
                    state.after_event(&entry, inner);
                }
            }
            Bound::Agent(entry, agent, _) => {
                let mut guard = entry.lock(self.state.wake_clock()).await;
                let inner = &mut *guard;
                if inner
                    .links
                    .agents
                    .get(&agent)
                    .is_some_and(|t| t.same_channel(&self.tx))
                {
                    inner.links.agents.remove(&agent);
                    let _ = inner.machine.handle_agent_disconnect(agent, state.now());
                    deliver(&state, &entry, inner);
                    state.after_event(&entry, inner);
                }
            }
            Bound::None | Bound::AgentHello => {}
        }
    }
}
