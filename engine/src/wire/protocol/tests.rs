//! The protocol's behaviour tests: round trips of every variant, hostile input (truncations,
//! bit flips, random buffers, crafted bodies), limits, and the privacy of errors.

use rkyv::Serialize;
use rkyv::api::high::HighSerializer;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;

use super::codec::{Codec, URL_ERRORS, WErrorCode, WNavigation, deny_code, deny_from_code};
use super::layout;
use super::layout::{PREFIX_LEN, prefix};
use super::messages::{WEnd, WError, WFrame, WHello, WJoin, WModeChanged, WNavigate, WPause};
use super::*;
use crate::dom::tree::WireId;
use crate::session::{self, ControlCeiling, PauseReason, SessionId, UrlError};
use crate::wire::frame::MAX_FRAME_BYTES;

const CANARY: &str = "CANARY-SECRET-4242";

fn client_info() -> ClientInfo {
    ClientInfo {
        browser: "Firefox".into(),
        browser_version: "128.0.3".into(),
        os: "Windows 11".into(),
        client_version: "0.1.0".into(),
    }
}

fn token() -> ResumeToken {
    ResumeToken(*b"0123456789abcdef")
}

fn sid() -> SessionId {
    SessionId::new(123_456_789).unwrap()
}

fn p(n: u32) -> ParticipantId {
    ParticipantId(n)
}

/// At least one of every variant, and of every sub-variant of their fields.
fn samples() -> Vec<Message> {
    let mut v = vec![
        Message::Hello {
            role: Role::Customer,
            client: client_info(),
            resume: None,
        },
        Message::Hello {
            role: Role::Agent,
            client: ClientInfo::default(),
            resume: Some(Reconnect {
                session_id: sid(),
                participant_id: p(7),
                token: token(),
                last_seq: Some(41),
            }),
        },
        Message::Hello {
            role: Role::Customer,
            client: client_info(),
            resume: Some(Reconnect {
                session_id: SessionId::new(SessionId::MAX).unwrap(),
                participant_id: p(0),
                token: token(),
                last_seq: None,
            }),
        },
        Message::Join {
            session_id: sid(),
            token: AuthToken::new("eyJhbGciOiJIUzI1NiJ9.e30.abc"),
        },
        Message::Joined {
            session_id: sid(),
            participant_id: p(2),
            participants: 2,
            role: Role::Agent,
            mode: Mode::Pointer,
            ceiling: ControlCeiling::Full,
            paused: false,
            resume_token: token(),
            customer: Some(client_info()),
        },
        Message::Joined {
            session_id: SessionId::new(SessionId::MIN).unwrap(),
            participant_id: p(1),
            participants: 1,
            role: Role::Customer,
            mode: Mode::Control(p(3)),
            ceiling: ControlCeiling::Partial,
            paused: true,
            resume_token: token(),
            customer: None,
        },
        Message::PeerJoined {
            participant_id: p(3),
            role: Role::Agent,
            participants: 3,
        },
        Message::Left {
            participant_id: p(3),
            participants: 2,
        },
        Message::Connection {
            participant_id: p(1),
            connected: false,
        },
        Message::Connection {
            participant_id: p(2),
            connected: true,
        },
        Message::PageChanged {
            url: "https://shop.example.com/cart?item=3".into(),
        },
        Message::Resume,
        Message::ControlRevoke,
        Message::ControlReturn,
        Message::ControlRequest { agent: p(2) },
        Message::ControlApprove { agent: p(2) },
        Message::ControlDecline { agent: p(2) },
        Message::Invite {
            token: AuthToken::new("eyJhbGciOiJIUzI1NiJ9.e30.abc"),
        },
        Message::InviteCreated {
            session_id: sid(),
            customer_secret: CustomerSecret::new("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I"),
        },
        Message::Invitation { agent: p(2) },
        Message::InviteAccept,
        Message::InviteDecline,
        Message::ActionDenied {
            agent: p(2),
            action: ActionKind::Submit,
            target: Some(WireId(14)),
            reason: DenyReason::ElementDisabled,
        },
        Message::ActionDenied {
            agent: p(3),
            action: ActionKind::Navigate,
            target: None,
            reason: DenyReason::UnsafeUrl(UrlError::NotWeb),
        },
        Message::ModeChanged {
            mode: Mode::Control(p(2)),
            ceiling: ControlCeiling::Full,
        },
        Message::ModeChanged {
            mode: Mode::Pointer,
            ceiling: ControlCeiling::None,
        },
        Message::Pointer {
            from: p(2),
            x: 10.5,
            y: -3.25,
            target: Some(WireId(42)),
        },
        Message::Pointer {
            from: p(1),
            x: MAX_COORD,
            y: -MAX_COORD,
            target: None,
        },
        Message::ClickRipple {
            from: p(2),
            x: 1.0,
            y: 2.0,
            target: Some(WireId(9)),
        },
        Message::ClickRipple {
            from: p(2),
            x: 0.0,
            y: -0.0,
            target: None,
        },
        Message::Highlight {
            from: p(2),
            id: 1,
            target: WireId(77),
            rect: Some(Rect {
                x: 1.0,
                y: 2.0,
                width: 30.0,
                height: 0.0,
            }),
            color: Some(Color {
                r: 255,
                g: 0,
                b: 0,
                a: 128,
            }),
        },
        Message::Highlight {
            from: p(2),
            id: u32::MAX,
            target: WireId(u32::MAX),
            rect: None,
            color: None,
        },
        Message::HighlightClear {
            from: p(2),
            which: HighlightScope::One(1),
        },
        Message::HighlightClear {
            from: p(2),
            which: HighlightScope::All,
        },
        Message::Scroll {
            target: None,
            x: 0.0,
            y: 1200.0,
        },
        Message::Scroll {
            target: Some(WireId(5)),
            x: -20.0,
            y: 0.0,
        },
        Message::Viewport {
            width: 1280,
            height: 720,
        },
        Message::Viewport {
            width: 0,
            height: MAX_VIEWPORT_PX,
        },
        Message::Navigate {
            to: Navigation::Url("https://example.com/a?b=c#d".into()),
        },
        Message::Navigate {
            to: Navigation::Url("HTTP://x".into()),
        },
        Message::Navigate {
            to: Navigation::Back,
        },
        Message::Navigate {
            to: Navigation::Forward,
        },
        Message::Navigate {
            to: Navigation::Reload,
        },
        Message::AgentInput {
            target: WireId(12),
            value: "Jane\nDoe\té".into(),
        },
        Message::AgentInput {
            target: WireId(12),
            value: String::new(),
        },
        Message::AgentClick {
            target: WireId(13),
            x: 4.0,
            y: 5.0,
        },
        Message::AgentSubmit { target: WireId(14) },
        Message::Chat {
            from: p(1),
            text: "hello".into(),
        },
        Message::Chat {
            from: p(2),
            text: "Can you click the blue button at the top? {start:123456789} ✓".into(),
        },
        Message::Chat {
            from: p(2),
            text: "x".repeat(MAX_CHAT_BYTES),
        },
        Message::SharedLink {
            from: p(2),
            url: "https://example.com/manual.pdf".into(),
            title: "The manual".into(),
        },
        Message::Ping {
            nonce: 1,
            sent_at_ms: 1_700_000_000_000,
        },
        Message::Pong {
            nonce: u64::MAX,
            sent_at_ms: 0,
        },
        Message::Latency {
            participant_id: ParticipantId(1),
            rtt_ms: u32::MAX,
        },
        Message::Frame {
            bytes: b"CBF1 not really a frame".to_vec(),
        },
        Message::Frame { bytes: vec![0] },
        Message::Ack { seq: 42 },
        Message::KeyframeRequest { have_seq: None },
        Message::KeyframeRequest { have_seq: Some(0) },
    ];
    for reason in [
        PauseReason::CustomerStoppedSharing,
        PauseReason::OutsideAllowedDomains,
    ] {
        v.push(Message::Pause { reason });
    }
    for reason in [
        EndReason::CustomerEnded,
        EndReason::AgentEnded,
        EndReason::BackendEnded,
        EndReason::Inactivity,
        EndReason::AgentGone,
        EndReason::CustomerGone,
        EndReason::PolicyViolation,
        EndReason::Error,
        EndReason::InviteDeclined,
        EndReason::InviteWithdrawn,
        EndReason::NoAgentJoined,
    ] {
        v.push(Message::End { reason });
    }
    let mut codes = vec![
        ErrorCode::BadMessage,
        ErrorCode::UnsupportedVersion,
        ErrorCode::TooLarge,
        ErrorCode::Unauthorized,
        ErrorCode::SessionNotFound,
        ErrorCode::SessionEnded,
        ErrorCode::SessionFull,
        ErrorCode::AgentBusy,
        ErrorCode::RateLimited,
        ErrorCode::NeedKeyframe,
        ErrorCode::Internal,
    ];
    for r in all_deny_reasons() {
        codes.push(ErrorCode::PermissionDenied(r));
    }
    for code in codes {
        v.push(Message::Error {
            code,
            message: "element is disabled for agents".into(),
        });
    }
    v
}

fn all_deny_reasons() -> Vec<DenyReason> {
    let mut v = vec![
        DenyReason::SessionEnded,
        DenyReason::NotStarted,
        DenyReason::SessionPaused,
        DenyReason::NotAParticipant,
        DenyReason::AgentDisconnected,
        DenyReason::ControlNotPermitted,
        DenyReason::FormsNotEditable,
        DenyReason::NotInControl,
        DenyReason::TargetMissing,
        DenyReason::ElementDisabled,
        DenyReason::MaskedField,
        DenyReason::OutsideAllowedDomains,
        DenyReason::WrongRole,
    ];
    v.extend(URL_ERRORS.map(DenyReason::UnsafeUrl));
    v
}

/// Messages whose strings hold the canary, to corrupt.
fn canary_messages() -> Vec<Message> {
    vec![
        Message::Chat {
            from: p(2),
            text: format!("my card is {CANARY} thanks"),
        },
        Message::Navigate {
            to: Navigation::Url(format!("https://example.com/?q={CANARY}")),
        },
        Message::AgentInput {
            target: WireId(3),
            value: CANARY.into(),
        },
        Message::SharedLink {
            from: p(2),
            url: format!("https://{CANARY}.example.com/"),
            title: CANARY.into(),
        },
        Message::Join {
            session_id: sid(),
            token: AuthToken::new(CANARY),
        },
        Message::Hello {
            role: Role::Customer,
            client: ClientInfo {
                browser: CANARY.into(),
                ..client_info()
            },
            resume: None,
        },
        Message::Frame {
            bytes: CANARY.as_bytes().to_vec(),
        },
    ]
}

fn assert_rejected(bytes: &[u8]) -> ProtocolError {
    fuzz_decode(bytes);
    match Message::decode(bytes) {
        Err(e) => e,
        Ok(m) => panic!("accepted: {:?}", m.kind()),
    }
}

/// Bytes of the body `w` under `kind`'s prefix: crafted messages that `encode` would never
/// write.
fn raw<W>(kind: MessageKind, w: &W) -> Vec<u8>
where
    W: for<'a> Serialize<HighSerializer<Vec<u8>, ArenaHandle<'a>, rancor::Error>>,
{
    layout::archive(kind.code(), w)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn every_variant_round_trips() {
    let samples = samples();
    let mut kinds: Vec<MessageKind> = samples.iter().map(Message::kind).collect();
    kinds.sort_by_key(|k| k.code());
    kinds.dedup();
    assert_eq!(kinds, MessageKind::ALL, "a kind has no sample");
    for m in &samples {
        let bytes = m.encode();
        assert_eq!(&bytes[..4], b"CBM1");
        assert_eq!(bytes[6], m.kind().code());
        assert_eq!(Message::decode(&bytes).as_ref(), Ok(m), "{:?}", m.kind());
        assert_eq!(m.try_encode().as_ref(), Ok(&bytes));
        let view = MessageView::access(&bytes).unwrap();
        assert_eq!(view.kind(), m.kind());
        assert_eq!(view.version(), PROTOCOL_VERSION);
        assert_eq!(view.as_bytes(), &bytes[..]);
        assert_eq!(view.len_bytes(), bytes.len());
        assert_eq!(view.sender(), m.sender());
        assert_eq!(&view.to_message(), m);
        match m {
            Message::Frame { bytes: f } => {
                let slice = view.frame().unwrap();
                assert_eq!(slice, &f[..]);
                // In place: the slice points into the message, right after the prefix.
                assert_eq!(slice.as_ptr(), bytes[PREFIX_LEN..].as_ptr());
            }
            _ => assert_eq!(view.frame(), None),
        }
        fuzz_decode(&bytes);
    }
}

#[test]
fn kind_codes_and_names_are_unique_and_stable() {
    let mut codes: Vec<u8> = MessageKind::ALL.iter().map(|k| k.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), MessageKind::ALL.len());
    for &k in MessageKind::ALL {
        assert_eq!(MessageKind::from_code(k.code()), Some(k));
        assert!(!k.name().is_empty());
    }
    assert_eq!(MessageKind::Frame.code(), 96);
    assert_eq!(MessageKind::Pointer.name(), "Pointer");
    assert_eq!(MessageKind::from_code(0), None);
    // Every kind has someone to send it.
    for &k in MessageKind::ALL {
        assert!(
            [Party::Customer, Party::Agent, Party::Relay]
                .iter()
                .any(|&p| k.may_come_from(p)),
            "{k:?}"
        );
    }
    assert!(MessageKind::Frame.may_come_from(Party::Customer));
    assert!(!MessageKind::Frame.may_come_from(Party::Agent));
    assert!(!MessageKind::AgentInput.may_come_from(Party::Customer));
    assert!(!MessageKind::Joined.may_come_from(Party::Agent));
}

#[test]
fn access_works_at_unaligned_offsets() {
    for m in samples() {
        let bytes = m.encode();
        for offset in 0..8 {
            let mut buf = vec![0xAAu8; offset];
            buf.extend_from_slice(&bytes);
            buf.extend_from_slice(&[0x55; 3]);
            let slice = &buf[offset..offset + bytes.len()];
            let view = MessageView::access(slice).unwrap();
            assert_eq!(view.kind(), m.kind());
            assert_eq!(view.to_message(), m);
            if let Message::Frame { bytes: f } = &m {
                assert_eq!(view.frame(), Some(&f[..]));
            }
        }
    }
}

#[test]
fn frame_fast_path_matches_rkyv() {
    for frame in [
        vec![1u8],
        b"CBF1".to_vec(),
        (0..=255).collect::<Vec<u8>>(),
        vec![7; 70_000],
    ] {
        let fast = encode_frame(&frame);
        let slow = layout::archive(
            MessageKind::Frame.code(),
            &WFrame {
                bytes: frame.clone(),
            },
        );
        assert_eq!(fast, slow);
        assert_eq!(Message::Frame { bytes: frame }.encode(), fast);
    }
    assert_eq!(
        Message::decode(&encode_frame(&[])),
        Err(ProtocolError::Empty {
            field: "Frame.bytes"
        })
    );
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    let mut messages = canary_messages();
    messages.extend(samples().into_iter().filter(|m| {
        matches!(
            m.kind(),
            MessageKind::Hello
                | MessageKind::Joined
                | MessageKind::Highlight
                | MessageKind::Error
                | MessageKind::Pointer
                | MessageKind::KeyframeRequest
                | MessageKind::Resume
        )
    }));
    for m in &messages {
        let bytes = m.encode();
        for len in 0..bytes.len() {
            // A truncated message may happen to be valid (the root sits at the end); it
            // must then be a message that round-trips.
            fuzz_decode(&bytes[..len]);
        }
        // Cutting into the root always fails.
        assert!(Message::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut b = bytes.clone();
        for bit in 0..bytes.len() * 8 {
            b[bit / 8] ^= 1 << (bit % 8);
            fuzz_decode(&b);
            b[bit / 8] ^= 1 << (bit % 8);
        }
        for i in 0..bytes.len() {
            for v in [0x00, 0xFF, 0x80] {
                let mut b = bytes.clone();
                b[i] = v;
                fuzz_decode(&b);
            }
        }
    }
}

#[test]
fn random_buffers_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for i in 0..10_000 {
        let len = rng.below(160);
        let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Most buffers get a valid prefix so that they reach the archive validation.
        if i % 4 != 0 {
            let kind = MessageKind::ALL[rng.below(MessageKind::ALL.len())];
            let mut prefixed = prefix(kind.code(), PREFIX_LEN + len);
            prefixed.extend_from_slice(&buf);
            buf = prefixed;
        }
        fuzz_decode(&buf);
        if let Err(e) = Message::decode(&buf) {
            let _ = e.to_string();
        } else {
            accepted += 1;
        }
    }
    // Some random bodies are valid (pings, acks, empty bodies): the valid path is exercised.
    assert!(accepted > 0);
}

#[test]
fn wrong_magic_and_version_are_typed_errors() {
    let bytes = Message::Ack { seq: 1 }.encode();
    let mut b = bytes.clone();
    b[0] = b'X';
    assert_eq!(Message::decode(&b), Err(ProtocolError::BadMagic));
    // A frame is not a message.
    assert_eq!(
        Message::decode(b"CBF1\x01\x00\x01"),
        Err(ProtocolError::BadMagic)
    );
    for len in 0..PREFIX_LEN {
        let e = Message::decode(&bytes[..len]).unwrap_err();
        assert_eq!(e, ProtocolError::Truncated, "{len}");
    }
    assert_eq!(Message::decode(b"CB"), Err(ProtocolError::Truncated));
    assert_eq!(Message::decode(b"XB"), Err(ProtocolError::BadMagic));
    let mut b = bytes.clone();
    b[4..6].copy_from_slice(&2u16.to_le_bytes());
    assert_eq!(
        Message::decode(&b),
        Err(ProtocolError::UnsupportedVersion(2))
    );
    assert_eq!(
        ProtocolError::UnsupportedVersion(2).error_code(),
        ErrorCode::UnsupportedVersion
    );
    let mut b = bytes.clone();
    b[4..6].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(
        Message::decode(&b),
        Err(ProtocolError::UnsupportedVersion(0))
    );
    let mut b = bytes.clone();
    b[6] = 200;
    assert_eq!(Message::decode(&b), Err(ProtocolError::UnknownKind(200)));
    let mut b = bytes;
    b[6] = 0;
    assert_eq!(Message::decode(&b), Err(ProtocolError::UnknownKind(0)));
    // The body is shorter than the kind's root.
    assert_eq!(
        Message::decode(&prefix(MessageKind::Ack.code(), 7)),
        Err(ProtocolError::Truncated)
    );
    // An empty body is a valid unit message.
    assert_eq!(
        Message::decode(&prefix(MessageKind::ControlRevoke.code(), 7)),
        Ok(Message::ControlRevoke)
    );
}

#[test]
fn oversized_is_rejected_before_validation() {
    // Garbage that is too large: rejected on its length alone, even with a bad magic.
    let huge = vec![0u8; MAX_MESSAGE_BYTES + 1];
    let e = Message::decode(&huge).unwrap_err();
    assert_eq!(
        e,
        ProtocolError::TooLarge {
            len: MAX_MESSAGE_BYTES + 1,
            max: MAX_MESSAGE_BYTES
        }
    );
    assert_eq!(e.error_code(), ErrorCode::TooLarge);
    // A large non-frame message is rejected before its (garbage) body is looked at.
    let mut chat = prefix(MessageKind::Chat.code(), MAX_CONTROL_MESSAGE_BYTES + 8);
    chat.resize(MAX_CONTROL_MESSAGE_BYTES + 1, 0xFF);
    assert_eq!(
        Message::decode(&chat),
        Err(ProtocolError::TooLarge {
            len: MAX_CONTROL_MESSAGE_BYTES + 1,
            max: MAX_CONTROL_MESSAGE_BYTES
        })
    );
    // ... but the same bytes at the limit reach validation (and happen to be valid: 0xFF
    // bytes are an empty inline string).
    chat.truncate(MAX_CONTROL_MESSAGE_BYTES);
    assert_eq!(
        Message::decode(&chat),
        Ok(Message::Chat {
            from: p(u32::MAX),
            text: String::new()
        })
    );
    // Frames may be large.
    let frame = vec![3u8; MAX_CONTROL_MESSAGE_BYTES * 4];
    let bytes = encode_frame(&frame);
    assert_eq!(
        MessageView::access(&bytes).unwrap().frame(),
        Some(&frame[..])
    );
}

#[test]
fn frames_over_the_frame_limit_are_rejected() {
    let frame = vec![1u8; MAX_FRAME_BYTES + 1];
    let bytes = encode_frame(&frame);
    assert!(bytes.len() <= MAX_MESSAGE_BYTES);
    assert_eq!(
        Message::decode(&bytes),
        Err(ProtocolError::TooLong {
            field: "Frame.bytes",
            len: MAX_FRAME_BYTES + 1,
            max: MAX_FRAME_BYTES
        })
    );
    let frame = vec![1u8; MAX_FRAME_BYTES];
    assert!(MessageView::access(&encode_frame(&frame)).is_ok());
}

fn rejects(m: Message) -> ProtocolError {
    let e = m.try_encode().unwrap_err();
    assert_eq!(Message::decode(&m.encode()), Err(e.clone()));
    e
}

#[test]
fn string_limits_are_enforced() {
    let chat = |text: String| Message::Chat { from: p(1), text };
    assert!(chat("x".repeat(MAX_CHAT_BYTES)).try_encode().is_ok());
    assert_eq!(
        rejects(chat("x".repeat(MAX_CHAT_BYTES + 1))),
        ProtocolError::TooLong {
            field: "Chat.text",
            len: MAX_CHAT_BYTES + 1,
            max: MAX_CHAT_BYTES
        }
    );
    // Bytes, not characters.
    assert!(matches!(
        rejects(chat("é".repeat(MAX_CHAT_BYTES / 2 + 1))),
        ProtocolError::TooLong { .. }
    ));
    assert_eq!(
        rejects(chat("a\0b".into())),
        ProtocolError::BadCharacter { field: "Chat.text" }
    );
    assert_eq!(
        rejects(chat("bell\u{7}".into())),
        ProtocolError::BadCharacter { field: "Chat.text" }
    );
    assert!(chat("line\r\nbreak\ttab".into()).try_encode().is_ok());

    let nav = |u: &str| Message::Navigate {
        to: Navigation::Url(u.into()),
    };
    let long_url = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
    assert!(matches!(
        rejects(nav(&long_url)),
        ProtocolError::TooLong {
            field: "Navigate.to",
            ..
        }
    ));
    assert!(nav(&long_url[..MAX_URL_BYTES]).try_encode().is_ok());
    for bad in [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "//example.com",
        "/relative",
        "https://",
        "https:///path",
        "http:/x",
        "https://exa mple.com/",
        "https://example.com/\n",
        "https://exämple.com/",
        " https://example.com/",
    ] {
        assert_eq!(
            rejects(nav(bad)),
            ProtocolError::BadUrl {
                field: "Navigate.to"
            },
            "{bad}"
        );
    }
    assert_eq!(
        rejects(nav("")),
        ProtocolError::Empty {
            field: "Navigate.to"
        }
    );
    let link = |url: &str, title: String| Message::SharedLink {
        from: p(2),
        url: url.into(),
        title,
    };
    assert!(matches!(
        rejects(link("ftp://x", String::new())),
        ProtocolError::BadUrl {
            field: "SharedLink.url"
        }
    ));
    assert!(matches!(
        rejects(link("https://x", "t".repeat(MAX_TITLE_BYTES + 1))),
        ProtocolError::TooLong {
            field: "SharedLink.title",
            ..
        }
    ));
    assert!(matches!(
        rejects(link("https://x", "a\nb".into())),
        ProtocolError::BadCharacter {
            field: "SharedLink.title"
        }
    ));

    let hello = |c: ClientInfo| Message::Hello {
        role: Role::Customer,
        client: c,
        resume: None,
    };
    assert!(
        hello(ClientInfo {
            os: "o".repeat(MAX_CLIENT_FIELD_BYTES),
            ..client_info()
        })
        .try_encode()
        .is_ok()
    );
    assert_eq!(
        rejects(hello(ClientInfo {
            os: "o".repeat(MAX_CLIENT_FIELD_BYTES + 1),
            ..client_info()
        })),
        ProtocolError::TooLong {
            field: "Hello.client.os",
            len: MAX_CLIENT_FIELD_BYTES + 1,
            max: MAX_CLIENT_FIELD_BYTES
        }
    );
    assert_eq!(
        rejects(hello(ClientInfo {
            browser: "Fire\u{1b}[31mfox".into(),
            ..client_info()
        })),
        ProtocolError::BadCharacter {
            field: "Hello.client.browser"
        }
    );
    let joined_customer = Message::Joined {
        session_id: sid(),
        participant_id: p(2),
        participants: 2,
        role: Role::Agent,
        mode: Mode::Pointer,
        ceiling: ControlCeiling::Full,
        paused: false,
        resume_token: token(),
        customer: Some(ClientInfo {
            client_version: "v".repeat(200),
            ..client_info()
        }),
    };
    assert!(matches!(
        rejects(joined_customer),
        ProtocolError::TooLong {
            field: "Joined.customer.client_version",
            ..
        }
    ));

    let join = |t: String| Message::Join {
        session_id: sid(),
        token: AuthToken::new(t),
    };
    assert_eq!(
        rejects(join(String::new())),
        ProtocolError::Empty {
            field: "Join.token"
        }
    );
    assert_eq!(
        rejects(join("has space".into())),
        ProtocolError::BadCharacter {
            field: "Join.token"
        }
    );
    assert!(matches!(
        rejects(join("t".repeat(MAX_TOKEN_BYTES + 1))),
        ProtocolError::TooLong { .. }
    ));
    assert!(join("t".repeat(MAX_TOKEN_BYTES)).try_encode().is_ok());

    let input = |v: String| Message::AgentInput {
        target: WireId(1),
        value: v,
    };
    assert!(input("v".repeat(MAX_INPUT_BYTES)).try_encode().is_ok());
    assert!(matches!(
        rejects(input("v".repeat(MAX_INPUT_BYTES + 1))),
        ProtocolError::TooLong {
            field: "AgentInput.value",
            ..
        }
    ));

    let error = |m: &str| Message::Error {
        code: ErrorCode::Internal,
        message: m.into(),
    };
    assert_eq!(
        rejects(error("naïve")),
        ProtocolError::BadCharacter {
            field: "Error.message"
        }
    );
    assert!(matches!(
        rejects(error(&"e".repeat(MAX_ERROR_MESSAGE_BYTES + 1))),
        ProtocolError::TooLong { .. }
    ));
    assert!(error("").try_encode().is_ok());
}

#[test]
fn numbers_wire_ids_and_consistency_are_enforced() {
    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, MAX_COORD * 2.0] {
        assert_eq!(
            rejects(Message::Pointer {
                from: p(1),
                x: v,
                y: 0.0,
                target: None
            }),
            ProtocolError::BadNumber { field: "Pointer.x" }
        );
        assert_eq!(
            rejects(Message::AgentClick {
                target: WireId(1),
                x: 0.0,
                y: v
            }),
            ProtocolError::BadNumber {
                field: "AgentClick.y"
            }
        );
        assert_eq!(
            rejects(Message::Scroll {
                target: None,
                x: v,
                y: 0.0
            }),
            ProtocolError::BadNumber { field: "Scroll.x" }
        );
    }
    let rect = |width: f32| Message::Highlight {
        from: p(2),
        id: 1,
        target: WireId(1),
        rect: Some(Rect {
            x: 0.0,
            y: 0.0,
            width,
            height: 1.0,
        }),
        color: None,
    };
    assert_eq!(
        rejects(rect(-1.0)),
        ProtocolError::BadNumber {
            field: "Highlight.rect"
        }
    );
    assert_eq!(
        rejects(Message::Viewport {
            width: MAX_VIEWPORT_PX + 1,
            height: 1
        }),
        ProtocolError::BadNumber {
            field: "Viewport.width"
        }
    );
    assert_eq!(
        rejects(Message::Pointer {
            from: p(1),
            x: 0.0,
            y: 0.0,
            target: Some(WireId::UNASSIGNED)
        }),
        ProtocolError::UnassignedWireId {
            field: "Pointer.target"
        }
    );
    assert_eq!(
        rejects(Message::AgentSubmit {
            target: WireId::UNASSIGNED
        }),
        ProtocolError::UnassignedWireId {
            field: "AgentSubmit.target"
        }
    );
    assert_eq!(
        rejects(Message::Highlight {
            from: p(2),
            id: 1,
            target: WireId(0),
            rect: None,
            color: None
        }),
        ProtocolError::UnassignedWireId {
            field: "Highlight.target"
        }
    );
    assert_eq!(
        rejects(Message::PeerJoined {
            participant_id: p(3),
            role: Role::Agent,
            participants: 0
        }),
        ProtocolError::BadNumber {
            field: "PeerJoined.participants"
        }
    );
    let joined = |participants, mode, ceiling| Message::Joined {
        session_id: sid(),
        participant_id: p(1),
        participants,
        role: Role::Customer,
        mode,
        ceiling,
        paused: false,
        resume_token: token(),
        customer: None,
    };
    assert_eq!(
        rejects(joined(0, Mode::Pointer, ControlCeiling::Full)),
        ProtocolError::BadNumber {
            field: "Joined.participants"
        }
    );
    assert_eq!(
        rejects(joined(2, Mode::Control(p(2)), ControlCeiling::None)),
        ProtocolError::Inconsistent {
            field: "Joined.ceiling"
        }
    );
    // Control under a view-only ceiling.
    assert_eq!(
        rejects(Message::ModeChanged {
            mode: Mode::Control(p(2)),
            ceiling: ControlCeiling::None
        }),
        ProtocolError::Inconsistent {
            field: "ModeChanged.ceiling"
        }
    );
}

#[test]
fn crafted_bodies_are_rejected_with_typed_errors() {
    // Session ids out of range (never written by `encode`: `SessionId` cannot hold them).
    for n in [0, 99_999_999, 1_000_000_000, u32::MAX] {
        let b = raw(
            MessageKind::Join,
            &WJoin {
                session_id: n,
                token: "t".into(),
            },
        );
        assert_eq!(
            assert_rejected(&b),
            ProtocolError::BadSessionId {
                field: "Join.session_id"
            }
        );
    }
    // Unknown enum codes.
    for (kind, c) in [
        (MessageKind::Pause, 0u8),
        (MessageKind::Pause, 3),
        (MessageKind::End, 12),
    ] {
        let e = if kind == MessageKind::Pause {
            assert_rejected(&raw(kind, &WPause { reason: c }))
        } else {
            assert_rejected(&raw(kind, &WEnd { reason: c }))
        };
        assert!(
            matches!(e, ProtocolError::UnknownCode { code, .. } if code == c),
            "{e:?}"
        );
    }
    let b = raw(
        MessageKind::ModeChanged,
        &WModeChanged {
            mode: None,
            ceiling: 4,
        },
    );
    assert_eq!(
        assert_rejected(&b),
        ProtocolError::UnknownCode {
            field: "ModeChanged.ceiling",
            code: 4
        }
    );
    let err = |code, detail| {
        raw(
            MessageKind::Error,
            &WError {
                code: WErrorCode { code, detail },
                message: String::new(),
            },
        )
    };
    assert_eq!(
        assert_rejected(&err(0, 0)),
        ProtocolError::UnknownCode {
            field: "Error.code",
            code: 0
        }
    );
    for detail in [0, 14, 38] {
        assert_eq!(
            assert_rejected(&err(10, detail)),
            ProtocolError::UnknownCode {
                field: "Error.detail",
                code: detail
            }
        );
    }
    assert_eq!(
        assert_rejected(&err(4, 1)),
        ProtocolError::Inconsistent {
            field: "Error.detail"
        }
    );
    let nav = |op, url: &str| {
        raw(
            MessageKind::Navigate,
            &WNavigate {
                to: WNavigation {
                    op,
                    url: url.into(),
                },
            },
        )
    };
    assert_eq!(
        assert_rejected(&nav(2, "https://x")),
        ProtocolError::Inconsistent {
            field: "Navigate.to"
        }
    );
    assert_eq!(
        assert_rejected(&nav(5, "")),
        ProtocolError::UnknownCode {
            field: "Navigate.to",
            code: 5
        }
    );
    let hello = |role| {
        raw(
            MessageKind::Hello,
            &WHello {
                role,
                client: ClientInfo::to_wire(&client_info()),
                resume: None,
            },
        )
    };
    assert_eq!(
        assert_rejected(&hello(3)),
        ProtocolError::UnknownCode {
            field: "Hello.role",
            code: 3
        }
    );
    // An invalid option tag, an invalid bool: rkyv validation.
    let mut b = Message::KeyframeRequest { have_seq: None }.encode();
    assert_eq!(b.len(), PREFIX_LEN + 9);
    b[PREFIX_LEN] = 2;
    assert!(matches!(assert_rejected(&b), ProtocolError::Invalid(_)));
    let mut b = Message::Joined {
        session_id: sid(),
        participant_id: p(1),
        participants: 1,
        role: Role::Customer,
        mode: Mode::Pointer,
        ceiling: ControlCeiling::Full,
        paused: false,
        resume_token: ResumeToken([0xEE; 16]),
        customer: None,
    }
    .encode();
    let at = find(&b, &[0xEE; 16]).unwrap() - 1;
    assert_eq!(b[at], 0);
    b[at] = 2;
    assert!(matches!(assert_rejected(&b), ProtocolError::Invalid(_)));
    // A string pointer out of the message.
    let mut b = Message::Chat {
        from: p(1),
        text: "more than eight bytes".into(),
    }
    .encode();
    let n = b.len();
    b[n - 5] ^= 0x40;
    assert!(matches!(assert_rejected(&b), ProtocolError::Invalid(_)));
}

#[test]
fn errors_never_contain_message_contents() {
    let check = |e: &ProtocolError| {
        let shown = format!("{e} {e:?}");
        for part in ["CANARY", "SECRET", "4242"] {
            assert!(!shown.contains(part), "{shown}");
        }
    };
    let mut errors = 0;
    for m in canary_messages() {
        let bytes = m.encode();
        let at = find(&bytes, CANARY.as_bytes()).unwrap();
        // Invalid UTF-8 inside the string (frames are opaque bytes: always valid).
        if m.kind() != MessageKind::Frame {
            for (i, byte) in [0xFFu8, 0xC3, 0x80, 0xED].into_iter().enumerate() {
                let mut b = bytes.clone();
                b[at + 3 + i] = byte;
                let e = assert_rejected(&b);
                assert!(matches!(e, ProtocolError::Invalid(_)), "{e:?}");
                check(&e);
                errors += 1;
            }
            // A forbidden character inside the string.
            let mut b = bytes.clone();
            b[at + 6] = 0x01;
            let e = assert_rejected(&b);
            check(&e);
            errors += 1;
        }
        // Every single-bit flip, every byte set to 0xFF, every truncation.
        let mut b = bytes.clone();
        for bit in 0..bytes.len() * 8 {
            b[bit / 8] ^= 1 << (bit % 8);
            if let Err(e) = Message::decode(&b) {
                check(&e);
                errors += 1;
            }
            b[bit / 8] ^= 1 << (bit % 8);
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] = 0xFF;
            if let Err(e) = Message::decode(&b) {
                check(&e);
                errors += 1;
            }
        }
        for len in 0..bytes.len() {
            if let Err(e) = Message::decode(&bytes[..len]) {
                check(&e);
                errors += 1;
            }
        }
    }
    // Messages that are too long, with the canary in them.
    for m in [
        Message::Chat {
            from: p(1),
            text: CANARY.repeat(300),
        },
        Message::Navigate {
            to: Navigation::Url(format!("javascript:{CANARY}")),
        },
        Message::AgentInput {
            target: WireId(1),
            value: format!("{CANARY}\0"),
        },
    ] {
        let e = rejects(m);
        check(&e);
    }
    assert!(errors > 1000);
}

#[test]
fn secrets_are_redacted_in_debug() {
    let m = Message::Join {
        session_id: sid(),
        token: AuthToken::new(CANARY),
    };
    let shown = format!("{m:?}");
    assert!(!shown.contains("CANARY"), "{shown}");
    assert!(shown.contains("18 bytes"), "{shown}");
    let t = ResumeToken(*b"CANARY-SECRET-42");
    assert!(!format!("{t:?}").contains("CANARY"));
    assert_eq!(t, ResumeToken(*b"CANARY-SECRET-42"));
    assert_ne!(t, ResumeToken(*b"CANARY-SECRET-43"));
    let bytes = Message::Chat {
        from: p(1),
        text: CANARY.into(),
    }
    .encode();
    let view = MessageView::access(&bytes).unwrap();
    assert!(!format!("{view:?}").contains("CANARY"));
    let invite = Message::InviteCreated {
        session_id: sid(),
        customer_secret: CustomerSecret::new(CANARY),
    };
    let shown = format!("{invite:?}");
    assert!(!shown.contains("CANARY"), "{shown}");
    assert!(shown.contains("CustomerSecret(<18 bytes>)"), "{shown}");
}

#[test]
fn action_denials_and_invitations_refuse_unknown_codes_and_bad_secrets() {
    use super::messages::{WActionDenied, WInviteCreated};
    let denied = |action: u8, reason: u8| {
        raw(
            MessageKind::ActionDenied,
            &WActionDenied {
                agent: 2,
                action,
                target: Some(5),
                reason,
            },
        )
    };
    assert!(Message::decode(&denied(7, 10)).is_ok());
    for (action, reason, field, code) in [
        (0, 10, "ActionDenied.action", 0),
        (8, 10, "ActionDenied.action", 8),
        (4, 0, "ActionDenied.reason", 0),
        (4, 14, "ActionDenied.reason", 14),
        (4, 38, "ActionDenied.reason", 38),
    ] {
        assert_eq!(
            assert_rejected(&denied(action, reason)),
            ProtocolError::UnknownCode { field, code }
        );
    }
    let unassigned = raw(
        MessageKind::ActionDenied,
        &WActionDenied {
            agent: 2,
            action: 4,
            target: Some(0),
            reason: 10,
        },
    );
    assert_eq!(
        assert_rejected(&unassigned),
        ProtocolError::UnassignedWireId {
            field: "ActionDenied.target"
        }
    );
    let created = |secret: &str| {
        raw(
            MessageKind::InviteCreated,
            &WInviteCreated {
                session_id: sid().value(),
                customer_secret: secret.to_owned(),
            },
        )
    };
    assert!(Message::decode(&created("abc-DEF_123")).is_ok());
    let field = "InviteCreated.customer_secret";
    assert_eq!(
        assert_rejected(&created("")),
        ProtocolError::Empty { field }
    );
    assert_eq!(
        assert_rejected(&created("a b")),
        ProtocolError::BadCharacter { field }
    );
    assert_eq!(
        assert_rejected(&created(&"x".repeat(MAX_SECRET_BYTES + 1))),
        ProtocolError::TooLong {
            field,
            len: MAX_SECRET_BYTES + 1,
            max: MAX_SECRET_BYTES
        }
    );
}

#[test]
fn session_reasons_have_wire_forms() {
    use session::{AgentId, DenyReason as S};
    let mut codes: Vec<u8> = all_deny_reasons().into_iter().map(deny_code).collect();
    for r in all_deny_reasons() {
        assert_eq!(deny_from_code(deny_code(r)), Some(r));
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all_deny_reasons().len());
    for c in [0, 14, 31, 38, 255] {
        assert_eq!(deny_from_code(c), None, "{c}");
    }
    // One definition: the protocol's deny reason is the session's, codes pinned.
    assert_eq!(deny_code(S::FormsNotEditable), 7);
    assert_eq!(deny_code(S::WrongRole), 13);
    assert_eq!(deny_code(S::UnsafeUrl(UrlError::NotWeb)), 35);
    assert_eq!(
        EndReason::from(session::EndReason::AgentEnded(AgentId(7))),
        EndReason::AgentEnded
    );
    assert_eq!(
        EndReason::from(session::EndReason::NoAgentReturned),
        EndReason::AgentGone
    );
    assert_eq!(
        EndReason::from(session::EndReason::VendorBackend),
        EndReason::BackendEnded
    );
    // Ceilings and pause reasons are the session's own types.
    for c in [
        ControlCeiling::Full,
        ControlCeiling::Partial,
        ControlCeiling::None,
    ] {
        assert_eq!(
            ControlCeiling::check("c", &ControlCeiling::to_wire(&c)),
            Ok(())
        );
        assert_eq!(ControlCeiling::from_wire(&ControlCeiling::to_wire(&c)), c);
    }
    // Every URL the protocol accepts, the session rules accept.
    for m in samples() {
        let url = match &m {
            Message::Navigate {
                to: Navigation::Url(u),
            } => u,
            Message::SharedLink { url, .. } | Message::PageChanged { url } => url,
            _ => continue,
        };
        assert!(session::web_url_host(url).is_ok(), "{url}");
    }
}

#[test]
fn error_display_is_informative() {
    assert_eq!(
        ProtocolError::BadMagic.to_string(),
        "not a cobrowse message (bad magic)"
    );
    assert_eq!(
        ProtocolError::UnsupportedVersion(3).to_string(),
        "unsupported protocol version 3 (this build reads version 1)"
    );
    assert_eq!(
        ProtocolError::TooLong {
            field: "Chat.text",
            len: 5000,
            max: 4096
        }
        .to_string(),
        "Chat.text is 5000 bytes, over the limit of 4096"
    );
    let e: Box<dyn std::error::Error> = Box::new(ProtocolError::Truncated);
    assert_eq!(e.to_string(), "message truncated");
    assert_eq!(
        ProtocolError::Empty {
            field: "Frame.bytes"
        }
        .error_code(),
        ErrorCode::BadMessage
    );
}

#[test]
fn typical_messages_are_small() {
    let len = |m: Message| m.encode().len();
    let pointer = |target| Message::Pointer {
        from: p(2),
        x: 10.0,
        y: 20.0,
        target,
    };
    assert_eq!(len(pointer(Some(WireId(5)))), 24);
    assert_eq!(len(pointer(None)), 24);
    assert_eq!(len(Message::Ack { seq: 9 }), 15);
    assert_eq!(
        len(Message::Ping {
            nonce: 1,
            sent_at_ms: 2
        }),
        23
    );
    assert_eq!(encode_frame(&[0; 1000]).len(), 1000 + 15);
    let chat = |t: &str| {
        len(Message::Chat {
            from: p(1),
            text: t.into(),
        })
    };
    assert_eq!(chat("hello"), 19);
    assert_eq!(chat("Could you open the settings page?"), 19 + 33);
    assert_eq!(len(Message::ControlReturn), 7);
    assert_eq!(
        len(Message::AgentClick {
            target: WireId(1),
            x: 1.0,
            y: 2.0
        }),
        19
    );
}
