//! Protocol messages and the customer side's permission check in a real browser
//! (wasm-bindgen-test in headless Chromium, like `web.rs`): `encodeMessage` / `decodeMessage`
//! round trips of every message kind, the exact object shapes JavaScript sees, and
//! `CaptureEngine.checkAgentAction` against a live page.
#![cfg(target_arch = "wasm32")]

use cobrowse_engine::WireId;
use cobrowse_engine::capture_batch::*;
use cobrowse_engine::protocol::*;
use cobrowse_engine::session::{ActionKind, ControlCeiling, PauseReason, SessionId, UrlError};
use cobrowse_wasm::CaptureEngine;
use cobrowse_wasm::protocol::{decode_message, denial_message, encode_message};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod support;
use support::Enc;

wasm_bindgen_test_configure!(run_in_browser);

fn p(n: u32) -> ParticipantId {
    ParticipantId(n)
}

fn sid() -> SessionId {
    SessionId::new(123_456_789).unwrap()
}

fn client() -> ClientInfo {
    ClientInfo {
        browser: "Firefox".into(),
        browser_version: "128.0".into(),
        os: "Windows 11".into(),
        client_version: "0.1.0".into(),
    }
}

/// At least one message of every kind, and the data variants of their fields.
fn every_kind() -> Vec<Message> {
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
                participant_id: p(2),
                token,
                last_seq: Some(41),
            }),
        },
        Message::Join {
            session_id: sid(),
            token: AuthToken::new("a.b.c"),
        },
        Message::Joined {
            session_id: sid(),
            participant_id: p(2),
            participants: 2,
            role: Role::Agent,
            mode: Mode::Control(p(2)),
            ceiling: ControlCeiling::Full,
            paused: false,
            resume_token: token,
            customer: Some(client()),
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
            reason: PauseReason::CustomerStoppedSharing,
        },
        Message::Resume,
        Message::End {
            reason: EndReason::AgentEnded,
        },
        Message::Error {
            code: ErrorCode::PermissionDenied(DenyReason::UnsafeUrl(UrlError::NotWeb)),
            message: "refused".into(),
        },
        Message::Error {
            code: ErrorCode::SessionFull,
            message: String::new(),
        },
        Message::Connection {
            participant_id: p(1),
            connected: false,
        },
        Message::Invite {
            token: AuthToken::new("a.b.c"),
        },
        Message::InviteCreated {
            session_id: sid(),
            customer_secret: CustomerSecret::new("s3cr3t-_"),
        },
        Message::Invitation { agent: p(2) },
        Message::InviteAccept,
        Message::InviteDecline,
        Message::ControlRequest { agent: p(2) },
        Message::ControlApprove { agent: p(2) },
        Message::ControlDecline { agent: p(2) },
        Message::ControlRevoke,
        Message::ControlReturn,
        Message::ModeChanged {
            mode: Mode::Pointer,
            ceiling: ControlCeiling::None,
        },
        Message::Pointer {
            from: p(1),
            x: 10.5,
            y: -3.25,
            target: Some(WireId(42)),
        },
        Message::ClickRipple {
            from: p(2),
            x: 1.0,
            y: 2.0,
            target: None,
        },
        Message::Highlight {
            from: p(2),
            id: 1,
            target: WireId(7),
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
        Message::Viewport {
            width: 1280,
            height: 720,
        },
        Message::PageChanged {
            url: "https://shop.example.com/cart".into(),
        },
        Message::Navigate {
            to: Navigation::Url("https://example.com/a?b=c".into()),
        },
        Message::Navigate {
            to: Navigation::Back,
        },
        Message::AgentInput {
            target: WireId(12),
            value: "Jane\nDoe".into(),
        },
        Message::AgentClick {
            target: WireId(13),
            x: 4.0,
            y: 5.0,
        },
        Message::AgentSubmit { target: WireId(14) },
        Message::ActionDenied {
            agent: p(2),
            action: ActionKind::Submit,
            target: Some(WireId(14)),
            reason: DenyReason::ElementDisabled,
        },
        Message::Chat {
            from: p(1),
            text: "hello ✓".into(),
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
            nonce: 9_007_199_254_740_991,
            sent_at_ms: 0,
        },
        Message::Latency {
            participant_id: ParticipantId(1),
            rtt_ms: 37,
        },
        Message::Frame {
            bytes: b"CBF1 opaque here".to_vec(),
        },
        Message::Ack { seq: 42 },
        Message::KeyframeRequest { have_seq: None },
    ]
}

fn parse(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn stringify(v: &JsValue) -> String {
    js_sys::JSON::stringify(v).unwrap().as_string().unwrap()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn error_text(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    v.dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default()
}

#[wasm_bindgen_test]
fn every_kind_round_trips_through_its_object_form() {
    let messages = every_kind();
    let mut kinds: Vec<MessageKind> = messages.iter().map(Message::kind).collect();
    kinds.sort_by_key(|k| k.code());
    kinds.dedup();
    assert_eq!(kinds, MessageKind::ALL, "a kind has no message here");
    for m in messages {
        let bytes = m.encode();
        let object = decode_message(&bytes).unwrap_or_else(|_| panic!("{:?}", m.kind()));
        assert_eq!(
            get(&object, "kind").as_string().as_deref(),
            Some(m.kind().name())
        );
        if !encoded_here(m.kind()) {
            // The customer's module decodes every kind but encodes only its own.
            let text = error_text(encode_message(object).unwrap_err());
            assert_eq!(
                text,
                "cobrowse: not a message: a message of a kind this build does not encode",
                "{:?}",
                m.kind()
            );
            continue;
        }
        let again = encode_message(object).unwrap_or_else(|e| {
            panic!("{:?}: {}", m.kind(), error_text(e));
        });
        assert_eq!(again, bytes, "{:?}", m.kind());
    }
}

/// Whether this module encodes `kind`: every kind in the full module; in the customer's (no
/// `agent` feature: `cargo test -p cobrowse-wasm --target wasm32-unknown-unknown
/// --no-default-features --test protocol`) the agent actions that `checkAgentAction` takes
/// (its widget writes what it sends in JavaScript: bindings/web/test/protocol-bytes.test.mjs).
fn encoded_here(kind: MessageKind) -> bool {
    use MessageKind::*;
    cfg!(feature = "agent")
        || matches!(
            kind,
            Pointer
                | ClickRipple
                | Highlight
                | HighlightClear
                | Scroll
                | AgentClick
                | AgentInput
                | AgentSubmit
                | Navigate
        )
}

#[wasm_bindgen_test]
fn objects_have_the_documented_shapes() {
    let shape = |m: Message| stringify(&decode_message(&m.encode()).unwrap());
    assert_eq!(
        shape(Message::Chat {
            from: p(2),
            text: "hi".into()
        }),
        r#"{"kind":"Chat","from":2,"text":"hi"}"#
    );
    assert_eq!(shape(Message::Resume), r#"{"kind":"Resume"}"#);
    assert_eq!(
        shape(Message::Pointer {
            from: p(1),
            x: 1.5,
            y: 2.0,
            target: None
        }),
        r#"{"kind":"Pointer","from":1,"x":1.5,"y":2,"target":null}"#
    );
    assert_eq!(
        shape(Message::ModeChanged {
            mode: Mode::Control(p(3)),
            ceiling: ControlCeiling::Partial
        }),
        r#"{"kind":"ModeChanged","mode":{"Control":3},"ceiling":"Partial"}"#
    );
    assert_eq!(
        shape(Message::Navigate {
            to: Navigation::Url("https://example.com/".into())
        }),
        r#"{"kind":"Navigate","to":{"Url":"https://example.com/"}}"#
    );
    assert_eq!(
        shape(Message::Navigate {
            to: Navigation::Reload
        }),
        r#"{"kind":"Navigate","to":"Reload"}"#
    );
    assert_eq!(
        shape(Message::Error {
            code: ErrorCode::PermissionDenied(DenyReason::FormsNotEditable),
            message: "x".into()
        }),
        r#"{"kind":"Error","code":{"PermissionDenied":"FormsNotEditable"},"message":"x"}"#
    );
    assert_eq!(
        shape(Message::ActionDenied {
            agent: p(2),
            action: ActionKind::Input,
            target: Some(WireId(5)),
            reason: DenyReason::MaskedField
        }),
        r#"{"kind":"ActionDenied","agent":2,"action":"Input","target":5,"reason":"MaskedField"}"#
    );
    assert_eq!(
        shape(Message::HighlightClear {
            from: p(2),
            which: HighlightScope::All
        }),
        r#"{"kind":"HighlightClear","from":2,"which":"All"}"#
    );
    // Byte fields are Uint8Arrays.
    let frame = decode_message(&encode_frame(&[1, 2, 3])).unwrap();
    let bytes = get(&frame, "bytes");
    assert!(bytes.is_instance_of::<js_sys::Uint8Array>());
    assert_eq!(js_sys::Uint8Array::from(bytes).to_vec(), vec![1, 2, 3]);
    let joined = decode_message(&every_kind()[3].encode()).unwrap();
    assert!(get(&joined, "resume_token").is_instance_of::<js_sys::Uint8Array>());
    assert_eq!(
        stringify(&get(&joined, "customer")),
        r#"{"browser":"Firefox","browser_version":"128.0","os":"Windows 11","client_version":"0.1.0"}"#
    );
}

// The full module's encoder (the customer's module encodes only agent actions; its widget's
// JavaScript encoder is compared with this one in bindings/web/test/protocol-bytes.test.mjs).
#[cfg(feature = "agent")]
#[wasm_bindgen_test]
fn objects_written_by_hand_encode_and_options_may_be_left_out() {
    let bytes = encode_message(parse(r#"{"kind":"Pointer","from":2,"x":3,"y":4}"#)).unwrap();
    assert_eq!(
        Message::decode(&bytes).unwrap(),
        Message::Pointer {
            from: p(2),
            x: 3.0,
            y: 4.0,
            target: None
        }
    );
    let hello = parse(
        r#"{"kind":"Hello","role":"Customer","client":{"browser":"Chromium"},"resume":null}"#,
    );
    assert_eq!(
        Message::decode(&encode_message(hello).unwrap()).unwrap(),
        Message::Hello {
            role: Role::Customer,
            client: ClientInfo {
                browser: "Chromium".into(),
                ..ClientInfo::default()
            },
            resume: None
        }
    );
    // A frame from a Uint8Array.
    let frame = js_sys::Object::new();
    js_sys::Reflect::set(&frame, &"kind".into(), &"Frame".into()).unwrap();
    let data = js_sys::Uint8Array::from(&[7u8, 8, 9][..]);
    js_sys::Reflect::set(&frame, &"bytes".into(), &data).unwrap();
    assert_eq!(
        encode_message(frame.into()).unwrap(),
        encode_frame(&[7, 8, 9])
    );
}

// The full module's encoder (the customer's module encodes only agent actions; its widget's
// JavaScript encoder is compared with this one in bindings/web/test/protocol-bytes.test.mjs).
#[cfg(feature = "agent")]
#[wasm_bindgen_test]
fn what_is_not_a_valid_message_throws_without_echoing_it() {
    for (json, says) in [
        (r#"{"kind":"Nope"}"#, "not a message"),
        (r#"{"kind":"Chat","from":1}"#, "not a message"),
        (
            r#"{"kind":"Chat","from":1,"text":"a","tx":2}"#,
            "not a message",
        ),
        (
            r#"{"kind":"Join","session_id":12,"token":"t"}"#,
            "not a message",
        ),
        (
            r#"{"kind":"Navigate","to":{"Url":"javascript:alert('SECRET')"}}"#,
            "Navigate.to",
        ),
        (
            r#"{"kind":"AgentClick","target":0,"x":1,"y":1}"#,
            "AgentClick.target",
        ),
        (r#"{"kind":"Frame","bytes":[]}"#, "Frame.bytes is empty"),
    ] {
        let text = error_text(encode_message(parse(json)).unwrap_err());
        assert!(text.contains(says), "{json}: {text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
    let long = format!(
        r#"{{"kind":"Chat","from":1,"text":"{}"}}"#,
        "SECRET".repeat(1000)
    );
    let text = error_text(encode_message(parse(&long)).unwrap_err());
    assert!(text.contains("Chat.text is 6000 bytes"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(decode_message(b"CBM1 garbage").is_err());
    let mut truncated = Message::Resume.encode();
    truncated.pop();
    assert!(decode_message(&truncated).is_err());
    assert!(decode_message(&Message::Ack { seq: u64::MAX }.encode()).is_err());
}

/// The customer's module validates without reading (`checkMessage`; the widget reads in
/// JavaScript, bindings/web/test/protocol-bytes.test.mjs compares): the kind's code for every
/// valid message, and exactly `decodeMessage`'s refusals for the others.
#[cfg(not(feature = "agent"))]
#[wasm_bindgen_test]
fn check_message_accepts_and_refuses_what_decode_message_does() {
    use cobrowse_wasm::protocol::check_message;
    for m in every_kind() {
        let bytes = m.encode();
        let decoded = decode_message(&bytes).map(|_| ()).map_err(error_text);
        match check_message(&bytes) {
            // Two samples hold a u64 above Number.MAX_SAFE_INTEGER: valid bytes that only the
            // object form refuses.
            Ok(code) => {
                assert_eq!(code, m.kind().code());
                if let Err(text) = decoded {
                    assert!(text.contains("MAX_SAFE_INTEGER"), "{text}");
                }
            }
            Err(e) => panic!("{:?}: {}", m.kind(), error_text(e)),
        }
        let mut truncated = bytes.clone();
        truncated.pop();
        let mut flipped = bytes.clone();
        flipped[6] = 0xEE; // no such kind
        for bad in [truncated, flipped, b"CBM1 garbage".to_vec()] {
            let want = decode_message(&bad).map(|_| ()).map_err(error_text);
            let got = check_message(&bad).map(|_| ()).map_err(error_text);
            if want.is_err() {
                assert_eq!(got, want, "{:?}", m.kind());
            }
        }
    }
    assert_eq!(
        check_message(b"CBM1 garbage").map_err(error_text),
        Err("cobrowse: unsupported protocol version 26400 (this build reads version 1)".to_owned())
    );
}

#[wasm_bindgen_test]
fn denial_messages_are_the_rules_texts() {
    assert_eq!(
        denial_message("FormsNotEditable".into()).unwrap(),
        "Forms cannot be edited on the agent side"
    );
    assert_eq!(
        denial_message("ElementDisabled".into()).unwrap(),
        "This element is disabled for agents"
    );
    assert!(denial_message("Nope".into()).is_err());
}

// --- The permission check against a live page.

/// Handles of the page below.
const NAME: u32 = 5;
const PASSWORD: u32 = 6;
const SUBMIT: u32 = 7;
const SUBMIT_LABEL: u32 = 8;
const LINK: u32 = 10;
const CARD: u32 = 12;

/// doc > html > body > (form > (input#name, input[type=password], button[type=submit] > span >
/// "Go", a[href] > "x", input.card), p)
fn live_page() -> CaptureEngine {
    let mut e = Enc::default();
    e.u(OP_BIND_DOCUMENT).u(1);
    e.el(2, "html", &[]).el(3, "body", &[]).el(4, "form", &[]);
    e.el(NAME, "input", &[("id", "name")]);
    e.el(PASSWORD, "input", &[("type", "password")]);
    e.el(SUBMIT, "button", &[("type", "submit")]);
    e.el(SUBMIT_LABEL, "span", &[]).u(OP_TEXT).u(9).s("Go");
    e.el(LINK, "a", &[("href", "https://bank.example.com/help")])
        .u(OP_TEXT)
        .u(11)
        .s("x");
    e.el(CARD, "input", &[("class", "card")]);
    e.el(13, "p", &[]);
    e.kids(1, &[2]).kids(2, &[3]).kids(3, &[4, 13]);
    e.kids(4, &[NAME, PASSWORD, SUBMIT, LINK, CARD]);
    e.kids(SUBMIT, &[SUBMIT_LABEL])
        .kids(SUBMIT_LABEL, &[9])
        .kids(LINK, &[11]);
    let rules = parse(r#"{"mask":{"selectors":[".card"]}}"#);
    let mut engine = CaptureEngine::new(rules).unwrap();
    engine.keyframe(&e.ops, &e.text).unwrap();
    engine
}

fn ctx(ceiling: &str, in_control: bool) -> JsValue {
    parse(&format!(
        r#"{{"ceiling":"{ceiling}","inControl":{in_control},"allowedDomains":["*.example.com"]}}"#
    ))
}

/// What `checkAgentAction` takes for `msg`: its object in the full module, its bytes in the
/// customer's (whose widget writes them: bindings/web/src/wasm-customer.ts).
#[cfg(feature = "agent")]
fn action(msg: &Message) -> JsValue {
    decode_message(&msg.encode()).unwrap()
}

/// What `checkAgentAction` takes for `msg`: its object in the full module, its bytes in the
/// customer's (whose widget writes them: bindings/web/src/wasm-customer.ts).
#[cfg(not(feature = "agent"))]
fn action(msg: &Message) -> Vec<u8> {
    msg.encode()
}

/// The check's result as JSON text.
fn check(engine: &CaptureEngine, msg: Message, ctx: JsValue) -> String {
    stringify(&engine.check_agent_action(action(&msg), ctx).unwrap())
}

fn wire(engine: &CaptureEngine, handle: u32) -> WireId {
    let w = engine.wire_id_of_handle(handle);
    assert_ne!(w, 0, "handle {handle} has no wire id");
    assert_eq!(engine.handle_of_wire_id(w), handle);
    WireId(w)
}

fn denied(reason: &str, message: &str, kind: &str, target: Option<WireId>) -> String {
    let target = target.map_or("null".to_owned(), |w| w.0.to_string());
    format!(
        r#"{{"allowed":false,"reason":"{reason}","message":"{message}","kind":"{kind}","target":{target}}}"#
    )
}

fn allowed(action: &str, kind: &str) -> String {
    format!(r#"{{"allowed":true,"action":"{action}","kind":"{kind}"}}"#)
}

#[wasm_bindgen_test]
fn submit_buttons_are_disabled_for_agents_and_so_is_what_is_inside_them() {
    let engine = live_page();
    let submit = wire(&engine, SUBMIT);
    let inside = wire(&engine, SUBMIT_LABEL);
    assert_eq!(
        check(
            &engine,
            Message::AgentSubmit { target: submit },
            ctx("full", true)
        ),
        denied(
            "ElementDisabled",
            "This element is disabled for agents",
            "Submit",
            Some(submit)
        )
    );
    let click = Message::AgentClick {
        target: inside,
        x: 1.0,
        y: 1.0,
    };
    assert_eq!(
        check(&engine, click.clone(), ctx("full", true)),
        denied(
            "ElementDisabled",
            "This element is disabled for agents",
            "Click",
            Some(inside)
        )
    );
    // In pointer mode the same click is only a ripple.
    assert_eq!(
        check(&engine, click, ctx("Full", false)),
        allowed("ShowRipple", "Click")
    );
}

#[wasm_bindgen_test]
fn full_control_replays_input_clicks_and_navigation_inside_the_allowed_domains() {
    let engine = live_page();
    let name = wire(&engine, NAME);
    let link = wire(&engine, LINK);
    assert_eq!(
        check(
            &engine,
            Message::AgentInput {
                target: name,
                value: "Jane".into()
            },
            ctx("full", true)
        ),
        allowed("Replay", "Input")
    );
    assert_eq!(
        check(
            &engine,
            Message::AgentClick {
                target: link,
                x: 0.0,
                y: 0.0
            },
            ctx("full", true)
        ),
        allowed("Replay", "Click")
    );
    assert_eq!(
        check(
            &engine,
            Message::Navigate {
                to: Navigation::Url("https://www.example.com/loan".into())
            },
            ctx("full", true)
        ),
        allowed("Replay", "Navigate")
    );
    assert_eq!(
        check(
            &engine,
            Message::Navigate {
                to: Navigation::Url("https://evil.test/".into())
            },
            ctx("full", true)
        ),
        denied(
            "OutsideAllowedDomains",
            "This address is outside the allowed domains",
            "Navigate",
            None
        )
    );
    assert_eq!(
        check(
            &engine,
            Message::AgentClick {
                target: WireId(99_999),
                x: 0.0,
                y: 0.0
            },
            ctx("full", true)
        ),
        denied(
            "TargetMissing",
            "The element is no longer on the page",
            "Click",
            Some(WireId(99_999))
        )
    );
}

#[wasm_bindgen_test]
fn partial_control_forbids_form_input_but_not_links() {
    let engine = live_page();
    let name = wire(&engine, NAME);
    let forms = "Forms cannot be edited on the agent side";
    assert_eq!(
        check(
            &engine,
            Message::AgentInput {
                target: name,
                value: "Jane".into()
            },
            ctx("partial", true)
        ),
        denied("FormsNotEditable", forms, "Input", Some(name))
    );
    assert_eq!(
        check(
            &engine,
            Message::AgentClick {
                target: name,
                x: 0.0,
                y: 0.0
            },
            ctx("partial", true)
        ),
        denied("FormsNotEditable", forms, "Click", Some(name))
    );
    let link = wire(&engine, LINK);
    assert_eq!(
        check(
            &engine,
            Message::AgentClick {
                target: link,
                x: 0.0,
                y: 0.0
            },
            ctx("partial", true)
        ),
        allowed("Replay", "Click")
    );
}

#[wasm_bindgen_test]
fn no_control_allows_only_pointer_and_highlight() {
    let engine = live_page();
    let name = wire(&engine, NAME);
    let none = || ctx("none", true);
    assert_eq!(
        check(
            &engine,
            Message::Pointer {
                from: p(2),
                x: 1.0,
                y: 1.0,
                target: None
            },
            none()
        ),
        allowed("ShowPointer", "Pointer")
    );
    assert_eq!(
        check(
            &engine,
            Message::Highlight {
                from: p(2),
                id: 1,
                target: name,
                rect: None,
                color: None
            },
            none()
        ),
        allowed("Highlight", "Highlight")
    );
    assert_eq!(
        check(
            &engine,
            Message::AgentClick {
                target: name,
                x: 0.0,
                y: 0.0
            },
            none()
        ),
        allowed("ShowRipple", "Click")
    );
    let view_only = "This session is view only";
    assert_eq!(
        check(
            &engine,
            Message::AgentInput {
                target: name,
                value: "x".into()
            },
            none()
        ),
        denied("ControlNotPermitted", view_only, "Input", Some(name))
    );
    assert_eq!(
        check(
            &engine,
            Message::Scroll {
                target: None,
                x: 0.0,
                y: 10.0
            },
            none()
        ),
        denied("ControlNotPermitted", view_only, "Scroll", None)
    );
    assert_eq!(
        check(
            &engine,
            Message::Navigate {
                to: Navigation::Reload
            },
            none()
        ),
        denied("ControlNotPermitted", view_only, "Navigate", None)
    );
}

#[wasm_bindgen_test]
fn masked_fields_refuse_agent_input() {
    let engine = live_page();
    let hidden = "This field is hidden from agents";
    for handle in [PASSWORD, CARD] {
        let target = wire(&engine, handle);
        assert_eq!(
            check(
                &engine,
                Message::AgentInput {
                    target,
                    value: "4111".into()
                },
                ctx("full", true)
            ),
            denied("MaskedField", hidden, "Input", Some(target))
        );
    }
}

#[wasm_bindgen_test]
fn what_is_no_agent_action_or_no_context_throws() {
    let engine = live_page();
    let chat = action(&Message::Chat {
        from: p(2),
        text: "hi".into(),
    });
    let text = error_text(
        engine
            .check_agent_action(chat, ctx("full", true))
            .unwrap_err(),
    );
    assert!(
        text.contains("Chat message is not an agent action"),
        "{text}"
    );
    // The customer's module takes bytes: what is not a valid message is refused as the full
    // module refuses an object whose encoding is not.
    #[cfg(not(feature = "agent"))]
    {
        let mut cut = action(&Message::AgentSubmit { target: WireId(3) });
        cut.pop();
        let text = error_text(
            engine
                .check_agent_action(cut, ctx("full", true))
                .unwrap_err(),
        );
        assert!(text.starts_with("cobrowse: invalid message: "), "{text}");
        let zero = action(&Message::AgentSubmit { target: WireId(0) });
        let text = error_text(
            engine
                .check_agent_action(zero, ctx("full", true))
                .unwrap_err(),
        );
        assert!(text.contains("AgentSubmit.target"), "{text}");
    }
    let submit = || action(&Message::AgentSubmit { target: WireId(3) });
    for bad in [
        r#"{"ceiling":"most","inControl":true}"#,
        r#"{"ceiling":"full"}"#,
        r#"{"ceiling":"full","inControl":true,"other":1}"#,
        r#"{"ceiling":"full","inControl":true,"allowedDomains":["bad domain"]}"#,
    ] {
        assert!(
            engine.check_agent_action(submit(), parse(bad)).is_err(),
            "{bad}"
        );
    }
    // Before any keyframe every target is missing.
    let fresh = CaptureEngine::new(JsValue::UNDEFINED).unwrap();
    assert_eq!(
        stringify(
            &fresh
                .check_agent_action(submit(), parse(r#"{"ceiling":"full","inControl":true}"#))
                .unwrap()
        ),
        denied(
            "TargetMissing",
            "The element is no longer on the page",
            "Submit",
            Some(WireId(3))
        )
    );
}
