//! The object form of messages (feature `serde`): each [`Message`](super::Message) as a plain
//! object, what the browser build hands JavaScript (`encodeMessage` / `decodeMessage`).
//!
//! - A message is `{ kind: "<MessageKind name>", ...fields }` with the field names of the
//!   message table in snake_case (`{ kind: "Chat", from: 1, text: "hi" }`, `{ kind: "Resume" }`).
//!   Unknown fields are refused; `Option` fields are `null` (and may be left out).
//! - Ids are numbers: [`ParticipantId`](super::ParticipantId), [`WireId`], session ids (nine
//!   digits, checked here).
//! - Unit enum variants are their names (`"Customer"`, `"Full"`, `"ElementDisabled"`); data
//!   variants are a one-key object: `{ Control: 2 }` ([`Mode`](super::Mode)),
//!   `{ Url: "https://…" }` ([`Navigation`](super::Navigation)), `{ One: 3 }`
//!   ([`HighlightScope`](super::HighlightScope)), `{ PermissionDenied: "MaskedField" }`
//!   ([`ErrorCode`](super::ErrorCode)), `{ UnsafeUrl: "NotWeb" }`
//!   ([`DenyReason`](super::DenyReason)).
//! - Byte fields (a frame, a [`ResumeToken`](super::ResumeToken)) are byte strings
//!   (`Uint8Array` in JavaScript; an array of numbers is accepted too).
//! - Tokens and secrets are strings.
//!
//! The object form is only a shape: what it holds is validated by the binary encoding
//! ([`Message::try_encode`](super::Message::try_encode)), so a caller converts from objects and
//! then encodes with validation, never the other way round.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::dom::tree::WireId;
use crate::session::SessionId;

use super::fields::{AuthToken, CustomerSecret, ResumeToken};

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.value())
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SessionId, D::Error> {
        let v = u32::deserialize(d)?;
        SessionId::new(v).ok_or_else(|| de::Error::custom("a session id has nine digits"))
    }
}

impl Serialize for WireId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WireId, D::Error> {
        u32::deserialize(d).map(WireId)
    }
}

impl Serialize for AuthToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AuthToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AuthToken, D::Error> {
        String::deserialize(d).map(AuthToken)
    }
}

impl Serialize for CustomerSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CustomerSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CustomerSecret, D::Error> {
        String::deserialize(d).map(CustomerSecret)
    }
}

impl Serialize for ResumeToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ResumeToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ResumeToken, D::Error> {
        let v = d.deserialize_bytes(BytesVisitor)?;
        let token: [u8; 16] = v
            .try_into()
            .map_err(|_| de::Error::custom("a resume token is 16 bytes"))?;
        Ok(ResumeToken(token))
    }
}

/// `#[serde(with = "bytes")]`: a `Vec<u8>` as a byte string.
pub(super) mod bytes {
    use serde::{Deserializer, Serializer};

    pub(in super::super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<u8>, D::Error> {
        d.deserialize_bytes(super::BytesVisitor)
    }
}

/// Bytes from a byte string or a sequence of numbers.
struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes (a Uint8Array)")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

#[cfg(all(test, feature = "config"))]
mod tests {
    //! Native checks of the object form through serde_json (the browser's own round trips are
    //! the wasm crate's tests).

    use super::super::*;
    use crate::dom::tree::WireId;
    use crate::session::{ControlCeiling, SessionId};

    fn json(m: &Message) -> String {
        serde_json::to_string(m).unwrap()
    }

    #[test]
    fn messages_are_objects_tagged_with_their_kind() {
        assert_eq!(
            json(&Message::Chat {
                from: ParticipantId(2),
                text: "hi".into()
            }),
            r#"{"kind":"Chat","from":2,"text":"hi"}"#
        );
        assert_eq!(json(&Message::Resume), r#"{"kind":"Resume"}"#);
        assert_eq!(
            json(&Message::ModeChanged {
                mode: Mode::Control(ParticipantId(3)),
                ceiling: ControlCeiling::Partial
            }),
            r#"{"kind":"ModeChanged","mode":{"Control":3},"ceiling":"Partial"}"#
        );
        assert_eq!(
            json(&Message::ActionDenied {
                agent: ParticipantId(2),
                action: ActionKind::Submit,
                target: Some(WireId(7)),
                reason: DenyReason::ElementDisabled
            }),
            r#"{"kind":"ActionDenied","agent":2,"action":"Submit","target":7,"reason":"ElementDisabled"}"#
        );
        assert_eq!(
            json(&Message::Error {
                code: ErrorCode::PermissionDenied(DenyReason::UnsafeUrl(
                    crate::session::UrlError::NotWeb
                )),
                message: "x".into()
            }),
            r#"{"kind":"Error","code":{"PermissionDenied":{"UnsafeUrl":"NotWeb"}},"message":"x"}"#
        );
        assert_eq!(
            json(&Message::Frame { bytes: vec![1, 2] }),
            r#"{"kind":"Frame","bytes":[1,2]}"#
        );
    }

    #[test]
    fn objects_decode_with_options_left_out_and_refuse_what_is_not_a_message() {
        let m: Message = serde_json::from_str(r#"{"kind":"Pointer","from":1,"x":1.5,"y":2}"#)
            .expect("pointer without target");
        assert_eq!(
            m,
            Message::Pointer {
                from: ParticipantId(1),
                x: 1.5,
                y: 2.0,
                target: None
            }
        );
        let join: Message =
            serde_json::from_str(r#"{"kind":"Join","session_id":123456789,"token":"t.o.k"}"#)
                .unwrap();
        assert_eq!(
            join,
            Message::Join {
                session_id: SessionId::new(123_456_789).unwrap(),
                token: AuthToken::new("t.o.k")
            }
        );
        for bad in [
            r#"{"kind":"Nope"}"#,
            r#"{"kind":"Chat","from":1}"#,
            r#"{"kind":"Chat","from":1,"text":"a","extra":1}"#,
            r#"{"kind":"Join","session_id":12345,"token":"t"}"#,
            r#"{"kind":"Ack","seq":-1}"#,
            r#"{"from":1,"text":"a"}"#,
        ] {
            assert!(serde_json::from_str::<Message>(bad).is_err(), "{bad}");
        }
    }
}
