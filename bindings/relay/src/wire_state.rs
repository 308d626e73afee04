//! The per-session wire state: participant ids and resume tokens, the acknowledgement window
//! of each agent, the frame rate bucket and the relay-made keyframe cache.
//!
//! It is held once per live session, so it is kept small: per-agent entries in
//! [`SmallMap`]s (exactly one entry's bytes per agent), the customer's view as plain numbers
//! (the messages are rebuilt when sent), the echo boxed (it lives only while [`deliver`]
//! runs), and the relay-made keyframe dropped as soon as the mirror moves past it.
//!
//! [`deliver`]: crate::ws::deliver

use axum::body::Bytes;
use cobrowse_engine::protocol::{self, Message, ParticipantId};
use cobrowse_engine::session::{AgentId, HighlightId};

use crate::admission::Invites;
use crate::auth;
use crate::config::Limits;
use crate::small_map::SmallMap;
use crate::token_bucket::TokenBucket;

/// One agent as the wire knows it.
pub(crate) struct AgentSlot {
    pub(crate) pid: ParticipantId,
    pub(crate) resume: [u8; 16],
    /// The last frame the agent acknowledged, once it acknowledges at all.
    pub(crate) acked: Option<u64>,
    /// The last frame sent to it.
    pub(crate) sent: Option<u64>,
    /// Whether deltas are withheld until it acknowledges `sent`.
    pub(crate) withheld: bool,
}

impl AgentSlot {
    /// Whether the frame `seq` must be withheld from this agent (see the module docs).
    pub(crate) fn withholds(&mut self, seq: u64) -> bool {
        if !self.withheld
            && let Some(acked) = self.acked
        {
            self.withheld = seq.saturating_sub(acked) > ACK_WINDOW;
        }
        self.withheld
    }

    /// The agent was sent a keyframe of frame `seq`: it is up to date, and held to the window
    /// again from its next `Ack`.
    pub(crate) fn caught_up(&mut self, seq: Option<u64>) {
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
    /// Every agent the session has numbered (connected or not), in order of first join.
    pub(crate) agents: SmallMap<AgentId, AgentSlot>,
    pub(crate) next_pid: u32,
    pub(crate) customer_client: Option<protocol::ClientInfo>,
    pub(crate) customer_resume: [u8; 16],
    pub(crate) bucket: TokenBucket,
    pub(crate) keyframe_requested: bool,
    /// (seq, fingerprint, encoded Frame message) of the last relay-made keyframe.
    pub(crate) keyframe_cache: Option<(u64, u64, Bytes)>,
    /// The wire message an agent or customer sent, with its sender rewritten, used by
    /// [`deliver`] in place of the machine's lossy form (fractional coordinates, a target
    /// element, highlight colours, link titles).
    pub(crate) echo: Option<Box<Message>>,
    /// Machine highlight ids -> (owner, the owner's wire id for it).
    pub(crate) highlights: SmallMap<HighlightId, (ParticipantId, u32)>,
    /// Whether a customer connection was ever bound to the session.
    pub(crate) customer_seen: bool,
    /// The mirror's footprint as counted against the budgets (see [`crate::ws`]).
    pub(crate) mirror_bytes: usize,
    /// Bytes of the frames applied since the mirror's last keyframe, the keyframe included.
    pub(crate) frame_bytes_since_keyframe: usize,
    /// Frame bytes per second (work per session).
    pub(crate) byte_bucket: TokenBucket,
    /// Live invites (share links among agents) of this session.
    pub invites: Invites,
    /// The customer's last document `Scroll` (x, y; cleared when its page changes) and
    /// `Viewport` (width, height), sent after every relay-made keyframe so that an agent sees
    /// the page where the customer does.
    pub(crate) page_scroll: Option<(f32, f32)>,
    pub(crate) viewport: Option<(u32, u32)>,
    /// The customer's last measured round trip in milliseconds ([`Message::Latency`]), sent
    /// after every relay-made keyframe too.
    pub(crate) customer_rtt_ms: Option<u32>,
    /// Since when sharing resumed without a keyframe from the customer: deltas are not
    /// forwarded until one arrives, and the relay asks for it (see [`crate::ws`]).
    pub(crate) resumed_without_keyframe: Option<std::time::Instant>,
}

impl WireState {
    /// A fresh session's wire state.
    pub fn new(limits: &Limits) -> WireState {
        let mut customer_resume = [0u8; 16];
        auth::random_bytes(&mut customer_resume);
        WireState {
            agents: SmallMap::default(),
            next_pid: 2,
            customer_client: None,
            customer_resume,
            bucket: TokenBucket::new(limits.frames_per_second, limits.frame_burst),
            keyframe_requested: false,
            keyframe_cache: None,
            echo: None,
            highlights: SmallMap::default(),
            invites: Invites::default(),
            customer_seen: false,
            page_scroll: None,
            viewport: None,
            customer_rtt_ms: None,
            resumed_without_keyframe: None,
            mirror_bytes: 0,
            frame_bytes_since_keyframe: 0,
            byte_bucket: TokenBucket::new(
                u32::try_from(limits.frame_bytes_per_second).unwrap_or(u32::MAX),
                u32::try_from(limits.frame_bytes_per_second.saturating_mul(2)).unwrap_or(u32::MAX),
            ),
        }
    }

    /// The participant id of an agent, assigned on first use.
    pub(crate) fn slot(&mut self, agent: AgentId) -> &AgentSlot {
        if !self.agents.contains_key(&agent) {
            let pid = ParticipantId(self.next_pid);
            self.next_pid += 1;
            let mut resume = [0u8; 16];
            auth::random_bytes(&mut resume);
            self.agents.insert(
                agent,
                AgentSlot {
                    pid,
                    resume,
                    acked: None,
                    sent: None,
                    withheld: false,
                },
            );
        }
        self.agents.get(&agent).expect("inserted above")
    }

    pub(crate) fn pid(&self, agent: AgentId) -> Option<ParticipantId> {
        self.agents.get(&agent).map(|s| s.pid)
    }

    pub(crate) fn agent(&self, pid: ParticipantId) -> Option<AgentId> {
        self.agents
            .iter()
            .find(|(_, s)| s.pid == pid)
            .map(|(a, _)| *a)
    }

    pub(crate) fn forget(&mut self, agent: AgentId) {
        self.agents.remove(&agent);
    }

    /// The customer's view as agents get it after a relay-made keyframe: its `Viewport`, its
    /// document `Scroll` and its round trip (`Latency`), those it has.
    pub(crate) fn customer_view(&self) -> impl Iterator<Item = Message> {
        let viewport = self
            .viewport
            .map(|(width, height)| Message::Viewport { width, height });
        let scroll = self
            .page_scroll
            .map(|(x, y)| Message::Scroll { target: None, x, y });
        let latency = self.customer_rtt_ms.map(customer_latency);
        [viewport, scroll, latency].into_iter().flatten()
    }

    /// Records the customer's round trip of the relay's last ping; returns the `Latency` the
    /// agents are sent, only when it differs from the last one they had (the console shows
    /// the last value it got, so an unchanged one would change nothing there; at 5,000
    /// sessions it was 250 messages a second to agents for nothing).
    pub(crate) fn customer_round_trip(&mut self, rtt_ms: u32) -> Option<Message> {
        if self.customer_rtt_ms == Some(rtt_ms) {
            return None;
        }
        self.customer_rtt_ms = Some(rtt_ms);
        Some(customer_latency(rtt_ms))
    }
}

/// The customer's round trip as agents get it.
fn customer_latency(rtt_ms: u32) -> Message {
    Message::Latency {
        participant_id: crate::ws::CUSTOMER,
        rtt_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_get_the_customers_round_trip_only_when_it_changed() {
        let mut wire = WireState::new(&Limits::default());
        let latency = |rtt_ms| Message::Latency {
            participant_id: crate::ws::CUSTOMER,
            rtt_ms,
        };
        assert_eq!(wire.customer_round_trip(0), Some(latency(0)));
        assert_eq!(wire.customer_round_trip(0), None);
        assert_eq!(wire.customer_round_trip(3), Some(latency(3)));
        assert_eq!(wire.customer_round_trip(3), None);
        assert_eq!(wire.customer_round_trip(0), Some(latency(0)));
        // An agent joining later still gets the last one after its keyframe.
        assert_eq!(wire.customer_view().collect::<Vec<_>>(), vec![latency(0)]);
    }
}
