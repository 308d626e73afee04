//! Frames to agents: relay-made keyframes (cached per sequence number and fingerprint),
//! forwarded deltas, and the acknowledgement window that withholds deltas from a slow agent
//! until it catches up (see the [`super`] docs).

use axum::body::Bytes;
use cobrowse_engine::encode_frame;
use cobrowse_engine::protocol::Message;
use cobrowse_engine::session::{AgentId, Recipient};

use crate::audit::bump;
use crate::link::Outbound;
use crate::state::{RelayState, SessionInner};
/// The relay-made keyframe as a `Frame` message, cached per (seq, fingerprint).
pub(super) fn keyframe_message(state: &RelayState, inner: &mut SessionInner) -> Option<Bytes> {
    let seq = inner.mirror.seq()?;
    let fp = inner.mirror.fingerprint();
    if let Some((s, f, b)) = &inner.wire.keyframe_cache
        && *s == seq
        && *f == fp
        && inner.mirror.in_sync()
    {
        return Some(b.clone());
    }
    let frame = inner.mirror.keyframe()?;
    let bytes = Bytes::from(encode_frame(&frame));
    bump(&state.metrics.relay_keyframes);
    inner.wire.keyframe_cache = Some((seq, fp, bytes.clone()));
    Some(bytes)
}

/// Sends a relay-made keyframe to `to`, or asks the customer for one when the mirror has none.
pub(super) fn send_keyframe(state: &RelayState, inner: &mut SessionInner, to: Recipient) {
    match keyframe_message(state, inner) {
        Some(b) => {
            let seq = inner.mirror.seq();
            send_keyframe_bytes(inner, &to, b, seq);
            // Then where the customer looks at it (its window size and document scroll) and
            // how well it is connected.
            for m in inner.wire.customer_view() {
                inner.links.send_msg(&to, &m);
            }
        }
        None => request_customer_keyframe(inner),
    }
}

/// Sends a keyframe message (relay-made or the customer's) of frame `seq` to `to`; the
/// agents it reaches are up to date, which ends any withholding (see the module docs).
pub(super) fn send_keyframe_bytes(
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
pub(super) fn forward_delta(
    state: &RelayState,
    inner: &mut SessionInner,
    message: &Bytes,
    seq: u64,
) -> usize {
    let mut reached = 0;
    for (agent, link) in inner.links.agents.iter() {
        let Some(slot) = inner.wire.agents.get_mut(agent) else {
            continue;
        };
        if slot.withholds(seq) {
            bump(&state.metrics.deltas_withheld);
            continue;
        }
        if link.send_now(message) {
            slot.sent = Some(seq);
            reached += 1;
        }
    }
    reached
}

/// An agent acknowledged frame `seq`: if deltas were withheld from it and it has now applied
/// everything it was sent, it gets a keyframe of the current page.
pub(super) fn agent_ack(state: &RelayState, inner: &mut SessionInner, agent: AgentId, seq: u64) {
    let Some(slot) = inner.wire.agents.get_mut(&agent) else {
        return;
    };
    slot.acked = Some(seq);
    if slot.withheld && slot.sent == Some(seq) {
        send_keyframe(state, inner, Recipient::Agent(agent));
    }
}

pub(super) fn request_customer_keyframe(inner: &mut SessionInner) {
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
