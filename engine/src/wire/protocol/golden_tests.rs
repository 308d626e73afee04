//! Golden bytes: the exact encoding of one message of every kind (and of every optional field
//! both present and absent, and strings both inline and out of line), pinned from the encoder
//! as it was before the protocol module was split. A change here is a wire-format change: it
//! needs a new [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION).

use super::*;
use crate::dom::tree::WireId;
use crate::session::{ControlCeiling, PauseReason, SessionId, UrlError};

fn p(n: u32) -> ParticipantId {
    ParticipantId(n)
}

fn client() -> ClientInfo {
    ClientInfo {
        browser: "Firefox".into(),
        browser_version: "128.0.3".into(),
        os: "Windows 11".into(),
        client_version: "0.1.0".into(),
    }
}

fn sid() -> SessionId {
    SessionId::new(123_456_789).unwrap()
}

/// One message of every kind, with the variants of their fields.
pub(super) fn golden_messages() -> Vec<Message> {
    let token = ResumeToken(*b"0123456789abcdef");
    vec![
        Message::Hello {
            role: Role::Customer,
            client: client(),
            resume: None,
        },
        Message::Hello {
            role: Role::Agent,
            client: ClientInfo::default(),
            resume: Some(Reconnect {
                session_id: sid(),
                participant_id: p(7),
                token,
                last_seq: Some(41),
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
            resume_token: token,
            customer: Some(client()),
        },
        Message::Joined {
            session_id: sid(),
            participant_id: p(1),
            participants: 1,
            role: Role::Customer,
            mode: Mode::Control(p(3)),
            ceiling: ControlCeiling::Partial,
            paused: true,
            resume_token: token,
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
        Message::Pause {
            reason: PauseReason::OutsideAllowedDomains,
        },
        Message::Resume,
        Message::End {
            reason: EndReason::NoAgentJoined,
        },
        Message::Error {
            code: ErrorCode::PermissionDenied(DenyReason::UnsafeUrl(UrlError::InvalidHost)),
            message: "element is disabled for agents".into(),
        },
        Message::Error {
            code: ErrorCode::RateLimited,
            message: "slow".into(),
        },
        Message::Connection {
            participant_id: p(1),
            connected: true,
        },
        Message::ControlRequest { agent: p(2) },
        Message::ControlApprove { agent: p(3) },
        Message::ControlDecline { agent: p(4) },
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
        Message::ControlRevoke,
        Message::ControlReturn,
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
            x: 1.0,
            y: 2.0,
            target: None,
        },
        Message::ClickRipple {
            from: p(2),
            x: 1.0,
            y: 2.0,
            target: Some(WireId(9)),
        },
        Message::Highlight {
            from: p(2),
            id: 1,
            target: WireId(77),
            rect: Some(Rect {
                x: 1.0,
                y: 2.0,
                width: 30.0,
                height: 0.5,
            }),
            color: Some(Color {
                r: 255,
                g: 0,
                b: 1,
                a: 128,
            }),
        },
        Message::Highlight {
            from: p(2),
            id: 5,
            target: WireId(6),
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
            target: Some(WireId(5)),
            x: -20.0,
            y: 1200.0,
        },
        Message::Viewport {
            width: 1280,
            height: 720,
        },
        Message::PageChanged {
            url: "https://shop.example.com/cart?item=3".into(),
        },
        Message::Navigate {
            to: Navigation::Url("https://example.com/a?b=c#d".into()),
        },
        Message::Navigate {
            to: Navigation::Reload,
        },
        Message::AgentInput {
            target: WireId(12),
            value: "Jane\nDoe\té".into(),
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
            text: "Can you click the blue button? ✓".into(),
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
            participant_id: p(1),
            rtt_ms: 37,
        },
        Message::Frame {
            bytes: b"CBF1 not really a frame".to_vec(),
        },
        Message::Ack { seq: 42 },
        Message::KeyframeRequest { have_seq: None },
        Message::KeyframeRequest {
            have_seq: Some(0x0102_0304_0506_0708),
        },
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prints the table below from the current encoder:
/// `cargo test -p cobrowse-engine --lib golden -- --ignored --nocapture`.
#[test]
#[ignore = "prints the golden table; run by hand after a deliberate wire change"]
fn print_golden_bytes() {
    for m in golden_messages() {
        println!("    \"{}\",", hex(&m.encode()));
    }
}

const GOLDEN: &[&str] = &[
    "43424d3101000157696e646f77732031310146697265666f78ff3132382e302e33ff8a000000e5ffffff302e312e30ffffff00000000000000000000000000000000000000000000000000000000000000000000",
    "43424d3101000102ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0115cd5b070700000030313233343536373839616263646566012900000000000000",
    "43424d3101000265794a68624763694f694a49557a49314e694a392e6533302e61626315cd5b079c000000e0ffffff",
    "43424d3101000357696e646f777320313115cd5b070200000002000200000000000100303132333435363738396162636465660146697265666f78ff3132382e302e33ff8a000000c3ffffff302e312e30ffffff",
    "43424d3101000315cd5b07010000000100010103000000020130313233343536373839616263646566000000000000000000000000000000000000000000000000000000000000000000",
    "43424d3101000403000000020300",
    "43424d31010005030000000200",
    "43424d3101000602",
    "43424d31010007",
    "43424d310100080b",
    "43424d31010009656c656d656e742069732064697361626c656420666f72206167656e74730a259e000000e0ffffff",
    "43424d310100090900736c6f77ffffffff",
    "43424d3101000a0100000001",
    "43424d3101001002000000",
    "43424d3101001103000000",
    "43424d3101001204000000",
    "43424d3101000b65794a68624763694f694a49557a49314e694a392e6533302e6162639c000000e4ffffff",
    "43424d3101000c6332566a636d56304c584e6c59334a6c6443317a5a574e795a5851746332566a636d56304c584e6c59334915cd5b07ab000000d1ffffff",
    "43424d3101000d02000000",
    "43424d3101000e",
    "43424d3101000f",
    "43424d310100340200000007010e0000000a",
    "43424d310100340300000006000000000023",
    "43424d31010013",
    "43424d31010014",
    "43424d31010015010200000001",
    "43424d31010015000000000003",
    "43424d310100200200000000002841000050c0012a000000",
    "43424d31010020010000000000803f000000400000000000",
    "43424d31010021020000000000803f000000400109000000",
    "43424d3101002202000000010000004d000000010000803f000000400000f0410000003f01ff000180",
    "43424d3101002202000000050000000600000000000000000000000000000000000000000000000000",
    "43424d31010023020000000101000000",
    "43424d31010023020000000000000000",
    "43424d3101002401050000000000a0c100009644",
    "43424d3101002500050000d0020000",
    "43424d3101002668747470733a2f2f73686f702e6578616d706c652e636f6d2f636172743f6974656d3d33a4000000dcffffff",
    "43424d3101003068747470733a2f2f6578616d706c652e636f6d2f613f623d632364019b000000e4ffffff",
    "43424d3101003004ffffffffffffffff",
    "43424d310100314a616e650a446f6509c3a90c0000008b000000f1ffffff",
    "43424d310100320d000000000080400000a040",
    "43424d310100330e000000",
    "43424d310100400100000068656c6c6fffffff",
    "43424d3101004043616e20796f7520636c69636b2074686520626c756520627574746f6e3f20e29c9302000000a2000000daffffff",
    "43424d3101004168747470733a2f2f6578616d706c652e636f6d2f6d616e75616c2e706466546865206d616e75616c020000009e000000d4ffffff8a000000eaffffff",
    "43424d3101005001000000000000000068e5cf8b010000",
    "43424d31010051ffffffffffffffff0000000000000000",
    "43424d310100520100000025000000",
    "43424d3101006043424631206e6f74207265616c6c792061206672616d65e9ffffff17000000",
    "43424d310100612a00000000000000",
    "43424d31010062000000000000000000",
    "43424d31010062010807060504030201",
];

#[test]
fn to_message_among_reads_the_kinds_of_its_set_and_no_other() {
    const CHAT_AND_CLICK: u128 = KindSet::of(&[MessageKind::Chat, MessageKind::AgentClick]).0;
    for m in golden_messages() {
        let bytes = m.encode();
        let view = MessageView::access(&bytes).unwrap();
        let among = matches!(m.kind(), MessageKind::Chat | MessageKind::AgentClick);
        assert_eq!(
            view.to_message_among::<CHAT_AND_CLICK>(),
            among.then(|| m.clone()),
            "{:?}",
            m.kind()
        );
        assert_eq!(
            view.to_message_among::<{ KindSet::ALL.0 }>(),
            Some(m.clone())
        );
        assert_eq!(view.to_message_among::<{ KindSet::EMPTY.0 }>(), None);
    }
}

#[test]
fn encoded_bytes_match_the_golden_table() {
    let messages = golden_messages();
    let mut kinds: Vec<MessageKind> = messages.iter().map(Message::kind).collect();
    kinds.sort_by_key(|k| k.code());
    kinds.dedup();
    assert_eq!(kinds, MessageKind::ALL, "a kind has no golden message");
    assert_eq!(messages.len(), GOLDEN.len());
    for (m, want) in messages.iter().zip(GOLDEN) {
        let bytes = m.encode();
        assert_eq!(hex(&bytes), *want, "{:?}", m.kind());
        // And the pinned bytes decode to the message.
        assert_eq!(Message::decode(&bytes).as_ref(), Ok(m), "{:?}", m.kind());
    }
}
