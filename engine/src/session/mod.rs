//! Session rules: a pure, deterministic, sans-IO state machine in the quinn-proto style.
//!
//! One [`Session`] holds everything the product promises about one co-browsing session: its
//! lifecycle (waiting, active, paused, ended), who takes part, which agent holds control, the
//! highlights on the page, and the permission check of every agent action. It owns no socket,
//! reads no clock and draws no random number:
//!
//! - events go in through `handle_*(…, now)` methods, `now` being a [`Timestamp`] chosen by the
//!   caller (virtual time in tests, the wall clock in production);
//! - what must be said comes out through [`Session::poll_transmit`] (an [`Outgoing`] message for
//!   the customer, one agent, all agents or everyone), [`Session::poll_event`] (an
//!   [`AuditEvent`] for the vendor backend) and [`Session::poll_timeout`] (when to call
//!   [`Session::handle_timeout`] next).
//!
//! The same input sequence (events and their timestamps) always yields the same outputs.
//!
//! # Where it runs
//! The spec says "every agent action is checked by the customer side before it is replayed; a
//! relay check alone is not enough". The machine is therefore meant to run on both sides:
//!
//! - the **relay** runs the authoritative instance: it authenticates joins, sequences events,
//!   runs the lifecycle timers (inactivity, agent grace period) and checks agent actions with
//!   [`TargetFacts`] taken from its own mirror (the wire flags [`crate::View::DISABLED`] and
//!   [`crate::View::MASKED`] travel in frames, see [`TargetFacts::from_view`]);
//! - the **customer side** runs a replica fed with the relay's sequenced inputs (same events,
//!   same timestamps, so the same state: the machine is deterministic) and checks every agent
//!   action again with [`Session::check_agent_action`] against the facts of the real DOM right
//!   before replaying it. The relay's facts can be stale (the page changed since the last frame
//!   it saw); the customer side's cannot. A customer-side denial goes back to the relay through
//!   [`Session::handle_customer_side_denial`], which tells the agent and audits it.
//!
//! # Where each rule of the spec lives
//!
//! "Machine" is this module, "relay" is `bindings/relay`, "rules" is the engine's capture
//! rules ([`crate::Rules`]); "browser" means the customer widget and agent console of the
//! browser issue that follows, which must build what is named there.
//!
//! | spec rule | enforced by |
//! |---|---|
//! | nine-digit random, unpredictable id, unique among live sessions | relay: `SessionId::allocate` from the OS CSPRNG; the customer is shown `display_id` (browser) |
//! | waiting state until the first agent; the id is a one-time rendezvous code | machine: [`SessionState::Waiting`], [`SessionPolicy::join_window`]; relay: `admission` |
//! | only authenticated, co-browse-enabled agents join | relay: signed tokens (`auth`); machine: [`AgentJoin`] verification |
//! | `{start:123456789}` in the vendor's chat joins automatically | browser (agent console parses it and sends `Join`) |
//! | joining makes the session active; the customer is told; the agent sees the page at once | machine: `handle_agent_join`; relay: `PeerJoined` and a relay-made keyframe |
//! | agent invites only under a policy flag, and nothing shared before "Share my browser window" | machine: [`Session::invite`], `handle_customer_accept_invite`; protocol `Invite`, `InviteCreated`, `Invitation`, `InviteAccept`/`InviteDecline`; relay: drops frames while invited; the customer's prompt: browser |
//! | more agents by a share link; everyone sees the count; one agent in control | relay: invites (`admission`); machine: participants, [`Session::controller`] |
//! | one session at a time per agent | machine: [`AgentDirectory`] (policy); relay: one directory for all sessions |
//! | pause: nothing leaves the page; resume with the same id | machine: `handle_customer_stop_sharing`; relay: drops frames while paused; the capture stops in the browser |
//! | survives page loads; outside the allowed domains it pauses | relay: customer reconnect (secret or resume token); machine: `handle_customer_navigate` |
//! | agents never see other tabs, sites or the desktop | by construction: only the customer page's own DOM is captured (browser) |
//! | either side ends; backend ends; inactivity; no agent back within the grace period | machine: `handle_*_end`, timers; relay: `DELETE /api/sessions/{id}`, timer sweep |
//! | an ended session is never rejoined | machine: ended stays ended; relay: `SessionEnded` |
//! | control ceiling full / partial / none; pointer mode first; request, approve, decline, return | machine: [`check_action`], control requests |
//! | partial control: forms disabled with "Forms cannot be edited on the agent side" | machine: [`FORMS_NOT_EDITABLE_MESSAGE`]; shown by the agent console (browser) |
//! | back, forward, reload, URL bar in control | machine: [`Navigation`] actions; the controls: browser |
//! | highlights always; fade, cleared by the agent or on customer navigation | machine: highlight timers and clears |
//! | submit buttons (and chosen elements) disabled for agents; clicks on them do nothing; the customer can always submit | rules: `disable`; machine: [`DenyReason::ElementDisabled`]; the customer is never checked |
//! | every agent action checked by the customer side before replay | machine: [`check_action`] with [`TargetFacts::in_tree`] of the live page, in the customer's browser (WASM `checkAgentAction`) before replay; a refusal goes back as protocol `ActionDenied` (relay: `handle_customer_side_denial`, audited, forwarded to the agent) |
//! | masking before serialization; passwords always; asterisks; the customer sees which fields are hidden | rules: projection in `prepare`; the list shown to the customer: browser |
//! | blocking with a same-size placeholder | rules: `block` |
//! | masked values never in a frame, a log, the relay's memory or an error | rules (masked before any frame); relay logs ids and kinds only; tests `privacy.rs` |
//! | sanitizing; the mirror is sandboxed | rules: sanitize, mirrors refuse unsanitized frames; the sandboxed iframe: browser |
//! | agent view: viewport, mode, connection status, customer's browser and system, participants | protocol: `Viewport`, `ModeChanged`, `Connection`, `Joined.customer`, participant counts; the view: browser |
//! | chat and shared links | machine: `handle_chat`, `handle_shared_link`; protocol `Chat`, `SharedLink`; the UI: browser |
//!
//! # Invariants (checked with `debug_assert!` after every call)
//! - an ended session stays ended: every later event is refused with
//!   [`SessionError::SessionEnded`] / [`DenyReason::SessionEnded`] and emits nothing;
//! - at most one agent holds control, and it is a present, connected agent of a started
//!   session whose ceiling is not [`ControlCeiling::None`]; the same holds for the (at most
//!   one) pending control request;
//! - a waiting session has no agent; a session never has more agents than
//!   [`SessionPolicy::max_agents`], and agent ids are unique;
//! - frames are forwarded only while the session is [`SessionState::Active`]
//!   ([`Session::forwards_frames`]);
//! - no queued message names an agent that is not in the session (messages for an agent are
//!   dropped when it leaves or disconnects);
//! - time never goes backwards inside the machine: a `now` earlier than one already seen is
//!   taken as the latest one seen, and every deadline due at `now` fires before the event at
//!   `now` is handled, whether or not the caller called [`Session::handle_timeout`] in time;
//! - typed text ([`TypedText`]) never appears in a `Debug` output, an audit event or an error;
//!   the machine never receives masked values at all.

mod directory;
mod messages;
mod permissions;
mod policy;
mod state;
mod url;
mod values;

#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;

pub use directory::{AgentDirectory, DirectoryError};
pub use messages::{
    AgentMode, AuditEvent, AuditKind, ControlLossReason, EndReason, HighlightClearReason,
    LeaveReason, Outgoing, PauseReason, PauseReasons, Recipient, SessionError, SessionMessage,
    SessionState, Welcome,
};
pub use permissions::{
    ActionContext, ActionKind, AgentAction, AllowedAction, Denied, DenyReason,
    FORMS_NOT_EDITABLE_MESSAGE, Navigation, TargetFacts, TypedText, check_action,
    is_form_control_element,
};
pub use policy::{ControlCeiling, DomainPattern, PolicyError, SessionPolicy};
pub use state::{AgentConnection, AgentInfo, AgentJoin, Session};
pub use url::{MAX_URL_BYTES, UrlError, web_url_host};
pub use values::{
    AgentId, Highlight, HighlightId, Participant, Point, SessionId, SessionIdError, Timestamp,
};
