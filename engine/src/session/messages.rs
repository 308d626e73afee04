//! What a [`super::Session`] says: messages for the participants ([`Outgoing`]), audit
//! events for the vendor backend ([`AuditEvent`]), and why it refuses an event
//! ([`SessionError`]).
//!
//! Plain data, free of any encoding: the wire protocol maps these to bytes. Nothing here ever
//! holds a masked value or an agent's typed text in readable form ([`super::TypedText`] is
//! redacted in `Debug`, and audit events carry action kinds and target ids only).

use std::fmt;

use crate::dom::tree::WireId;

use super::permissions::{ActionKind, AgentAction, Denied};
use super::policy::ControlCeiling;
use super::url::UrlError;
use super::values::{AgentId, Highlight, HighlightId, Participant, Point, SessionId, Timestamp};

/// The session's state as the participants see it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Created by an agent's invitation; nothing is shared until the customer accepts.
    Invited,
    /// Created by the customer; no agent has joined yet.
    Waiting,
    /// Shared live.
    Active,
    /// Nothing leaves the page ([`PauseReasons`] says why).
    Paused,
    /// Over for good.
    Ended,
}

/// Why a session pauses.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PauseReason {
    /// The customer clicked *Stop sharing*.
    CustomerStoppedSharing,
    /// The customer's page is outside the allowed domains.
    OutsideAllowedDomains,
}

/// Every reason currently holding a session paused (both may hold at once).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PauseReasons {
    /// The customer stopped sharing.
    pub stopped_sharing: bool,
    /// The customer's page is outside the allowed domains.
    pub outside_allowed_domains: bool,
}

impl PauseReasons {
    /// Whether any reason holds.
    pub fn any(self) -> bool {
        self.stopped_sharing || self.outside_allowed_domains
    }
    /// The reason reported when a pause starts (the customer's own choice first).
    pub fn first(self) -> Option<PauseReason> {
        if self.stopped_sharing {
            Some(PauseReason::CustomerStoppedSharing)
        } else if self.outside_allowed_domains {
            Some(PauseReason::OutsideAllowedDomains)
        } else {
            None
        }
    }
}

/// Why a session ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// The customer ended it.
    CustomerEnded,
    /// An agent ended it.
    AgentEnded(AgentId),
    /// The vendor backend ended it (the chat or call ended).
    VendorBackend,
    /// Nothing happened for the policy's inactivity timeout.
    InactivityTimeout,
    /// The last agent left or disconnected and none came back within the grace period.
    NoAgentReturned,
    /// No agent joined within the policy's join window (the session ID, a one-time
    /// rendezvous code, expired unused).
    NoAgentJoined,
    /// The customer declined an agent's invitation.
    InviteDeclined,
    /// The inviting agent left before the customer answered.
    InviteWithdrawn,
}

/// Why an agent is no longer in the session.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LeaveReason {
    /// The agent left.
    Left,
    /// The agent disconnected and did not come back within the grace period.
    DidNotReturn,
}

/// Why an agent lost control without returning it or having it revoked.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ControlLossReason {
    /// The agent left.
    AgentLeft,
    /// The agent disconnected.
    AgentDisconnected,
}

/// Why a highlight disappeared.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HighlightClearReason {
    /// Its lifetime passed.
    Expired,
    /// The agent cleared it.
    ClearedByAgent,
    /// The customer left the page (navigated).
    PageLeft,
    /// Too many highlights: the oldest goes.
    Evicted,
}

/// What an agent may do right now.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AgentMode {
    /// Sees the page, points, highlights; a click shows a ripple.
    Pointer,
    /// Also navigates, clicks, scrolls and (under a Full ceiling) fills forms.
    Control,
}

/// Who receives a message. `AllAgents` and `Everyone` mean the agents present and connected
/// when the message is polled (the caller resolves them; [`super::Session::agents`] lists them).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// The customer.
    Customer,
    /// One agent.
    Agent(AgentId),
    /// Every agent.
    AllAgents,
    /// The customer and every agent.
    Everyone,
}

impl Recipient {
    /// Whether the customer receives it.
    pub fn includes_customer(self) -> bool {
        matches!(self, Recipient::Customer | Recipient::Everyone)
    }
    /// Whether `agent` receives it (if present and connected).
    pub fn includes_agent(self, agent: AgentId) -> bool {
        match self {
            Recipient::Customer => false,
            Recipient::Agent(a) => a == agent,
            Recipient::AllAgents | Recipient::Everyone => true,
        }
    }
}

/// What an agent learns when it joins or reconnects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    /// The session.
    pub session: SessionId,
    /// Its state.
    pub state: SessionState,
    /// The agent's mode (pointer after a join or reconnect).
    pub mode: AgentMode,
    /// The administrator's ceiling.
    pub ceiling: ControlCeiling,
    /// Customer plus agents.
    pub participants: u32,
    /// The agent in control, if any.
    pub controller: Option<AgentId>,
    /// The customer's page, when it is shared.
    pub page: Option<String>,
    /// The highlights on the page.
    pub highlights: Vec<Highlight>,
}

/// A message for the participants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionMessage {
    /// To the customer: the session exists and waits for an agent.
    Created {
        /// The ID to read to the agent.
        session: SessionId,
    },
    /// To the customer: an agent invites them to share ("Share my browser window").
    Invitation {
        /// The session that starts if they accept.
        session: SessionId,
        /// The inviting agent.
        from: AgentId,
    },
    /// To an agent who joined or reconnected: the session's state.
    Welcome(Welcome),
    /// To everyone: an agent joined.
    AgentJoined {
        /// Who.
        agent: AgentId,
        /// Customer plus agents, now.
        participants: u32,
    },
    /// To everyone: an agent left.
    AgentLeft {
        /// Who.
        agent: AgentId,
        /// Customer plus agents, now.
        participants: u32,
        /// Why.
        reason: LeaveReason,
    },
    /// To everyone: an agent's connection changed (it keeps its place for the grace period).
    AgentConnection {
        /// Who.
        agent: AgentId,
        /// Whether connected now.
        connected: bool,
    },
    /// To all agents: the customer's connection changed.
    CustomerConnection {
        /// Whether connected now.
        connected: bool,
    },
    /// To the customer: send a full frame (an agent needs the current page at once).
    KeyframeNeeded,
    /// To all agents: the customer's page changed (only while shared).
    PageChanged {
        /// The page's URL.
        url: String,
    },
    /// To the customer: an agent asks for control.
    ControlRequested {
        /// Who.
        agent: AgentId,
    },
    /// To the customer: the agent withdrew its request (returned to pointer, left, disconnected).
    ControlRequestWithdrawn {
        /// Who.
        agent: AgentId,
    },
    /// To the agent: the customer approved its request.
    ControlApproved {
        /// Who.
        agent: AgentId,
    },
    /// To the agent: the customer declined its request.
    ControlDeclined {
        /// Who.
        agent: AgentId,
    },
    /// To the agent: the customer took control back.
    ControlRevoked {
        /// Who.
        agent: AgentId,
    },
    /// To the customer: the agent returned to pointer mode.
    ControlReturned {
        /// Who.
        agent: AgentId,
    },
    /// To everyone: an agent's mode changed.
    ModeChanged {
        /// Who.
        agent: AgentId,
        /// The new mode.
        mode: AgentMode,
    },
    /// To everyone: sharing paused.
    Paused {
        /// Why it started.
        reason: PauseReason,
    },
    /// To everyone: sharing resumed.
    Resumed,
    /// To everyone: the session ended.
    Ended {
        /// Why.
        reason: EndReason,
    },
    /// To an agent: its request was refused.
    Refused(SessionError),
    /// To an agent: its action was refused.
    Denied(Denied),
    /// To the customer: an agent's pointer.
    AgentPointer {
        /// Whose.
        agent: AgentId,
        /// Where.
        at: Point,
    },
    /// To all agents: the customer's pointer.
    CustomerPointer {
        /// Where.
        at: Point,
    },
    /// To the customer: an agent clicked in pointer mode (a red circle).
    ClickRipple {
        /// Who.
        agent: AgentId,
        /// Where.
        at: Point,
    },
    /// To the customer: replay this allowed action of the agent in control.
    Replay {
        /// Who.
        agent: AgentId,
        /// What (typed text is redacted in `Debug`).
        action: AgentAction,
    },
    /// To everyone: a highlight appeared.
    HighlightAdded(Highlight),
    /// To everyone: a highlight disappeared.
    HighlightCleared {
        /// Which.
        id: HighlightId,
        /// Why.
        reason: HighlightClearReason,
    },
    /// To everyone: a chat message.
    Chat {
        /// Who wrote it.
        from: Participant,
        /// What.
        text: String,
    },
    /// To everyone: an agent shares a link the customer may open.
    SharedLink {
        /// Who.
        agent: AgentId,
        /// The `http(s)` URL.
        url: String,
    },
}

/// One message and who receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The receivers.
    pub to: Recipient,
    /// The message.
    pub msg: SessionMessage,
}

/// One audit record for the vendor backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened (a timer's deadline for timer-driven events).
    pub at: Timestamp,
    /// In which session.
    pub session: SessionId,
    /// What happened.
    pub kind: AuditKind,
}

/// What an audit record says. Actions appear by kind and target only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditKind {
    /// The session was created (by the customer, or by an agent's invitation).
    Created {
        /// Who created it.
        by: Participant,
    },
    /// The customer accepted the invitation.
    InviteAccepted,
    /// The customer declined the invitation.
    InviteDeclined,
    /// An agent joined.
    AgentJoined {
        /// Who.
        agent: AgentId,
        /// Customer plus agents, now.
        participants: u32,
    },
    /// An agent's join was refused.
    JoinRefused {
        /// Who.
        agent: AgentId,
        /// Why.
        error: SessionError,
    },
    /// An agent left.
    AgentLeft {
        /// Who.
        agent: AgentId,
        /// Customer plus agents, now.
        participants: u32,
        /// Why.
        reason: LeaveReason,
    },
    /// An agent disconnected.
    AgentDisconnected {
        /// Who.
        agent: AgentId,
    },
    /// An agent reconnected within its grace period.
    AgentReconnected {
        /// Who.
        agent: AgentId,
    },
    /// An agent asked for control.
    ControlRequested {
        /// Who.
        agent: AgentId,
    },
    /// The customer granted control.
    ControlGranted {
        /// To whom.
        agent: AgentId,
    },
    /// The customer declined a control request.
    ControlDeclined {
        /// Whose.
        agent: AgentId,
    },
    /// The agent returned to pointer mode.
    ControlReturned {
        /// Who.
        agent: AgentId,
    },
    /// The customer revoked control.
    ControlRevoked {
        /// From whom.
        agent: AgentId,
    },
    /// The agent lost control by leaving or disconnecting.
    ControlLost {
        /// Who.
        agent: AgentId,
        /// Why.
        reason: ControlLossReason,
    },
    /// An agent's mode changed.
    ModeChanged {
        /// Whose.
        agent: AgentId,
        /// The new mode.
        mode: AgentMode,
    },
    /// Sharing paused.
    Paused {
        /// Why it started.
        reason: PauseReason,
    },
    /// Sharing resumed.
    Resumed,
    /// An agent's action was allowed and sent for replay on the customer's page (kind and
    /// target only). The customer side checks it again; its refusal is audited as
    /// [`AuditKind::ActionDenied`].
    ActionAllowed {
        /// Who.
        agent: AgentId,
        /// What kind.
        kind: ActionKind,
        /// On which element.
        target: Option<WireId>,
    },
    /// An agent's action was refused.
    ActionDenied(Denied),
    /// An agent shared a link.
    LinkShared {
        /// Who.
        agent: AgentId,
    },
    /// The session ended.
    Ended {
        /// Why.
        reason: EndReason,
    },
}

/// Why a session refused an event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionError {
    /// The session ended; nothing re-opens it (a new session needs a new ID).
    SessionEnded(EndReason),
    /// The agent is not in this session.
    NotAParticipant(AgentId),
    /// The agent is disconnected (it reconnects first).
    AgentDisconnected(AgentId),
    /// The agent is already in the session and connected.
    AlreadyJoined(AgentId),
    /// The agent's credentials were not verified.
    NotAuthenticated(AgentId),
    /// The administrator does not let this agent co-browse.
    CobrowseNotEnabled(AgentId),
    /// The session has [`SessionPolicy::max_agents`](super::SessionPolicy::max_agents) agents already.
    SessionFull {
        /// The policy's maximum.
        max_agents: usize,
    },
    /// The policy does not let agents invite customers.
    InvitesNotAllowed,
    /// The customer has not accepted the invitation yet.
    InvitationPending,
    /// There is no invitation to answer.
    NotInvited,
    /// The ceiling is [`super::ControlCeiling::None`]: agents never get control.
    ControlNotPermitted,
    /// The agent already holds control.
    AlreadyInControl,
    /// Another agent holds control.
    ControlHeldByOther {
        /// The agent in control.
        holder: AgentId,
    },
    /// A control request is already pending.
    ControlRequestPending {
        /// Whose request.
        by: AgentId,
    },
    /// That agent has no pending control request.
    NoControlRequest,
    /// The agent neither holds nor requested control.
    NotInControl,
    /// No agent holds control.
    NoAgentInControl,
    /// Nothing from the customer's page is forwarded in this state.
    NotForwarding {
        /// The session's state.
        state: SessionState,
    },
    /// An empty chat message.
    ChatEmpty,
    /// A chat message over [`SessionPolicy::max_chat_chars`](super::SessionPolicy::max_chat_chars).
    ChatTooLong {
        /// The policy's maximum.
        max_chars: usize,
    },
    /// A shared link that is not a plain `http(s)` URL.
    InvalidUrl(UrlError),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::SessionEnded(reason) => write!(f, "the session has ended ({reason:?})"),
            SessionError::NotAParticipant(a) => write!(f, "{a} is not in this session"),
            SessionError::AgentDisconnected(a) => write!(f, "{a} is disconnected"),
            SessionError::AlreadyJoined(a) => write!(f, "{a} has already joined"),
            SessionError::NotAuthenticated(a) => write!(f, "{a} is not authenticated"),
            SessionError::CobrowseNotEnabled(a) => write!(f, "{a} may not co-browse"),
            SessionError::SessionFull { max_agents } => {
                write!(f, "the session already has {max_agents} agents")
            }
            SessionError::InvitesNotAllowed => f.write_str("agents may not invite customers"),
            SessionError::InvitationPending => {
                f.write_str("the customer has not accepted the invitation")
            }
            SessionError::NotInvited => f.write_str("there is no invitation to answer"),
            SessionError::ControlNotPermitted => f.write_str("this session is view only"),
            SessionError::AlreadyInControl => f.write_str("the agent already holds control"),
            SessionError::ControlHeldByOther { holder } => {
                write!(f, "{holder} holds control")
            }
            SessionError::ControlRequestPending { by } => {
                write!(f, "a control request by {by} is pending")
            }
            SessionError::NoControlRequest => f.write_str("no such control request"),
            SessionError::NotInControl => f.write_str("the agent does not hold control"),
            SessionError::NoAgentInControl => f.write_str("no agent holds control"),
            SessionError::NotForwarding { state } => {
                write!(f, "nothing is shared while the session is {state:?}")
            }
            SessionError::ChatEmpty => f.write_str("the message is empty"),
            SessionError::ChatTooLong { max_chars } => {
                write!(f, "the message is longer than {max_chars} characters")
            }
            SessionError::InvalidUrl(e) => write!(f, "invalid link: {e}"),
        }
    }
}

impl std::error::Error for SessionError {}
