//! The WebSocket path's constants: deadlines, the customer's participant id, close codes and
//! the one refusal text of an unknown session.

use cobrowse_engine::protocol::ParticipantId;

/// The refusal of an unknown id, and of every join that [`admission::admit`] refuses: the
/// same code and text, so a guess cannot tell a live session from none.
pub(crate) const NO_SESSION: &str = "no live session with this id";

/// The refusal of every failed customer connection: unknown id, wrong secret or resume
/// token, ended session.
pub(crate) const CUSTOMER_REFUSED: &str = "no live session with this id and secret";

/// The customer's participant id.
pub const CUSTOMER: ParticipantId = ParticipantId(1);

/// Close codes of [`Conn::fatal`](super::conn::Conn::fatal) (every close code and its text:
/// [`crate::link::CloseReason`]).
pub(crate) const CLOSE_NORMAL: u16 = 1000;
pub(crate) const CLOSE_POLICY: u16 = 1008;
pub(crate) const CLOSE_TOO_BIG: u16 = 1009;
