//! The WebSocket path's constants: deadlines, the customer's participant id, close codes and
//! the one refusal text of an unknown session.

use std::time::Duration;

use cobrowse_engine::protocol::ParticipantId;

/// The refusal of an unknown id, and of every join that [`admission::admit`] refuses: the
/// same code and text, so a guess cannot tell a live session from none.
pub(crate) const NO_SESSION: &str = "no live session with this id";

/// How long a new connection may take to say `Hello` (and an agent to `Join`).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The customer's participant id.
pub const CUSTOMER: ParticipantId = ParticipantId(1);

/// Close codes.
pub(crate) const CLOSE_NORMAL: u16 = 1000;
pub(crate) const CLOSE_POLICY: u16 = 1008;
pub(crate) const CLOSE_TOO_BIG: u16 = 1009;
pub(crate) const CLOSE_REPLACED: u16 = 4000;
