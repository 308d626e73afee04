//! Routing of session messages to the connections of a session.
//!
//! Each connection (the customer's, each agent's) owns an unbounded channel drained by its
//! socket writer; the session machine's `poll_transmit` output is routed here by recipient.
//! A connection that went away simply has a closed channel: sends to it are dropped, and the
//! machine learns about the disconnect from the socket reader.

use std::collections::HashMap;

use cobrowse_engine::session::{AgentId, Recipient, SessionMessage};
use tokio::sync::mpsc::UnboundedSender;

use crate::state::{RelayState, SessionEntry, SessionInner};

/// What a socket writer receives.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// A session message to encode and send.
    Message(SessionMessage),
    /// An engine frame (keyframe or delta) to send as it is.
    Frame(std::sync::Arc<[u8]>),
    /// Close the connection with this reason.
    Close(String),
}

/// The open connections of one session.
#[derive(Default)]
pub struct Links {
    /// The customer's connection.
    pub customer: Option<UnboundedSender<Outbound>>,
    /// Each agent's connection.
    pub agents: HashMap<AgentId, UnboundedSender<Outbound>>,
}

impl Links {
    /// Sends to one recipient set; returns how many connections it reached.
    pub fn send(&self, to: &Recipient, out: &Outbound) -> usize {
        let mut n = 0;
        let mut one = |tx: &UnboundedSender<Outbound>| {
            if tx.send(out.clone()).is_ok() {
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
}

/// Routes everything the session machine has to say to the session's connections.
pub fn deliver(_state: &RelayState, _entry: &SessionEntry, inner: &mut SessionInner) {
    while let Some(out) = inner.machine.poll_transmit() {
        inner.links.send(&out.to, &Outbound::Message(out.msg));
    }
}
