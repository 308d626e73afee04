//! The cargo-fuzz entry point of the protocol decoder.

use super::messages::Message;
use super::view::MessageView;

/// Fuzzing entry point: accesses and decodes `bytes`; if they are a valid message, checks
/// that the view agrees with the owned message and that re-encoding it gives a message that
/// decodes to the same. Panics only on a bug (an invalid message must simply be rejected).
pub fn fuzz_decode(bytes: &[u8]) {
    match (MessageView::access(bytes), Message::decode(bytes)) {
        (Ok(view), Ok(msg)) => {
            assert_eq!(view.kind(), msg.kind());
            assert_eq!(view.sender(), msg.sender());
            assert_eq!(view.len_bytes(), bytes.len());
            match &msg {
                Message::Frame { bytes: f } => assert_eq!(view.frame(), Some(&f[..])),
                _ => assert!(view.frame().is_none()),
            }
            match &msg {
                Message::Ack { seq } => assert_eq!(view.ack_seq(), Some(*seq)),
                _ => assert!(view.ack_seq().is_none()),
            }
            let again = msg.encode();
            assert_eq!(
                Message::decode(&again).as_ref(),
                Ok(&msg),
                "re-encoded message must decode to the same"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!(
            "access and decode disagree: {:?} / {:?}",
            a.map(|v| v.kind()),
            b.map(|m| m.kind())
        ),
    }
}
