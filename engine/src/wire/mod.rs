//! Wire formats: what crosses a network. [`frame`] carries the page (keyframes and deltas,
//! rkyv, validated before use); [`protocol`] carries frames and everything else between a
//! page, the relay and the agents.
//!
//! Both decoders treat their input as hostile: every offset, id and length is checked before
//! use, and no byte read from the input reaches an error message ([`redact`]).

pub(crate) mod frame;
pub mod protocol;
mod redact;
