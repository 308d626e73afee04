//! The message table: every message of the protocol, once. Each entry gives the kind's wire
//! code, who may originate it ([`Party`]), the field that names its claimed sender, and its
//! fields in wire order with their codecs ([`super::codec`]); [`table`](super::table) explains
//! the syntax and generates [`Message`], [`MessageKind`], the wire bodies, encoding,
//! validation and decoding from it.
//!
//! Adding a message: add an entry with a new code (codes are grouped by tens per section and
//! never reused), give the tests' samples and the golden test one of it, and bump nothing:
//! a new kind is unknown to older readers, which reject it as
//! [`ProtocolError::UnknownKind`]. Changing an entry's fields changes its bytes: that needs a
//! new [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION) (the golden test fails first).

use rkyv::{Archive, Archived, Serialize};

use crate::dom::tree::WireId;
use crate::session::{ControlCeiling, PauseReason, SessionId};

use super::codec::{
    AtLeastOne, ChatText, Codec, Coord, ErrorText, FrameBytes, InputValue, Title, Url, ViewportPx,
    control_permitted,
};
use super::error::ProtocolError;
use super::fields::{
    ActionKind, AuthToken, ClientInfo, Color, CustomerSecret, DenyReason, EndReason, ErrorCode,
    HighlightScope, Mode, Navigation, ParticipantId, Party, Reconnect, Rect, ResumeToken, Role,
};
use super::kind_set::KindSet;
use super::layout::{access_archive, archive};

define_messages! {
    // --- Session.

    /// First message of a connection (customer or agent). With `resume`, the sender comes
    /// back into its session with the token of an earlier [`Message::Joined`] (the relay
    /// answers `Joined` again). Without it, a customer proves its session by other means (the
    /// relay's: a secret in the connection URL) and an agent then sends [`Message::Join`].
    Hello = 1, from Customer | Agent => WHello {
        /// The sender's role.
        role: Role,
        /// The sender's software.
        client: ClientInfo,
        /// Resume a session after a dropped connection.
        resume: Option<Reconnect>,
    };
    /// An agent asks to join a session.
    Join = 2, from Agent => WJoin {
        /// The session.
        session_id: SessionId,
        /// The agent's credential.
        token: AuthToken,
    };
    /// The relay tells a participant it is in a session, and its state.
    Joined = 3, from Relay => WJoined {
        /// The session.
        session_id: SessionId,
        /// The receiver's id in it.
        participant_id: ParticipantId,
        /// How many participants the session has, the receiver included.
        participants: u16 as AtLeastOne,
        /// The receiver's role.
        role: Role,
        /// The current mode.
        mode: Mode,
        /// The administrator's ceiling.
        ceiling: ControlCeiling,
        /// Whether sharing is paused.
        paused: bool,
        /// The receiver's token to resume after a dropped connection.
        resume_token: ResumeToken,
        /// For an agent, the customer's software.
        customer: Option<ClientInfo>,
    }, check joined_mode;
    /// Another participant joined (or came back).
    PeerJoined = 4, from Relay => WPeerJoined {
        /// Who.
        participant_id: ParticipantId,
        /// Its role.
        role: Role,
        /// How many participants the session has now.
        participants: u16 as AtLeastOne,
    };
    /// A participant left (or lost its connection).
    Left = 5, from Relay => WLeft {
        /// Who.
        participant_id: ParticipantId,
        /// How many participants the session has now.
        participants: u16,
    };
    /// Sharing stopped: nothing leaves the customer's page until [`Message::Resume`].
    Pause = 6, from Customer => WPause {
        /// Why.
        reason: PauseReason,
    };
    /// Sharing resumed (a keyframe follows).
    Resume = 7, from Customer => WResume;
    /// The session ended; it can never be rejoined.
    End = 8, from Customer | Agent | Relay => WEnd {
        /// Why.
        reason: EndReason,
    };
    /// Something failed.
    Error = 9, from Customer | Agent | Relay => WError {
        /// What.
        code: ErrorCode,
        /// A short developer-facing text, printable ASCII, at most
        /// [`MAX_ERROR_MESSAGE_BYTES`](super::MAX_ERROR_MESSAGE_BYTES). Never user data.
        message: String as ErrorText,
    };
    /// A participant's connection dropped or came back (it keeps its place for the grace
    /// period): the "connection status" each side shows.
    Connection = 10, from Relay => WConnection {
        /// Who.
        participant_id: ParticipantId,
        /// Whether it is connected now.
        connected: bool,
    };

    /// An agent starts a session by inviting a customer (after [`Message::Hello`], instead of
    /// [`Message::Join`]); refused unless the administrator's policy allows agent
    /// invitations. The relay answers [`Message::Joined`] and [`Message::InviteCreated`];
    /// nothing is shared until the customer accepts ([`Message::InviteAccept`]).
    Invite = 11, from Agent => WInvite {
        /// The agent's credential.
        token: AuthToken,
    };
    /// The relay tells the inviting agent how the customer reaches the invitation: the
    /// customer's widget connects with this session and secret (the vendor's chat carries
    /// them) and is shown [`Message::Invitation`].
    InviteCreated = 12, from Relay => WInviteCreated {
        /// The session.
        session_id: SessionId,
        /// The secret the customer connects with (never logged).
        customer_secret: CustomerSecret,
    };
    /// The relay tells the customer that an agent invites it to share its page ("Share my
    /// browser window"): nothing leaves the page until [`Message::InviteAccept`].
    Invitation = 13, from Relay => WInvitation {
        /// The inviting agent.
        agent: ParticipantId,
    };
    /// The customer accepts the invitation: sharing starts (a keyframe follows).
    InviteAccept = 14, from Customer => WInviteAccept;
    /// The customer declines the invitation: the session ends.
    InviteDecline = 15, from Customer => WInviteDecline;

    // --- Control.

    /// An agent asks the customer for control.
    ControlRequest = 16, from Agent, sender agent => WControlRequest {
        /// The requesting agent.
        agent: ParticipantId,
    };
    /// The customer gives control to this agent.
    ControlApprove = 17, from Customer => WControlApprove {
        /// The agent.
        agent: ParticipantId,
    };
    /// The customer declines this agent's request.
    ControlDecline = 18, from Customer => WControlDecline {
        /// The agent.
        agent: ParticipantId,
    };
    /// The customer takes control back.
    ControlRevoke = 19, from Customer => WControlRevoke;
    /// Back to pointer mode (either side).
    ControlReturn = 20, from Customer | Agent => WControlReturn;
    /// The mode or ceiling changed.
    ModeChanged = 21, from Customer | Relay => WModeChanged {
        /// The new mode.
        mode: Mode,
        /// The ceiling.
        ceiling: ControlCeiling,
    }, check mode_changed_mode;

    // --- Presence.

    /// A participant's pointer moved.
    Pointer = 32, from Customer | Agent, sender from => WPointer {
        /// Whose pointer.
        from: ParticipantId,
        /// Horizontal position.
        x: f32 as Coord,
        /// Vertical position.
        y: f32 as Coord,
        /// The element the position is relative to.
        target: Option<WireId>,
    };
    /// An agent clicked: a ripple on the customer's page.
    ClickRipple = 33, from Agent, sender from => WClickRipple {
        /// Who clicked.
        from: ParticipantId,
        /// Horizontal position.
        x: f32 as Coord,
        /// Vertical position.
        y: f32 as Coord,
        /// The element the position is relative to.
        target: Option<WireId>,
    };
    /// An agent marks an element.
    Highlight = 34, from Agent, sender from => WHighlight {
        /// Who.
        from: ParticipantId,
        /// The highlight's id, chosen by `from` (highlights are keyed by `(from, id)`).
        id: u32,
        /// The element.
        target: WireId,
        /// A part of the element (relative to its border box); the whole element if `None`.
        rect: Option<Rect>,
        /// The colour; the client's default if `None`.
        color: Option<Color>,
    };
    /// An agent removes highlights.
    HighlightClear = 35, from Agent, sender from => WHighlightClear {
        /// Whose highlights.
        from: ParticipantId,
        /// Which.
        which: HighlightScope,
    };
    /// A scroll position (the customer's, followed by agents; or a controlling agent's).
    Scroll = 36, from Customer | Agent => WScroll {
        /// The scrolled element; the document if `None`.
        target: Option<WireId>,
        /// Horizontal scroll offset.
        x: f32 as Coord,
        /// Vertical scroll offset.
        y: f32 as Coord,
    };
    /// The customer's viewport size in CSS pixels (at most
    /// [`MAX_VIEWPORT_PX`](super::MAX_VIEWPORT_PX)).
    Viewport = 37, from Customer => WViewport {
        /// Width.
        width: u32 as ViewportPx,
        /// Height.
        height: u32 as ViewportPx,
    };
    /// The customer's page changed: its URL, for the agents' navigation bar (an absolute
    /// `http:`/`https:` URL of printable ASCII, at most
    /// [`MAX_URL_BYTES`](super::MAX_URL_BYTES)).
    PageChanged = 38, from Customer | Relay => WPageChanged {
        /// The page's URL.
        url: String as Url,
    };

    // --- Agent actions (checked by the customer side before they are replayed).

    /// The controlling agent navigates.
    Navigate = 48, from Agent => WNavigate {
        /// Where.
        to: Navigation,
    };
    /// The controlling agent sets a form control's value (at most
    /// [`MAX_INPUT_BYTES`](super::MAX_INPUT_BYTES)).
    AgentInput = 49, from Agent => WAgentInput {
        /// The control.
        target: WireId,
        /// Its new value.
        value: String as InputValue,
    };
    /// The controlling agent clicks.
    AgentClick = 50, from Agent => WAgentClick {
        /// The element.
        target: WireId,
        /// Horizontal position in the element.
        x: f32 as Coord,
        /// Vertical position in the element.
        y: f32 as Coord,
    };
    /// The controlling agent submits a form (refused by default: submit is disabled for
    /// agents).
    AgentSubmit = 51, from Agent => WAgentSubmit {
        /// The form or submit button.
        target: WireId,
    };

    /// The customer side refused an agent action that the relay had let through (its check
    /// against the live page is the one that counts): the relay audits it and forwards it to
    /// `agent`. Carries no typed text.
    ActionDenied = 52, from Customer => WActionDenied {
        /// The agent whose action was refused.
        agent: ParticipantId,
        /// What kind of action.
        action: ActionKind,
        /// Its target element, if it had one.
        target: Option<WireId>,
        /// Why.
        reason: DenyReason,
    };

    // --- Side channel.

    /// A chat message (at most [`MAX_CHAT_BYTES`](super::MAX_CHAT_BYTES); tabs and line
    /// breaks but no other control characters).
    Chat = 64, from Customer | Agent, sender from => WChat {
        /// The author.
        from: ParticipantId,
        /// The text.
        text: String as ChatText,
    };
    /// An agent shares a link the customer may open.
    SharedLink = 65, from Agent, sender from => WSharedLink {
        /// The agent.
        from: ParticipantId,
        /// An absolute `http:`/`https:` URL of printable ASCII, at most
        /// [`MAX_URL_BYTES`](super::MAX_URL_BYTES).
        url: String as Url,
        /// Its title, at most [`MAX_TITLE_BYTES`](super::MAX_TITLE_BYTES) without control
        /// characters.
        title: String as Title,
    };

    // --- Liveness.

    /// Latency probe.
    Ping = 80, from Customer | Agent | Relay => WPing {
        /// Echoed in the pong.
        nonce: u64,
        /// The sender's clock, in milliseconds.
        sent_at_ms: u64,
    };
    /// Answer to a ping, echoing its fields.
    Pong = 81, from Customer | Agent | Relay => WPong {
        /// The ping's nonce.
        nonce: u64,
        /// The ping's `sent_at_ms`.
        sent_at_ms: u64,
    };
    /// The relay's measured round trip to a participant (the WebSocket pings it sends to keep
    /// connections alive): how the agents see the customer's connection quality. Sent to the
    /// agents when a measurement comes in and after every relay-made keyframe.
    Latency = 82, from Relay => WLatency {
        /// Whose connection.
        participant_id: ParticipantId,
        /// The last round trip, in milliseconds.
        rtt_ms: u32,
    };

    // --- Frames.

    /// An engine frame (keyframe or delta), opaque here: the receiver validates it with
    /// [`FrameView::access`](crate::FrameView::access). Non-empty, at most
    /// [`MAX_FRAME_BYTES`](crate::MAX_FRAME_BYTES).
    Frame = 96, from Customer => WFrame {
        /// The frame.
        #[cfg_attr(feature = "serde", serde(serialize_with = "super::object_form::bytes"))]
        bytes: Vec<u8> as FrameBytes,
    };
    /// An agent applied the frame `seq`.
    Ack = 97, from Agent => WAck {
        /// Its sequence number.
        seq: u64,
    };
    /// An agent needs a keyframe (sequence gap, fingerprint mismatch, fresh join).
    KeyframeRequest = 98, from Agent | Relay => WKeyframeRequest {
        /// The last frame it applied, if any.
        have_seq: Option<u64>,
    };
}

/// Control only under a ceiling that permits it.
fn joined_mode(w: &ArchivedWJoined) -> Result<(), ProtocolError> {
    control_permitted("Joined.ceiling", &w.mode, w.ceiling)
}

/// Control only under a ceiling that permits it.
fn mode_changed_mode(w: &ArchivedWModeChanged) -> Result<(), ProtocolError> {
    control_permitted("ModeChanged.ceiling", &w.mode, w.ceiling)
}
