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
//! - **Agent invitation** (only when the policy's `agent_invites` is on): `GET /ws`,
//!   `Hello { role: Agent }`, then `Invite { token }` instead of `Join`. The relay creates a
//!   session in the invited state (within the creation limits of the agent's address) and
//!   answers `Joined` and `InviteCreated { session_id, customer_secret }`; the vendor's chat
//!   carries these to the customer, whose widget connects like any customer
//!   (`?session=&secret=`) and gets `Joined` then `Invitation { agent }`. Nothing is shared
//!   until it answers: frames are dropped unread (the mirror stays empty), the scroll and
//!   page address are neither kept nor forwarded, and nobody else joins by the id.
//!   `InviteAccept` starts the session (the agent gets `Joined` again, everyone `PeerJoined`,
//!   the customer `KeyframeRequest`); `InviteDecline` ends it (`End { InviteDeclined }`).
//!   With the policy off, `Invite` gets `Error { PermissionDenied(NotStarted) }` and the
//!   connection stays open for a `Join`.
//!
//! The first message must arrive within `limits.handshake_timeout_ms`; a WebSocket silent for
//! `limits.idle_timeout_ms` is closed (1001) at that deadline. Only a connection silent for a
//! third of that is pinged (so that a live client answers well before it), each connection at
//! its own phase so that connections opened together do not ping together; one that sends
//! anything (frames, acks) is never pinged for the keepalive. A customer's connection is also
//! pinged every `limits.customer_rtt_probe_ms` (first 2 s after it connects) to measure its
//! round trip for the agents (`Latency`). See `keepalive`. The request-header deadline and the
//! connection caps are [`crate::net`]'s.
//!
//! # Frames
//!
//! The customer streams `Frame` messages (keyframes and deltas made by the engine, sanitized:
//! the relay's mirror refuses unsanitized frames). Each is applied to the session's
//! [`Mirror`] and, while the session forwards frames
//! ([`cobrowse_engine::session::Session::forwards_frames`]), the **received message bytes**
//! are forwarded to every connected agent: one refcounted buffer, no copy, no re-encoding.
//! A keyframe is forwarded once it applied; a delta as soon as its header shows that it
//! follows the mirror's page (sanitized, based on the mirror's last frame), **before** the
//! mirror applies it, so that the apply is not on the agents' latency. Frames reach the
//! agents in the order the customer sent them either way (one session lock covers both).
//! While the session waits for its first agent, frames still update the mirror (so the first
//! agent gets a keyframe at once). While it is paused, frames are dropped unread (nothing
//! leaves the page). **On resume** agents get the customer's next keyframe, not the mirror's
//! (the page changed while nothing left it): deltas are not forwarded until it arrives, and
//! the relay asks for it (`KeyframeRequest`) when a delta comes first or none came within
//! [`RESUME_KEYFRAME_WAIT`]. A frame off the mirror's chain (bad frame bytes, a sequence gap,
//! unsanitized, or any frame while the mirror waits for a keyframe) is not forwarded and the
//! customer is sent `KeyframeRequest { have_seq }` (once until a frame applies again). A delta
//! on the chain that then fails to apply (a fingerprint mismatch, a mutation naming no node)
//! has already reached the agents, whose mirrors fail on it the same way; the customer is sent
//! the same `KeyframeRequest`, and its keyframe restores everyone.
//! An agent's `KeyframeRequest` (a gap or mismatch on its side) is answered with a relay-made
//! keyframe.
//!
//! # The customer's view
//!
//! The customer's document `Scroll` (no target) and `Viewport` are forwarded to agents while
//! the session is active, and remembered while it waits or is active (not while paused or
//! invited; the scroll is forgotten when the customer's page changes). Every relay-made
//! keyframe an agent gets (join, reconnect, its `KeyframeRequest`, catching up) is followed by
//! the remembered `Viewport` and `Scroll`, so a joining agent sees the page where the customer
//! does. (Frames carry element scroll offsets and the viewport too; these messages are what a
//! client that follows `Scroll`/`Viewport` live needs.)
//!
//! # Customer-side denials
//!
//! The customer side checks every agent action again against its live page before replaying
//! it. A refusal there comes back as `ActionDenied { agent, action, target, reason }`: the
//! relay checks that `agent` is in the session (`Error { BadMessage }` otherwise), audits it
//! (`action_denied`) and forwards the message, as the customer sent it, to that agent. The
//! relay's own refusals reach the agent as `Error { PermissionDenied(reason) }`.
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
//! # One task per connection
//!
//! Each connection is one tokio task: its reader and its writer ([`writer`]) are branches of
//! one `select!`, so a connection costs one task and one future, not two. What other
//! connections send it (frames, peers' messages) goes through its [`Link`] queue and is
//! written in queue order, except that a forwarded delta is written to the socket by the
//! customer's task itself when the agent's writer is idle and its queue empty ([`writer`],
//! "Written at once": no wake-up of the agent's task per delta, and the delta is on the
//! agent's socket before the mirror applies it); a client that stops reading stalls only its own writes (its
//! deadlines and pings go on). The future kept for the connection's whole life holds room for
//! the frame path only: the rare paths (`Hello`, `Join`, `Invite`, a resume, every message but
//! a customer's `Frame`) are boxed for the time they run.
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

mod agent;
pub mod codes;
mod conn;
mod customer;
mod deliver;
mod keepalive;
mod keyframes;
mod refusals;
pub(crate) mod writer;

pub use crate::link::{
    CLOSE_TOO_SLOW, CloseReason, Control, Link, Links, MAX_QUEUED, MAX_QUEUED_BYTES, Outbound,
    READ_BUFFER_BYTES,
};
pub use crate::wire_state::{ACK_WINDOW, WireState};
pub use codes::CUSTOMER;
pub use conn::upgrade;
pub use deliver::{RESUME_KEYFRAME_WAIT, deliver, sweep_timers};
