//! The wire errors: fixed texts (never ids or message contents) for every refusal.

use cobrowse_engine::protocol::{self, ErrorCode, Message};
use cobrowse_engine::session::{SessionError, SessionState};

pub(super) fn error_msg(code: ErrorCode, text: &str) -> Message {
    // Printable ASCII only, at most the protocol's limit.
    let mut message: String = text
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect();
    message.truncate(protocol::MAX_ERROR_MESSAGE_BYTES);
    Message::Error { code, message }
}

/// The wire error for a session refusal (fixed texts: no ids, no contents).
pub(super) fn session_error(e: &SessionError, state: SessionState) -> Message {
    let (code, text) = session_refusal(e, state);
    error_msg(code, text)
}

/// The wire code and fixed text of a session refusal.
pub(super) fn session_refusal(e: &SessionError, state: SessionState) -> (ErrorCode, &'static str) {
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
