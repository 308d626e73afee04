//! The WebSocket path: `GET /ws`, binary protocol messages (`cobrowse_engine::protocol`)
//! between the customer, the relay and the agents, glued to the session machine.
//!
//! # Connecting
//!
//! - **Customer**: first `POST /api/sessions` (which answers the id and a customer secret),
//!   then `GET /ws?session=<nine digits>&secret=<customer secret>` and, as the first message,
//!   `Hello { role: Customer, resume: None }`; or, without the query string,
//!   `Hello { role: Customer, resume: Some(..) }` with the resume token of an earlier `Joined`
//!   (participant 1). The relay never logs either. A missing or wrong secret or token is
//!   refused with `Error { Unauthorized }` and the connection closed; an unknown id with
//!   `Error { SessionNotFound }`, an ended one with `Error { SessionEnded }`. The relay answers
//!   `Joined` (participant 1). A page load or navigation reconnects the same way; a newer
//!   customer connection replaces an older one (closed with code 4000).
//! - **Agent**: `GET /ws` (with `?invite=<secret>` when joining by a colleague's invite),
//!   `Hello { role: Agent }`, then `Join { session_id, token }` with a token signed by the
//!   vendor backend (see [`crate::auth`]). Who is admitted is [`crate::admission`]'s rule: by
//!   the id alone only while the session waits for its first agent; later only the session's
//!   own agents coming back and colleagues with an invite; everything else gets exactly the
//!   unknown-id refusal. Refusals are typed (`Unauthorized` for a malformed, forged, expired
//!   or not co-browse-enabled token, `SessionNotFound`, `SessionEnded`, `SessionFull`,
//!   `AgentBusy`, `RateLimited` past the join-failure limits `limits.join_failures_per_*`) and
//!   close the connection; every refusal counts in the `join_failures` metric. On success the
//!   agent gets `Joined` and at once a keyframe **made by the relay from its mirror** (no
//!   round trip to the customer), then every later frame. An agent still in the session
//!   (connected, or disconnected within its grace period) comes back either by `Join` with a
//!   token of the same identity (`sub`) or by `Hello { role: Agent, resume: Some(..) }` with
//!   the resume token of its `Joined` (no `Join` needed; a token that does not fit gets
//!   `Error { Unauthorized }` and the connection stays open for a `Join`). Either way it keeps
//!   its participant id and gets `Joined` and a fresh relay-made keyframe. A second live
//!   connection of the same agent replaces the first.
//!
//! The first message must arrive within [`HANDSHAKE_TIMEOUT`].
//!
//! # Frames
//!
//! The customer streams `Frame` messages (keyframes and deltas made by the engine, sanitized:
//! the relay's mirror refuses unsanitized frames). Each is applied to the session's
//! [`Mirror`]; if it applies and the session forwards frames
//! ([`cobrowse_engine::session::Session::forwards_frames`]) the **received message bytes**
//! are forwarded to every connected agent: one refcounted buffer, no copy, no re-encoding.
//! While the session waits for its first agent, frames still update the mirror (so the first
//! agent gets a keyframe at once). While it is paused, frames are dropped unread (nothing
//! leaves the page; on resume every agent gets a relay-made keyframe). A frame the mirror
//! rejects (a sequence gap, a fingerprint mismatch, bad frame bytes) is not forwarded and the
//! customer is sent `KeyframeRequest { have_seq }` (once until a frame applies again).
//! An agent's `KeyframeRequest` (a gap or mismatch on its side) is answered with a relay-made
//! keyframe.
//!
//! # Acknowledgements and slow agents
//!
//! An agent may acknowledge the frames it applied (`Ack { seq }`). Acknowledging is optional;
//! an agent that does is held to a window: once the newest frame is more than [`ACK_WINDOW`]
//! sequence numbers past its last `Ack`, further deltas are **withheld** from it (counted in
//! `cobrowse_deltas_withheld_total`) instead of piling up in its queue. When its `Ack` reaches
//! the last frame it was sent, it gets one relay-made keyframe of the current page and the
//! stream resumes: a slow agent skips to the present instead of replaying a backlog. Any
//! keyframe sent to an agent (a join, its own `KeyframeRequest`, a resume of sharing) also
//! ends withholding. Agents that never acknowledge are bounded by their queue alone: a
//! connection with [`MAX_QUEUED`] messages or [`MAX_QUEUED_BYTES`] bytes waiting is closed
//! (4001) and reconnects to a fresh keyframe.
//!
//! Frames are limited per session by a token bucket (`limits.frames_per_second`, burst
//! `limits.frame_burst`): a frame over the limit is dropped and the customer gets
//! `Error { RateLimited }` (connection kept; the next delta will not apply and the relay
//! asks for a keyframe, which restores everyone).
//!
//! # Errors and closing
//!
//! - Bytes that are not a valid protocol message (garbage, a text message, a wrong version):
//!   `Error { BadMessage | UnsupportedVersion }` and the connection is **closed** (1008).
//! - A WebSocket message over `limits.max_message_bytes`: `Error { TooLarge }` (best effort)
//!   and **closed** (1009).
//! - A message kind the sender's role may not send (`MessageKind::may_come_from`):
//!   `Error { PermissionDenied(WrongRole) }`, connection **kept**.
//! - Refusals of the session rules (control requests, actions, chat): the machine's
//!   `Refused`/`Denied` become `Error { PermissionDenied(reason) | ... }`, connection **kept**.
//! - The session ends: everyone gets `End { reason }` and the connection is closed (1000).
//!
//! Error texts are fixed strings or the engine's own error texts (which never carry message
//! contents); the relay never logs message contents (chat, input values, URLs, frames).
//!
//! # Identities
//!
//! On the wire participants are relay-assigned [`ParticipantId`]s: the customer is 1, agents
//! are numbered from 2 in order of first join within the session. The machine's [`AgentId`]
//! is derived from the token's `sub` (a hash), so vendor agent ids never reach the customer.
//! Messages that name their sender (`Pointer`, `Chat`, `Highlight`, …) are re-attributed to
//! the authenticated connection: whatever `from` they claim is ignored.
//!
//! A dropped connection is a disconnect for the machine (an agent keeps its place for the
//! grace period; the customer is shown as disconnected); the relay's timer sweep ends
//! sessions as the rules say, and [`deliver`] tells the other side.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use cobrowse_engine::protocol::{
    self, ErrorCode, HighlightScope, Message, MessageKind, MessageView, Mode, ParticipantId, Party,
    Reconnect, ResumeToken, Role,
};
use cobrowse_engine::session::{
    AgentAction, AgentId, AgentJoin, AgentMode, HighlightId, Navigation, Participant, Point,
    Recipient, SessionError, SessionId, SessionMessage, SessionState, TargetFacts, TypedText,
};
use cobrowse_engine::{
    FrameHeader, FrameKind, Mirror, NodeId, NodeRecord, Projection, RecordData, Tree, View, WireId,
    encode_frame, encode_keyframe,
};
use futures_util::{SinkExt, StreamExt};
use sha2::Digest;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::admission::{self, Invites, Limit};
use crate::audit::bump;
use crate::auth;
use crate::config::Limits;
use crate::state::{RelayState, SessionEntry, SessionInner};

/// The refusal of an unknown id, and of every join that [`admission::admit`] refuses: the
/// same code and text, so a guess cannot tell a live session from none.
const NO_SESSION: &str = "no live session with this id";

/// How long a new connection may take to say `Hello` (and an agent to `Join`).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The customer's participant id.
pub const CUSTOMER: ParticipantId = ParticipantId(1);

/// Close codes.
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_REPLACED: u16 = 4000;

/// What a socket writer receives.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// An encoded protocol message (frames are shared buffers: cloning is a refcount).
    Wire(Bytes),
    /// Close the connection with this code and reason.
    Close(u16, &'static str),
}

/// Each connection's initial read buffer. tungstenite's default (128 KiB, zero-filled, so
/// resident at once) would be most of the relay's memory per session; most messages are a few
/// dozen bytes, and a large frame grows the buffer to its own length when its header arrives.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Messages a connection may have queued before it counts as too slow.
pub const MAX_QUEUED: usize = 1024;

/// Bytes a connection may have queued before it counts as too slow (a few large keyframes).
pub const MAX_QUEUED_BYTES: usize = 16 << 20;

/// Close code for a connection that fell [`MAX_QUEUED`] messages or [`MAX_QUEUED_BYTES`]
/// bytes behind. Its client reconnects within the grace period and gets a fresh relay-made
/// keyframe, so a slow agent costs bounded memory and never stalls the others.
pub const CLOSE_TOO_SLOW: u16 = 4001;

/// What one connection has queued and not yet written.
#[derive(Debug, Default)]
pub struct Backlog {
    messages: AtomicUsize,
    bytes: AtomicUsize,
}

impl Backlog {
    /// The writer wrote a message of `len` bytes.
    fn written(&self, len: usize) {
        self.messages.fetch_sub(1, Ordering::AcqRel);
        self.bytes.fetch_sub(len, Ordering::AcqRel);
    }
}

/// The sending side of one connection's queue, bounded by [`MAX_QUEUED`] and
/// [`MAX_QUEUED_BYTES`].
#[derive(Clone, Debug)]
pub struct Link {
    tx: UnboundedSender<Outbound>,
    backlog: Arc<Backlog>,
    /// Set once the too-slow close was queued: nothing more is.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl Link {
    fn new() -> (Link, UnboundedReceiver<Outbound>, Arc<Backlog>) {
        let (tx, rx) = unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        (
            Link {
                tx,
                backlog: backlog.clone(),
                closed: Default::default(),
            },
            rx,
            backlog,
        )
    }

    /// Queues a message; a connection already too far behind gets a close instead (once)
    /// and nothing more. Returns whether the message was queued.
    pub fn send(&self, out: Outbound) -> bool {
        let len = match &out {
            Outbound::Close(..) => return self.tx.send(out).is_ok(),
            Outbound::Wire(b) => b.len(),
        };
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let messages = self.backlog.messages.fetch_add(1, Ordering::AcqRel);
        let bytes = self.backlog.bytes.fetch_add(len, Ordering::AcqRel);
        // One message is always taken into an empty queue, however large (a relay-made
        // keyframe of a big page may exceed the bound on its own).
        if messages >= MAX_QUEUED || (bytes > 0 && bytes + len > MAX_QUEUED_BYTES) {
            self.backlog.messages.fetch_sub(1, Ordering::AcqRel);
            self.backlog.bytes.fetch_sub(len, Ordering::AcqRel);
            // Exactly one close, however many messages keep coming.
            if !self.closed.swap(true, Ordering::AcqRel) {
                let _ = self
                    .tx
                    .send(Outbound::Close(CLOSE_TOO_SLOW, "too far behind"));
            }
            return false;
        }
        if self.tx.send(out).is_err() {
            self.backlog.written(len);
            return false;
        }
        true
    }

    /// Whether both are the same connection.
    pub fn same_channel(&self, other: &Link) -> bool {
        self.tx.same_channel(&other.tx)
    }
}

/// The open connections of one session.
#[derive(Default)]
pub struct Links {
    /// The customer's connection.
    pub customer: Option<Link>,
    /// Each connected agent's connection.
    pub agents: HashMap<AgentId, Link>,
}

impl Links {
    /// Sends to one recipient set; returns how many connections it reached.
    pub fn send(&self, to: &Recipient, out: &Outbound) -> usize {
        let mut n = 0;
        let mut one = |link: &Link| {
            if link.send(out.clone()) {
                n += 1;
            }
        };
        match to {
            Recipient::Customer => self.customer.iter().for_each(&mut one),
            Recipient::Agent(a) => self.agents.get(a).into_iter().for_each(&mut one),
            Recipient::AllAgents => self.agents.values().for_each(&mut one),
            Recipient::Everyone => {
                self.customer.iter().for_each(&mut one);
                self.agents.values().for_each(&mut one);
            }
        }
        n
    }

    fn send_msg(&self, to: &Recipient, msg: &Message) {
        self.send(to, &Outbound::Wire(Bytes::from(msg.encode())));
    }
}

/// One agent as the wire knows it.
struct AgentSlot {
    pid: ParticipantId,
    resume: [u8; 16],
    /// The last frame the agent acknowledged, once it acknowledges at all.
    acked: Option<u64>,
    /// The last frame sent to it.
    sent: Option<u64>,
    /// Whether deltas are withheld until it acknowledges `sent`.
    withheld: bool,
}

impl AgentSlot {
    /// Whether the frame `seq` must be withheld from this agent (see the module docs).
    fn withholds(&mut self, seq: u64) -> bool {
        if !self.withheld
            && let Some(acked) = self.acked
        {
            self.withheld = seq.saturating_sub(acked) > ACK_WINDOW;
        }
        self.withheld
    }

    /// The agent was sent a keyframe of frame `seq`: it is up to date, and held to the window
    /// again from its next `Ack`.
    fn caught_up(&mut self, seq: Option<u64>) {
        self.sent = seq;
        self.acked = None;
        self.withheld = false;
    }
}

/// How many frames an acknowledging agent may be behind before deltas are withheld from it.
pub const ACK_WINDOW: u64 = 120;

/// The per-session wire state: participant numbering, resume tokens, the frame rate bucket,
/// the relay-made keyframe cache and highlight ids.
pub struct WireState {
    agents: HashMap<AgentId, AgentSlot>,
    by_pid: HashMap<u32, AgentId>,
    next_pid: u32,
    customer_client: Option<protocol::ClientInfo>,
    customer_resume: [u8; 16],
    bucket: TokenBucket,
    keyframe_requested: bool,
    /// (seq, fingerprint, encoded Frame message) of the last relay-made keyframe.
    keyframe_cache: Option<(u64, u64, Bytes)>,
    /// The wire message an agent or customer sent, with its sender rewritten, used by
    /// [`deliver`] in place of the machine's lossy form (fractional coordinates, a target
    /// element, highlight colours, link titles).
    echo: Option<Message>,
    /// Machine highlight ids -> (owner, the owner's wire id for it).
    highlights: HashMap<HighlightId, (ParticipantId, u32)>,
    /// Live invites (share links among agents) of this session.
    pub invites: Invites,
}

impl WireState {
    /// A fresh session's wire state.
    pub fn new(limits: &Limits) -> WireState {
        let mut customer_resume = [0u8; 16];
        auth::random_bytes(&mut customer_resume);
        WireState {
            agents: HashMap::new(),
            by_pid: HashMap::new(),
            next_pid: 2,
            customer_client: None,
            customer_resume,
            bucket: TokenBucket::new(limits.frames_per_second, limits.frame_burst),
            keyframe_requested: false,
            keyframe_cache: None,
            echo: None,
            highlights: HashMap::new(),
            invites: Invites::default(),
        }
    }

    /// The participant id of an agent, assigned on first use.
    fn slot(&mut self, agent: AgentId) -> &AgentSlot {
        let next = &mut self.next_pid;
        let by_pid = &mut self.by_pid;
        self.agents.entry(agent).or_insert_with(|| {
            let pid = ParticipantId(*next);
            *next += 1;
            by_pid.insert(pid.0, agent);
            let mut resume = [0u8; 16];
            auth::random_bytes(&mut resume);
            AgentSlot {
                pid,
                resume,
                acked: None,
                sent: None,
                withheld: false,
            }
        })
    }

    fn pid(&self, agent: AgentId) -> Option<ParticipantId> {
        self.agents.get(&agent).map(|s| s.pid)
    }

    fn agent(&self, pid: ParticipantId) -> Option<AgentId> {
        self.by_pid.get(&pid.0).copied()
    }

    fn forget(&mut self, agent: AgentId) {
        if let Some(s) = self.agents.remove(&agent) {
            self.by_pid.remove(&s.pid.0);
        }
    }
}

/// A token bucket (frames per second per session).
struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32, burst: u32) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            tokens: burst,
            rate: f64::from(rate),
            burst,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The machine's agent id for a token subject: the first 8 bytes of its SHA-256, so that the
/// same vendor agent gets the same id in every session (reconnects, one session at a time)
/// without the relay storing anything.
pub fn agent_id_of(sub: &str) -> AgentId {
    let h = sha2::Sha256::digest(sub.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    AgentId(u64::from_le_bytes(b))
}

// ---------------------------------------------------------------------------------------------
// Keyframes made by the relay.

/// The records of a mirror's tree, in pre-order with children counts and wire flags: what a
/// keyframe of the agent-visible page holds. The tree is mirror-shaped (already projected), so
/// the identity projection is used.
pub fn mirror_records(tree: &Tree) -> Vec<NodeRecord> {
    let p = Projection::identity();
    let mut out = Vec::with_capacity(tree.len());
    let mut stack: Vec<NodeId> = vec![tree.root()];
    while let Some(id) = stack.pop() {
        let kids: Vec<NodeId> = p.children(tree, id).collect();
        let data = match tree.data(id) {
            cobrowse_engine::NodeData::Document { viewport } => RecordData::Document {
                viewport: *viewport,
            },
            cobrowse_engine::NodeData::Fragment => RecordData::Fragment,
            cobrowse_engine::NodeData::Doctype {
                name,
                public_id,
                system_id,
            } => RecordData::Doctype {
                name: name.to_string(),
                public_id: public_id.to_string(),
                system_id: system_id.to_string(),
            },
            cobrowse_engine::NodeData::Element(e) => RecordData::Element {
                name: e.name.clone(),
                attrs: p.attrs(tree, id),
                props: p.props(tree, id),
            },
            cobrowse_engine::NodeData::Text(_) => {
                RecordData::Text(p.character_data(tree, id).unwrap_or_default().into_owned())
            }
            cobrowse_engine::NodeData::Comment(_) => {
                RecordData::Comment(p.character_data(tree, id).unwrap_or_default().into_owned())
            }
        };
        out.push(NodeRecord {
            wire: tree.wire_id(id),
            children: kids.len() as u32,
            flags: p.wire_flags(tree, id),
            data,
        });
        stack.extend(kids.into_iter().rev());
    }
    out
}

/// An engine keyframe of the mirror's current page (same sequence number and fingerprint as
/// the mirror), or `None` while the mirror is not in sync (no page yet, or waiting for a
/// customer keyframe).
pub fn mirror_keyframe(mirror: &Mirror) -> Option<Vec<u8>> {
    if !mirror.in_sync() {
        return None;
    }
    let seq = mirror.seq()?;
    let header = FrameHeader {
        kind: FrameKind::Keyframe,
        seq,
        base_seq: seq,
        fingerprint: mirror.fingerprint(),
        // The relay's mirror only takes sanitized frames.
        sanitized: true,
    };
    Some(encode_keyframe(&header, &mirror_records(mirror.tree())))
}

/// The relay-made keyframe as a `Frame` message, cached per (seq, fingerprint).
fn keyframe_message(state: &RelayState, inner: &mut SessionInner) -> Option<Bytes> {
    let seq = inner.mirror.seq()?;
    let fp = inner.mirror.fingerprint();
    if let Some((s, f, b)) = &inner.wire.keyframe_cache
        && *s == seq
        && *f == fp
        && inner.mirror.in_sync()
    {
        return Some(b.clone());
    }
    let frame = mirror_keyframe(&inner.mirror)?;
    let bytes = Bytes::from(encode_frame(&frame));
    bump(&state.metrics.relay_keyframes);
    inner.wire.keyframe_cache = Some((seq, fp, bytes.clone()));
    Some(bytes)
}

/// Sends a relay-made keyframe to `to`, or asks the customer for one when the mirror has none.
fn send_keyframe(state: &RelayState, inner: &mut SessionInner, to: Recipient) {
    match keyframe_message(state, inner) {
        Some(b) => {
            let seq = inner.mirror.seq();
            send_keyframe_bytes(inner, &to, b, seq);
        }
        None => request_customer_keyframe(inner),
    }
}

/// Sends a keyframe message (relay-made or the customer's) of frame `seq` to `to`; the
/// agents it reaches are up to date, which ends any withholding (see the module docs).
fn send_keyframe_bytes(
    inner: &mut SessionInner,
    to: &Recipient,
    b: Bytes,
    seq: Option<u64>,
) -> usize {
    let n = inner.links.send(to, &Outbound::Wire(b));
    for (agent, slot) in inner.wire.agents.iter_mut() {
        let reached = match to {
            Recipient::Agent(a) => a == agent,
            Recipient::AllAgents | Recipient::Everyone => true,
            Recipient::Customer => false,
        };
        if reached {
            slot.caught_up(seq);
        }
    }
    n
}

/// Sends the delta `seq` the mirror applied (the customer's message bytes, shared) to every
/// agent but those it is withheld from; returns how many agents it reached.
fn forward_delta(state: &RelayState, inner: &mut SessionInner, message: &Bytes, seq: u64) -> usize {
    let mut reached = 0;
    for (agent, link) in &inner.links.agents {
        let Some(slot) = inner.wire.agents.get_mut(agent) else {
            continue;
        };
        if slot.withholds(seq) {
            bump(&state.metrics.deltas_withheld);
            continue;
        }
        if link.send(Outbound::Wire(message.clone())) {
            slot.sent = Some(seq);
            reached += 1;
        }
    }
    reached
}

/// An agent acknowledged frame `seq`: if deltas were withheld from it and it has now applied
/// everything it was sent, it gets a keyframe of the current page.
fn agent_ack(state: &RelayState, inner: &mut SessionInner, agent: AgentId, seq: u64) {
    let Some(slot) = inner.wire.agents.get_mut(&agent) else {
        return;
    };
    slot.acked = Some(seq);
    if slot.withheld && slot.sent == Some(seq) {
        send_keyframe(state, inner, Recipient::Agent(agent));
    }
}

fn request_customer_keyframe(inner: &mut SessionInner) {
    if !inner.wire.keyframe_requested {
        inner.wire.keyframe_requested = true;
        inner.links.send_msg(
            &Recipient::Customer,
            &Message::KeyframeRequest {
                have_seq: inner.mirror.seq(),
            },
        );
    }
}

/// What the relay's mirror knows about an action's target.
fn target_facts(mirror: &Mirror, target: Option<WireId>) -> TargetFacts {
    let Some(w) = target else {
        return TargetFacts::MISSING;
    };
    let tree = mirror.tree();
    let Some(id) = tree.node_by_wire(w) else {
        return TargetFacts::MISSING;
    };
    let view = View::from_wire(Projection::identity().wire_flags(tree, id));
    let form = tree.element(id).is_some_and(|e| {
        matches!(
            &*e.name.local,
            "input" | "textarea" | "select" | "button" | "option" | "optgroup" | "form"
        )
    });
    TargetFacts::from_view(view, form)
}

// ---------------------------------------------------------------------------------------------
// Machine output -> wire.

fn error_msg(code: ErrorCode, text: &str) -> Message {
    // Printable ASCII only, at most the protocol's limit.
    let mut message: String = text
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect();
    message.truncate(protocol::MAX_ERROR_MESSAGE_BYTES);
    Message::Error { code, message }
}

/// The wire error for a session refusal (fixed texts: no ids, no contents).
fn session_error(e: &SessionError, state: SessionState) -> Message {
    let (code, text) = session_refusal(e, state);
    error_msg(code, text)
}

/// The wire code and fixed text of a session refusal.
fn session_refusal(e: &SessionError, state: SessionState) -> (ErrorCode, &'static str) {
    use protocol::DenyReason as D;
    match e {
        SessionError::SessionEnded(_) => (ErrorCode::SessionEnded, "the session has ended"),
        SessionError::NotAParticipant(_) => (
            ErrorCode::PermissionDenied(D::NotAParticipant),
            "not in this session",
        ),
        SessionError::AgentDisconnected(_) => (
            ErrorCode::PermissionDenied(D::AgentDisconnected),
            "disconnected",
        ),
        SessionError::AlreadyJoined(_) => (ErrorCode::AgentBusy, "already in this session"),
        SessionError::NotAuthenticated(_) => (ErrorCode::Unauthorized, "not authenticated"),
        SessionError::CobrowseNotEnabled(_) => {
            (ErrorCode::Unauthorized, "not enabled for co-browsing")
        }
        SessionError::SessionFull { .. } => (ErrorCode::SessionFull, "the session is full"),
        SessionError::InvitesNotAllowed
        | SessionError::InvitationPending
        | SessionError::NotInvited => (
            ErrorCode::PermissionDenied(D::NotStarted),
            "the session has not started",
        ),
        SessionError::ControlNotPermitted => (
            ErrorCode::PermissionDenied(D::ControlNotPermitted),
            "this session is view only",
        ),
        SessionError::AlreadyInControl => (
            ErrorCode::PermissionDenied(D::NotInControl),
            "already in control",
        ),
        SessionError::ControlHeldByOther { .. } => (
            ErrorCode::PermissionDenied(D::NotInControl),
            "another agent holds control",
        ),
        SessionError::ControlRequestPending { .. } => (
            ErrorCode::PermissionDenied(D::NotInControl),
            "a control request is pending",
        ),
        SessionError::NoControlRequest => (
            ErrorCode::PermissionDenied(D::NotInControl),
            "no such control request",
        ),
        SessionError::NotInControl => (
            ErrorCode::PermissionDenied(D::NotInControl),
            "not in control",
        ),
        SessionError::NoAgentInControl => (
            ErrorCode::PermissionDenied(D::NotInControl),
            "no agent holds control",
        ),
        SessionError::NotForwarding { .. } => {
            if state == SessionState::Paused {
                (
                    ErrorCode::PermissionDenied(D::SessionPaused),
                    "sharing is paused",
                )
            } else {
                (
                    ErrorCode::PermissionDenied(D::NotStarted),
                    "the session has not started",
                )
            }
        }
        SessionError::ChatEmpty => (ErrorCode::BadMessage, "empty chat message"),
        SessionError::ChatTooLong { .. } => (ErrorCode::BadMessage, "chat message too long"),
        SessionError::InvalidUrl(_) => (ErrorCode::BadMessage, "invalid link"),
        _ => (ErrorCode::Internal, "refused"),
    }
}

fn to_f32(p: Point) -> (f32, f32) {
    (p.x as f32, p.y as f32)
}

fn to_point(x: f32, y: f32) -> Point {
    // The protocol bounds coordinates to +-2^24, well inside i32.
    Point::new(x.round() as i32, y.round() as i32)
}

fn wire_nav(n: Navigation) -> protocol::Navigation {
    match n {
        Navigation::Url(u) => protocol::Navigation::Url(u),
        Navigation::Back => protocol::Navigation::Back,
        Navigation::Forward => protocol::Navigation::Forward,
        Navigation::Reload => protocol::Navigation::Reload,
    }
}

fn machine_nav(n: protocol::Navigation) -> Navigation {
    match n {
        protocol::Navigation::Url(u) => Navigation::Url(u),
        protocol::Navigation::Back => Navigation::Back,
        protocol::Navigation::Forward => Navigation::Forward,
        protocol::Navigation::Reload => Navigation::Reload,
    }
}

fn current_mode(inner: &SessionInner) -> Mode {
    match inner.machine.controller().and_then(|a| inner.wire.pid(a)) {
        Some(pid) => Mode::Control(pid),
        None => Mode::Pointer,
    }
}

fn participants(inner: &SessionInner) -> u16 {
    u16::try_from(inner.machine.participants()).unwrap_or(u16::MAX)
}

/// Routes everything the session machine has to say to the session's connections, in the
/// protocol's words.
pub fn deliver(state: &RelayState, _entry: &SessionEntry, inner: &mut SessionInner) {
    let ceiling = inner.machine.policy().control_ceiling;
    while let Some(out) = inner.machine.poll_transmit() {
        let to = out.to;
        let pid = |inner: &SessionInner, a: AgentId| inner.wire.pid(a);
        let msg: Option<Message> =
            match out.msg {
                // The customer learns its session from `Joined` on connecting: `Created` (emitted
                // before any connection exists) has no wire form.
                SessionMessage::Created { .. } => None,
                // Agent invitations are off by default and not wired yet (no protocol message
                // carries an invitation to the customer); see the report in the README.
                SessionMessage::Invitation { .. } => None,
                SessionMessage::Welcome(w) => {
                    let Recipient::Agent(agent) = to else {
                        continue;
                    };
                    let Some(slot) = inner.wire.agents.get(&agent) else {
                        continue;
                    };
                    let joined = Message::Joined {
                        session_id: w.session,
                        participant_id: slot.pid,
                        participants: u16::try_from(w.participants).unwrap_or(u16::MAX),
                        role: Role::Agent,
                        mode: current_mode(inner),
                        ceiling: w.ceiling,
                        paused: w.state == SessionState::Paused,
                        resume_token: ResumeToken(slot.resume),
                        customer: inner.wire.customer_client.clone(),
                    };
                    inner.links.send_msg(&to, &joined);
                    // At once, the page as the relay's mirror has it (or a request to the
                    // customer when the mirror has no page yet).
                    send_keyframe(state, inner, to);
                    None
                }
                SessionMessage::AgentJoined {
                    agent,
                    participants,
                } => pid(inner, agent).map(|p| Message::PeerJoined {
                    participant_id: p,
                    role: Role::Agent,
                    participants: u16::try_from(participants).unwrap_or(u16::MAX),
                }),
                SessionMessage::AgentLeft {
                    agent,
                    participants,
                    ..
                } => {
                    let m = pid(inner, agent).map(|p| Message::Left {
                        participant_id: p,
                        participants: u16::try_from(participants).unwrap_or(u16::MAX),
                    });
                    inner.wire.forget(agent);
                    m
                }
                SessionMessage::AgentConnection { agent, connected } => {
                    pid(inner, agent).map(|p| Message::Connection {
                        participant_id: p,
                        connected,
                    })
                }
                SessionMessage::CustomerConnection { connected } => Some(Message::Connection {
                    participant_id: CUSTOMER,
                    connected,
                }),
                // The relay serves keyframes from its mirror; it asks the customer only when the
                // mirror has no page.
                SessionMessage::KeyframeNeeded => {
                    if !inner.mirror.in_sync() {
                        request_customer_keyframe(inner);
                    }
                    None
                }
                SessionMessage::PageChanged { url } => Some(Message::PageChanged { url }),
                SessionMessage::ControlRequested { agent } => {
                    pid(inner, agent).map(|p| Message::ControlRequest { agent: p })
                }
                // No wire form of its own: `ControlReturn` tells the customer the (single) pending
                // request or control is gone.
                SessionMessage::ControlRequestWithdrawn { .. } => Some(Message::ControlReturn),
                SessionMessage::ControlApproved { agent } => {
                    pid(inner, agent).map(|p| Message::ControlApprove { agent: p })
                }
                SessionMessage::ControlDeclined { agent } => {
                    pid(inner, agent).map(|p| Message::ControlDecline { agent: p })
                }
                SessionMessage::ControlRevoked { .. } => Some(Message::ControlRevoke),
                SessionMessage::ControlReturned { .. } => Some(Message::ControlReturn),
                SessionMessage::ModeChanged { agent, mode } => {
                    let mode = match mode {
                        AgentMode::Control => match pid(inner, agent) {
                            Some(p) => Mode::Control(p),
                            None => continue,
                        },
                        AgentMode::Pointer => Mode::Pointer,
                    };
                    Some(Message::ModeChanged { mode, ceiling })
                }
                SessionMessage::Paused { reason } => Some(Message::Pause { reason }),
                SessionMessage::Resumed => {
                    inner.links.send_msg(&to, &Message::Resume);
                    // "Sharing resumed (a keyframe follows)": the mirror's page, to every agent.
                    send_keyframe(state, inner, Recipient::AllAgents);
                    None
                }
                SessionMessage::Ended { reason } => {
                    inner.links.send_msg(
                        &to,
                        &Message::End {
                            reason: reason.into(),
                        },
                    );
                    inner
                        .links
                        .send(&to, &Outbound::Close(CLOSE_NORMAL, "session ended"));
                    None
                }
                SessionMessage::Refused(e) => Some(session_error(&e, inner.machine.state())),
                SessionMessage::Denied(d) => Some(error_msg(
                    ErrorCode::PermissionDenied(d.reason.into()),
                    &d.reason.to_string(),
                )),
                SessionMessage::AgentPointer { agent, at } => match inner.wire.echo.take() {
                    Some(m @ (Message::Pointer { .. } | Message::ClickRipple { .. })) => Some(m),
                    _ => pid(inner, agent).map(|p| {
                        let (x, y) = to_f32(at);
                        Message::Pointer {
                            from: p,
                            x,
                            y,
                            target: None,
                        }
                    }),
                },
                SessionMessage::CustomerPointer { at } => match inner.wire.echo.take() {
                    Some(m @ Message::Pointer { .. }) => Some(m),
                    _ => {
                        let (x, y) = to_f32(at);
                        Some(Message::Pointer {
                            from: CUSTOMER,
                            x,
                            y,
                            target: None,
                        })
                    }
                },
                SessionMessage::ClickRipple { agent, at } => {
                    let Some(p) = pid(inner, agent) else { continue };
                    match inner.wire.echo.take() {
                        Some(Message::AgentClick { target, x, y }) => Some(Message::ClickRipple {
                            from: p,
                            x,
                            y,
                            target: Some(target),
                        }),
                        _ => {
                            let (x, y) = to_f32(at);
                            Some(Message::ClickRipple {
                                from: p,
                                x,
                                y,
                                target: None,
                            })
                        }
                    }
                }
                SessionMessage::Replay { action, .. } => {
                    let echo = inner.wire.echo.take();
                    match action {
                        AgentAction::Click { target, at } => match echo {
                            Some(m @ Message::AgentClick { .. }) => Some(m),
                            _ => {
                                let (x, y) = to_f32(at);
                                Some(Message::AgentClick { target, x, y })
                            }
                        },
                        AgentAction::Scroll { target, to: at } => match echo {
                            Some(m @ Message::Scroll { .. }) => Some(m),
                            _ => {
                                let (x, y) = to_f32(at);
                                Some(Message::Scroll { target, x, y })
                            }
                        },
                        AgentAction::Input { target, text } => Some(Message::AgentInput {
                            target,
                            value: text.into_string(),
                        }),
                        AgentAction::Submit { target } => Some(Message::AgentSubmit { target }),
                        AgentAction::Navigate(n) => Some(Message::Navigate { to: wire_nav(n) }),
                        // Pointer and highlights are never replayed (they have their own outputs).
                        AgentAction::Pointer { .. }
                        | AgentAction::Highlight { .. }
                        | AgentAction::ClearHighlights => None,
                    }
                }
                SessionMessage::HighlightAdded(h) => {
                    let Some(p) = pid(inner, h.agent) else {
                        continue;
                    };
                    let m = match inner.wire.echo.take() {
                        Some(Message::Highlight {
                            id,
                            target,
                            rect,
                            color,
                            ..
                        }) if target == h.target => Message::Highlight {
                            from: p,
                            id,
                            target,
                            rect,
                            color,
                        },
                        _ => Message::Highlight {
                            from: p,
                            id: h.id.0,
                            target: h.target,
                            rect: None,
                            color: None,
                        },
                    };
                    if let Message::Highlight { id, .. } = &m {
                        inner.wire.highlights.insert(h.id, (p, *id));
                    }
                    Some(m)
                }
                SessionMessage::HighlightCleared { id, .. } => inner
                    .wire
                    .highlights
                    .remove(&id)
                    .map(|(from, wid)| Message::HighlightClear {
                        from,
                        which: HighlightScope::One(wid),
                    }),
                SessionMessage::Chat { from, text } => {
                    let from = match from {
                        Participant::Customer => Some(CUSTOMER),
                        Participant::Agent(a) => pid(inner, a),
                    };
                    from.map(|from| Message::Chat { from, text })
                }
                SessionMessage::SharedLink { agent, url } => {
                    let Some(p) = pid(inner, agent) else { continue };
                    let title = match inner.wire.echo.take() {
                        Some(Message::SharedLink { title, .. }) => title,
                        _ => String::new(),
                    };
                    Some(Message::SharedLink {
                        from: p,
                        url,
                        title,
                    })
                }
            };
        if let Some(m) = msg {
            inner.links.send_msg(&to, &m);
        }
    }
    inner.wire.echo = None;
}

// ---------------------------------------------------------------------------------------------
// Connections.

/// `GET /ws`: upgrades to a WebSocket (see the module docs).
pub async fn upgrade(
    State(state): State<Arc<RelayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let max = state.config.limits.max_message_bytes;
    let proofs = Proofs {
        session: query.get("session").cloned(),
        secret: query.get("secret").cloned(),
        invite: query.get("invite").cloned(),
    };
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| run(state, socket, peer.ip(), proofs))
}

/// What the connection's query string carries (never logged).
struct Proofs {
    /// A customer's session id (`?session=`).
    session: Option<String>,
    /// A customer's secret (`?secret=`).
    secret: Option<String>,
    /// An agent's invite (`?invite=`), see [`crate::admission`].
    invite: Option<String>,
}

enum Bound {
    None,
    /// An agent said `Hello` and has not joined yet.
    AgentHello,
    Customer(Arc<SessionEntry>),
    Agent(Arc<SessionEntry>, AgentId, ParticipantId),
}

struct Conn {
    state: Arc<RelayState>,
    tx: Link,
    ip: IpAddr,
    proofs: Proofs,
    bound: Bound,
}

enum Flow {
    Continue,
    Close,
}

async fn run(state: Arc<RelayState>, socket: WebSocket, ip: IpAddr, proofs: Proofs) {
    let (sink, mut stream) = socket.split();
    let (tx, rx, backlog) = Link::new();
    let mut writer = tokio::spawn(write_loop(sink, rx, backlog));
    state
        .metrics
        .connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut conn = Conn {
        state: state.clone(),
        tx,
        ip,
        proofs,
        bound: Bound::None,
    };
    tracing::debug!(ip = %ip, "connection opened");
    let handshake_deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    let mut writer_done = false;
    loop {
        let handshaking = matches!(conn.bound, Bound::None | Bound::AgentHello);
        let next = async {
            if handshaking {
                tokio::time::timeout_at(handshake_deadline, stream.next())
                    .await
                    .ok()
            } else {
                Some(stream.next().await)
            }
        };
        let item = tokio::select! {
            item = next => item,
            _ = &mut writer => { writer_done = true; break; }
        };
        let Some(item) = item else {
            conn.fatal(ErrorCode::BadMessage, "no Hello in time", CLOSE_POLICY);
            break;
        };
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
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Flow::Continue,
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
    }
    conn.cleanup().await;
    let Conn { tx, .. } = conn;
    drop(tx);
    if !writer_done {
        // Let the writer flush what was queued (an error, a close) before the socket goes.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
        writer.abort();
    }
    state
        .metrics
        .connections
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(ip = %ip, "connection closed");
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, WsMessage>,
    mut rx: UnboundedReceiver<Outbound>,
    backlog: Arc<Backlog>,
) {
    while let Some(out) = rx.recv().await {
        match out {
            Outbound::Wire(b) => {
                backlog.written(b.len());
                if sink.send(WsMessage::Binary(b)).await.is_err() {
                    return;
                }
            }
            Outbound::Close(code, reason) => {
                let _ = sink
                    .send(WsMessage::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })))
                    .await;
                let _ = sink.flush().await;
                return;
            }
        }
    }
    let _ = sink.close().await;
}

impl Conn {
    fn send(&self, msg: &Message) {
        self.tx.send(Outbound::Wire(Bytes::from(msg.encode())));
    }

    fn error(&self, code: ErrorCode, text: &str) {
        self.send(&error_msg(code, text));
    }

    /// A typed error, then the close.
    fn fatal(&self, code: ErrorCode, text: &str, close: u16) {
        self.error(code, text);
        let reason = match close {
            CLOSE_TOO_BIG => "message too large",
            CLOSE_NORMAL => "session ended",
            _ => "refused",
        };
        self.tx.send(Outbound::Close(close, reason));
    }

    fn party(&self) -> Option<Party> {
        match self.bound {
            Bound::None => None,
            Bound::AgentHello | Bound::Agent(..) => Some(Party::Agent),
            Bound::Customer(_) => Some(Party::Customer),
        }
    }

    async fn on_binary(&mut self, bytes: Bytes) -> Flow {
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
            let Message::Hello {
                role,
                client,
                resume,
            } = view.to_message()
            else {
                return Flow::Close;
            };
            return match (role, resume) {
                (Role::Customer, resume) => self.customer_hello(client, resume).await,
                (Role::Agent, Some(resume)) => self.agent_resume(resume).await,
                (Role::Agent, None) => {
                    self.bound = Bound::AgentHello;
                    Flow::Continue
                }
            };
        };
        if !kind.may_come_from(party) {
            self.error(
                ErrorCode::PermissionDenied(protocol::DenyReason::WrongRole),
                "this role may not send this message",
            );
            return Flow::Continue;
        }
        match &self.bound {
            Bound::AgentHello => match view.to_message() {
                Message::Join { session_id, token } => {
                    self.agent_join(session_id, token.as_str()).await
                }
                Message::Ping { nonce, sent_at_ms } => {
                    self.send(&Message::Pong { nonce, sent_at_ms });
                    Flow::Continue
                }
                _ => {
                    self.fatal(
                        ErrorCode::BadMessage,
                        "an agent sends Join after Hello",
                        CLOSE_POLICY,
                    );
                    Flow::Close
                }
            },
            Bound::Customer(entry) => {
                let entry = entry.clone();
                if kind == MessageKind::Frame {
                    let frame = view.frame().unwrap_or_default();
                    self.customer_frame(&entry, frame, bytes.clone()).await;
                    return Flow::Continue;
                }
                let msg = view.to_message();
                self.customer_message(&entry, msg).await
            }
            Bound::Agent(entry, agent, pid) => {
                let (entry, agent, pid) = (entry.clone(), *agent, *pid);
                let msg = view.to_message();
                self.agent_message(&entry, agent, pid, msg).await
            }
            Bound::None => Flow::Close,
        }
    }

    // --- Customer.

    /// A customer proves its session with the secret of `POST /api/sessions` in the query
    /// string, or with the resume token of an earlier `Joined`.
    async fn customer_hello(
        &mut self,
        client: protocol::ClientInfo,
        resume: Option<Reconnect>,
    ) -> Flow {
        let (id, secret, resume) = match (
            self.proofs.session.as_deref(),
            self.proofs.secret.as_deref(),
            resume,
        ) {
            (Some(id), Some(secret), _) => match SessionId::parse(id) {
                Ok(id) => (id, Some(secret.to_owned()), None),
                Err(_) => {
                    self.fatal(ErrorCode::SessionNotFound, NO_SESSION, CLOSE_POLICY);
                    return Flow::Close;
                }
            },
            (_, _, Some(r)) => (r.session_id, None, Some(r)),
            _ => {
                self.fatal(
                    ErrorCode::Unauthorized,
                    "a customer connects with ?session=<id>&secret=<customer secret> or resumes \
                     with its resume token",
                    CLOSE_POLICY,
                );
                return Flow::Close;
            }
        };
        let Some(entry) = self.state.session(id.value()) else {
            self.refuse_missing(id.value());
            return Flow::Close;
        };
        let state = self.state.clone();
        let mut inner = entry.inner.lock().await;
        let proven = match (&secret, &resume) {
            (Some(secret), _) => auth::secrets_match(secret, &entry.customer_secret),
            (None, Some(r)) => {
                r.participant_id == CUSTOMER && r.token == ResumeToken(inner.wire.customer_resume)
            }
            (None, None) => false,
        };
        if !proven {
            drop(inner);
            self.fatal(
                ErrorCode::Unauthorized,
                "wrong customer secret or resume token",
                CLOSE_POLICY,
            );
            return Flow::Close;
        }
        if inner.machine.is_ended() {
            drop(inner);
            self.fatal(
                ErrorCode::SessionEnded,
                "the session has ended",
                CLOSE_NORMAL,
            );
            return Flow::Close;
        }
        if let Some(old) = inner.links.customer.replace(self.tx.clone()) {
            let _ = old.send(Outbound::Close(
                CLOSE_REPLACED,
                "replaced by a newer customer connection",
            ));
        }
        inner.wire.customer_client = Some(client);
        let now = state.now();
        let _ = inner.machine.handle_customer_reconnect(now);
        let joined = Message::Joined {
            session_id: id,
            participant_id: CUSTOMER,
            participants: participants(&inner),
            role: Role::Customer,
            mode: current_mode(&inner),
            ceiling: inner.machine.policy().control_ceiling,
            paused: inner.machine.state() == SessionState::Paused,
            resume_token: ResumeToken(inner.wire.customer_resume),
            customer: None,
        };
        self.send(&joined);
        // A (re)connected customer starts its frames with a keyframe anyway; forget any
        // earlier request so a later failure asks again.
        inner.wire.keyframe_requested = false;
        deliver(&state, &entry, &mut inner);
        state.after_event(&entry, &mut inner);
        drop(inner);
        self.bound = Bound::Customer(entry);
        Flow::Continue
    }

    fn refuse_missing(&self, id: u32) {
        if self.state.recently_ended(id) {
            self.fatal(
                ErrorCode::SessionEnded,
                "the session has ended",
                CLOSE_POLICY,
            );
        } else {
            self.fatal(ErrorCode::SessionNotFound, NO_SESSION, CLOSE_POLICY);
        }
    }

    async fn customer_frame(&self, entry: &Arc<SessionEntry>, frame: &[u8], message: Bytes) {
        let state = &self.state;
        let mut inner = entry.inner.lock().await;
        let inner = &mut *inner;
        // Nothing leaves a paused page: dropped unread (agents get a keyframe on resume).
        if inner.machine.state() == SessionState::Paused || inner.machine.is_ended() {
            return;
        }
        if !inner.wire.bucket.take(Instant::now()) {
            bump(&state.metrics.rate_limited);
            self.error(ErrorCode::RateLimited, "too many frames; frame dropped");
            return;
        }
        match inner.mirror.apply_frame(frame, &mut ()) {
            Ok(header) => {
                inner.wire.keyframe_requested = false;
                let now = state.now();
                if inner.machine.handle_customer_frame(now).is_ok() {
                    // The received message, as it is, to every agent (but those too far
                    // behind in their acknowledgements).
                    let n = match header.kind {
                        FrameKind::Delta => forward_delta(state, inner, &message, header.seq),
                        FrameKind::Keyframe => send_keyframe_bytes(
                            inner,
                            &Recipient::AllAgents,
                            message,
                            Some(header.seq),
                        ),
                    };
                    if n > 0 {
                        bump(&state.metrics.frames_relayed);
                        state
                            .metrics
                            .frame_bytes
                            .fetch_add(frame.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                deliver(state, entry, inner);
                state.after_event(entry, inner);
            }
            Err(e) => {
                // Error texts of the replayer carry ids and hashes, never content.
                tracing::debug!(session = entry.id.value(), "frame rejected: {e}");
                request_customer_keyframe(inner);
            }
        }
    }

    async fn customer_message(&mut self, entry: &Arc<SessionEntry>, msg: Message) -> Flow {
        let state = self.state.clone();
        let mut guard = entry.inner.lock().await;
        let inner = &mut *guard;
        let now = state.now();
        let agent_of = |inner: &SessionInner, p: ParticipantId| inner.wire.agent(p);
        let result: Result<(), SessionError> = match msg {
            Message::Pause { .. } => inner.machine.handle_customer_stop_sharing(now),
            Message::Resume => inner.machine.handle_customer_start_sharing(now),
            Message::End { .. } => inner.machine.handle_customer_end(now),
            Message::ControlApprove { agent } => match agent_of(inner, agent) {
                Some(a) => inner.machine.handle_control_approve(a, now),
                None => Err(SessionError::NoControlRequest),
            },
            Message::ControlDecline { agent } => match agent_of(inner, agent) {
                Some(a) => inner.machine.handle_control_decline(a, now),
                None => Err(SessionError::NoControlRequest),
            },
            // The customer's return-to-pointer button takes control back.
            Message::ControlRevoke
            | Message::ControlReturn
            | Message::ModeChanged {
                mode: Mode::Pointer,
                ..
            } => inner.machine.handle_customer_revoke_control(now),
            Message::ModeChanged { .. } => {
                self.error(
                    ErrorCode::BadMessage,
                    "the customer grants control with ControlApprove",
                );
                Ok(())
            }
            Message::Pointer { x, y, target, .. } => {
                inner.wire.echo = Some(Message::Pointer {
                    from: CUSTOMER,
                    x,
                    y,
                    target,
                });
                inner.machine.handle_customer_pointer(to_point(x, y), now)
            }
            // The customer's scrolling and window size are followed by the agents (the machine
            // has no rule about them beyond activity and forwarding).
            m @ (Message::Scroll { .. } | Message::Viewport { .. }) => {
                if inner.machine.forwards_frames() {
                    let _ = inner.machine.handle_customer_activity(now);
                    inner.links.send_msg(&Recipient::AllAgents, &m);
                }
                Ok(())
            }
            Message::PageChanged { url } => inner.machine.handle_customer_navigate(&url, now),
            Message::Chat { text, .. } => {
                inner.machine.handle_chat(Participant::Customer, &text, now)
            }
            Message::Ping { nonce, sent_at_ms } => {
                self.send(&Message::Pong { nonce, sent_at_ms });
                Ok(())
            }
            // Latency answers and the other side's errors need no action from the relay.
            Message::Pong { .. } | Message::Error { .. } => Ok(()),
            Message::Hello { .. } => {
                self.error(ErrorCode::BadMessage, "already said Hello");
                Ok(())
            }
            _ => {
                self.error(ErrorCode::BadMessage, "unexpected message");
                Ok(())
            }
        };
        if let Err(e) = &result {
            self.send(&session_error(e, inner.machine.state()));
        }
        deliver(&state, entry, inner);
        state.after_event(entry, inner);
        Flow::Continue
    }

    // --- Agent.

    /// Refuses the connection with `RateLimited` when `key` is past `limits`.
    fn refuse_if_over(&self, key: &str, limits: &[Limit], text: &'static str) -> bool {
        let over =
            self.state
                .join_limiter
                .lock()
                .expect("limiter lock")
                .over(key, limits, Instant::now());
        if over {
            bump(&self.state.metrics.join_failures);
            bump(&self.state.metrics.rate_limited);
            tracing::warn!(ip = %self.ip, "join refused: {text}");
            self.fatal(ErrorCode::RateLimited, text, CLOSE_POLICY);
        }
        over
    }

    /// Counts a failed join against `keys`.
    fn count_failure(&self, keys: &[&str]) {
        bump(&self.state.metrics.join_failures);
        let now = Instant::now();
        let mut limiter = self.state.join_limiter.lock().expect("limiter lock");
        for k in keys {
            limiter.record(k, now);
        }
    }

    /// `Join` after `Hello`: the vendor token, then [`admission::admit`].
    async fn agent_join(&mut self, session_id: SessionId, token: &str) -> Flow {
        let state = self.state.clone();
        let limits = &state.config.limits;
        let ip_key = format!("ip:{}", self.ip);
        if self.refuse_if_over(
            &ip_key,
            &limits.ip_join_limits(),
            "too many failed joins from this address",
        ) {
            return Flow::Close;
        }
        let claims = match auth::verify_agent_token(&state.agent_secret, token, state.unix_secs()) {
            Ok(c) => c,
            Err(e) => {
                self.count_failure(&[&ip_key]);
                tracing::info!(ip = %self.ip, "join refused: {e}");
                self.fatal(ErrorCode::Unauthorized, &e.to_string(), CLOSE_POLICY);
                return Flow::Close;
            }
        };
        let agent_key = format!("agent:{}", claims.sub);
        if self.refuse_if_over(
            &agent_key,
            &limits.agent_join_limits(),
            "too many failed joins by this agent",
        ) {
            return Flow::Close;
        }
        let keys = [ip_key.as_str(), agent_key.as_str()];
        let Some(entry) = state.session(session_id.value()) else {
            self.count_failure(&keys);
            tracing::info!(ip = %self.ip, "join refused: no live session with that id");
            self.refuse_missing(session_id.value());
            return Flow::Close;
        };
        let agent = agent_id_of(&claims.sub);
        let mut guard = entry.inner.lock().await;
        let inner = &mut *guard;
        let present = inner.machine.agent(agent).is_some();
        let invited = self
            .proofs
            .invite
            .as_deref()
            .is_some_and(|i| inner.wire.invites.check(i, Instant::now()));
        let Some(admission) = admission::admit(inner.machine.state(), present, invited) else {
            drop(guard);
            self.count_failure(&keys);
            tracing::info!(
                ip = %self.ip,
                "join refused: the session is past its first join and no invite was shown"
            );
            self.fatal(ErrorCode::SessionNotFound, NO_SESSION, CLOSE_POLICY);
            return Flow::Close;
        };
        match self.enter(&entry, inner, agent, admission.as_str()) {
            Ok(()) => Flow::Continue,
            Err((code, message)) => {
                drop(guard);
                self.count_failure(&keys);
                tracing::info!(session = entry.id.value(), "join refused: {message}");
                self.fatal(code, message, CLOSE_POLICY);
                Flow::Close
            }
        }
    }

    /// `Hello { resume }` from an agent: back into its session with the resume token of its
    /// `Joined`, no vendor token needed, while it is still in the session (connected or within
    /// its grace period). A token that does not fit is answered `Unauthorized` and the
    /// connection stays open for a `Join`.
    async fn agent_resume(&mut self, r: Reconnect) -> Flow {
        let state = self.state.clone();
        let ip_key = format!("ip:{}", self.ip);
        if self.refuse_if_over(
            &ip_key,
            &state.config.limits.ip_join_limits(),
            "too many failed joins from this address",
        ) {
            return Flow::Close;
        }
        let Some(entry) = state.session(r.session_id.value()) else {
            self.count_failure(&[&ip_key]);
            tracing::info!(ip = %self.ip, "resume refused: no live session with that id");
            self.refuse_missing(r.session_id.value());
            return Flow::Close;
        };
        let mut guard = entry.inner.lock().await;
        let inner = &mut *guard;
        let agent = inner.wire.agent(r.participant_id).filter(|a| {
            inner
                .wire
                .agents
                .get(a)
                .is_some_and(|slot| ResumeToken(slot.resume) == r.token)
                && inner.machine.agent(*a).is_some()
        });
        let Some(agent) = agent else {
            drop(guard);
            self.count_failure(&[&ip_key]);
            tracing::info!(ip = %self.ip, "resume refused: the token does not fit");
            self.error(
                ErrorCode::Unauthorized,
                "resume token not valid for this session: join with a token",
            );
            self.bound = Bound::AgentHello;
            return Flow::Continue;
        };
        match self.enter(&entry, inner, agent, "resume") {
            Ok(()) => Flow::Continue,
            Err((code, message)) => {
                drop(guard);
                self.fatal(code, message, CLOSE_POLICY);
                Flow::Close
            }
        }
    }

    /// Puts an admitted agent into the session: this connection replaces any older one of
    /// the same agent, the one-session-per-agent policy is applied, and the machine hears of
    /// the join (a reconnect if the agent is still present). On success the agent has been
    /// sent `Joined` and a relay-made keyframe, and this connection is bound to it (`by` says
    /// how it got in, for the log). On refusal nothing has changed and the wire error is
    /// returned.
    fn enter(
        &mut self,
        entry: &Arc<SessionEntry>,
        inner: &mut SessionInner,
        agent: AgentId,
        by: &'static str,
    ) -> Result<(), (ErrorCode, &'static str)> {
        let state = &self.state;
        let session_id = entry.id;
        let now = state.now();
        let known = inner.wire.agents.contains_key(&agent);
        // A second connection of a connected agent replaces the first (a reconnect the relay
        // has not noticed yet): the old one is closed and counts as a disconnect.
        if let Some(info) = inner.machine.agent(agent)
            && info.connection.is_connected()
        {
            if let Some(old) = inner.links.agents.remove(&agent) {
                let _ = old.send(Outbound::Close(
                    CLOSE_REPLACED,
                    "replaced by a newer connection",
                ));
            }
            let _ = inner.machine.handle_agent_disconnect(agent, now);
        }
        // One session at a time per agent (policy): refused before anything changes here.
        let newly_assigned = {
            let mut directory = state.directory.lock().expect("directory lock");
            let already = directory.sessions_of(agent).any(|s| s == session_id);
            if directory.assign(agent, session_id).is_err() {
                return Err((ErrorCode::AgentBusy, "agent is already in another session"));
            }
            !already
        };
        let pid = inner.wire.slot(agent).pid;
        let previous = inner.links.agents.insert(agent, self.tx.clone());
        match inner
            .machine
            .handle_agent_join(AgentJoin::verified(agent), now)
        {
            Ok(()) => {
                deliver(state, entry, inner);
                state.after_event(entry, inner);
                tracing::info!(
                    session = entry.id.value(),
                    participant = pid.0,
                    by,
                    "agent joined"
                );
                self.bound = Bound::Agent(entry.clone(), agent, pid);
                Ok(())
            }
            Err(e) => {
                if newly_assigned {
                    state
                        .directory
                        .lock()
                        .expect("directory lock")
                        .release(agent, session_id);
                }
                inner.links.agents.remove(&agent);
                if let Some(p) = previous {
                    inner.links.agents.insert(agent, p);
                }
                if !known {
                    inner.wire.forget(agent);
                }
                let refusal = session_refusal(&e, inner.machine.state());
                deliver(state, entry, inner);
                state.after_event(entry, inner);
                Err(refusal)
            }
        }
    }

    async fn agent_message(
        &mut self,
        entry: &Arc<SessionEntry>,
        agent: AgentId,
        pid: ParticipantId,
        msg: Message,
    ) -> Flow {
        let state = self.state.clone();
        let mut guard = entry.inner.lock().await;
        let inner = &mut *guard;
        let now = state.now();
        // Actions go through the machine; its refusals reach the agent as Refused / Denied.
        let action = |inner: &mut SessionInner, a: AgentAction, echo: Option<Message>| {
            let facts = target_facts(&inner.mirror, a.target());
            inner.wire.echo = echo;
            let _ = inner.machine.handle_agent_action(agent, a, facts, now);
        };
        match msg {
            Message::ControlRequest { .. } => {
                let _ = inner.machine.handle_control_request(agent, now);
            }
            Message::ControlReturn => {
                let _ = inner.machine.handle_agent_return_control(agent, now);
            }
            Message::Pointer { x, y, target, .. } => action(
                inner,
                AgentAction::Pointer { at: to_point(x, y) },
                Some(Message::Pointer {
                    from: pid,
                    x,
                    y,
                    target,
                }),
            ),
            // A ripple is presence, like the pointer: no click happens.
            Message::ClickRipple { x, y, target, .. } => action(
                inner,
                AgentAction::Pointer { at: to_point(x, y) },
                Some(Message::ClickRipple {
                    from: pid,
                    x,
                    y,
                    target,
                }),
            ),
            Message::AgentClick { target, x, y } => action(
                inner,
                AgentAction::Click {
                    target,
                    at: to_point(x, y),
                },
                Some(Message::AgentClick { target, x, y }),
            ),
            Message::Highlight {
                id,
                target,
                rect,
                color,
                ..
            } => action(
                inner,
                AgentAction::Highlight { target },
                Some(Message::Highlight {
                    from: pid,
                    id,
                    target,
                    rect,
                    color,
                }),
            ),
            Message::HighlightClear {
                which: HighlightScope::All,
                ..
            } => action(inner, AgentAction::ClearHighlights, None),
            Message::HighlightClear {
                which: HighlightScope::One(wid),
                ..
            } => {
                // The machine clears an agent's highlights all at once; one highlight is
                // cleared here after the same check (the machine forgets it when it fades).
                match inner.machine.check_agent_action(
                    agent,
                    &AgentAction::ClearHighlights,
                    &TargetFacts::MISSING,
                ) {
                    Ok(_) => {
                        let key = inner
                            .wire
                            .highlights
                            .iter()
                            .find(|(_, (p, w))| *p == pid && *w == wid)
                            .map(|(k, _)| *k);
                        if let Some(k) = key {
                            inner.wire.highlights.remove(&k);
                            inner.links.send_msg(
                                &Recipient::Everyone,
                                &Message::HighlightClear {
                                    from: pid,
                                    which: HighlightScope::One(wid),
                                },
                            );
                        }
                    }
                    Err(d) => self.send(&error_msg(
                        ErrorCode::PermissionDenied(d.reason.into()),
                        &d.reason.to_string(),
                    )),
                }
            }
            Message::Scroll { target, x, y } => action(
                inner,
                AgentAction::Scroll {
                    target,
                    to: to_point(x, y),
                },
                Some(Message::Scroll { target, x, y }),
            ),
            Message::Navigate { to } => action(inner, AgentAction::Navigate(machine_nav(to)), None),
            Message::AgentInput { target, value } => action(
                inner,
                AgentAction::Input {
                    target,
                    text: TypedText::new(value),
                },
                None,
            ),
            Message::AgentSubmit { target } => action(inner, AgentAction::Submit { target }, None),
            Message::Chat { text, .. } => {
                let _ = inner
                    .machine
                    .handle_chat(Participant::Agent(agent), &text, now);
            }
            Message::SharedLink { url, title, .. } => {
                inner.wire.echo = Some(Message::SharedLink {
                    from: pid,
                    url: url.clone(),
                    title,
                });
                let _ = inner.machine.handle_shared_link(agent, &url, now);
            }
            Message::End { .. } => {
                let _ = inner.machine.handle_agent_end(agent, now);
            }
            Message::KeyframeRequest { .. } => {
                send_keyframe(&state, inner, Recipient::Agent(agent));
            }
            // Gaps are detected by the agent's mirror, which asks for a keyframe; acks hold a
            // slow agent to the window (module docs).
            Message::Ack { seq } => agent_ack(&state, inner, agent, seq),
            Message::Ping { nonce, sent_at_ms } => self.send(&Message::Pong { nonce, sent_at_ms }),
            Message::Pong { .. } | Message::Error { .. } => {}
            Message::Join { .. } | Message::Hello { .. } => {
                self.error(ErrorCode::BadMessage, "already joined");
            }
            _ => self.error(ErrorCode::BadMessage, "unexpected message"),
        }
        deliver(&state, entry, inner);
        state.after_event(entry, inner);
        Flow::Continue
    }

    /// The connection is gone: the machine hears of a disconnect (if this connection was
    /// still the participant's current one).
    async fn cleanup(&mut self) {
        let state = self.state.clone();
        match std::mem::replace(&mut self.bound, Bound::None) {
            Bound::Customer(entry) => {
                let mut guard = entry.inner.lock().await;
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
                let mut guard = entry.inner.lock().await;
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

#[cfg(test)]
mod link_tests {
    use super::*;

    fn drain(rx: &mut UnboundedReceiver<Outbound>) -> (usize, Vec<u16>) {
        let mut wires = 0;
        let mut closes = Vec::new();
        while let Ok(out) = rx.try_recv() {
            match out {
                Outbound::Wire(_) => wires += 1,
                Outbound::Close(code, _) => closes.push(code),
            }
        }
        (wires, closes)
    }

    #[test]
    fn a_connection_too_far_behind_gets_one_close_and_nothing_more() {
        let (link, mut rx, _backlog) = Link::new();
        for _ in 0..MAX_QUEUED {
            assert!(link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        }
        for _ in 0..10 {
            assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        }
        assert_eq!(drain(&mut rx), (MAX_QUEUED, vec![CLOSE_TOO_SLOW]));
        // Even once drained, a closed link takes nothing more.
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
    }

    #[test]
    fn a_connection_too_many_bytes_behind_is_closed_too() {
        let (link, mut rx, _backlog) = Link::new();
        let big = Bytes::from(vec![0u8; MAX_QUEUED_BYTES / 4]);
        for _ in 0..4 {
            assert!(link.send(Outbound::Wire(big.clone())));
        }
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        assert_eq!(drain(&mut rx), (4, vec![CLOSE_TOO_SLOW]));
    }

    #[test]
    fn one_message_larger_than_the_byte_bound_still_goes_through_an_empty_queue() {
        let (link, mut rx, backlog) = Link::new();
        let huge = Bytes::from(vec![0u8; MAX_QUEUED_BYTES + 1]);
        assert!(link.send(Outbound::Wire(huge.clone())));
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        assert_eq!(drain(&mut rx), (1, vec![CLOSE_TOO_SLOW]));
        backlog.written(huge.len());
    }

    #[test]
    fn a_draining_writer_keeps_the_connection_below_the_bound() {
        let (link, mut rx, backlog) = Link::new();
        let big = Bytes::from(vec![0u8; MAX_QUEUED_BYTES / 4]);
        for i in 0..(3 * MAX_QUEUED) {
            let b = if i % 100 == 0 {
                big.clone()
            } else {
                Bytes::from_static(b"x")
            };
            assert!(link.send(Outbound::Wire(b)));
            // What the writer does per message it sends.
            if let Ok(Outbound::Wire(b)) = rx.try_recv() {
                backlog.written(b.len());
            }
        }
        assert_eq!(backlog.messages.load(Ordering::Acquire), 0);
        assert_eq!(backlog.bytes.load(Ordering::Acquire), 0);
    }
}
