//! Protocol messages for JavaScript: `encodeMessage`, `decodeMessage` and `denialMessage`.
//!
//! A message is a plain object in the engine's object form (`cobrowse_engine::protocol`'s
//! `object_form` module; the exact shapes are listed in `bindings/web/README.md`):
//! `{ kind: "Chat", from: 2, text: "hi" }`. Both directions validate: an object that is not
//! a message, or a message the receiver would refuse (a 5000-byte chat text, a `javascript:`
//! URL, a wire id of 0), throws an `Error` whose text names the field and never holds its
//! contents.
//!
//! The customer's module (no `agent` feature) exports neither `encodeMessage` nor
//! `decodeMessage`: it validates bytes (`checkMessage`, every check of both), and its widget
//! reads and writes the bytes in JavaScript (`bindings/web/src/protocol-bytes.ts`, with the
//! object form's checks; the full module's functions are the reference its tests compare
//! with). Its `checkAgentAction` takes a message's bytes too (`permission.rs`). What reads
//! objects here is left there as plain functions for the crate's tests, for the agent actions
//! only (`ENCODED`), and is not in the built module.
//!
//! Numbers: ids, codes and coordinates are JavaScript numbers; the `u64` fields (`seq`,
//! `nonce`, `sent_at_ms`, `last_seq`, `have_seq`) are numbers too, so they must stay at or below
//! `Number.MAX_SAFE_INTEGER` (decoding a larger one throws).

use cobrowse_engine::protocol::{
    DenyReason, FromObject, KindSet, Message, ObjectForm, ObjectValue, ToObject,
};
#[cfg(not(feature = "agent"))]
use cobrowse_engine::protocol::{MessageKind, MessageView};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// A JavaScript value as the engine's object model (objects in, through
/// [`FromObject`]: serde's derived deserializer of a `kind`-tagged enum cost a
/// quarter of the module; see `cobrowse_engine::protocol`'s `object_form` module).
pub(crate) struct JsObjectValue(pub(crate) JsValue);

impl ObjectValue for JsObjectValue {
    fn get(&self, key: &str) -> Option<Self> {
        if !is_plain_object(&self.0) {
            return None;
        }
        let v = js_sys::Reflect::get(&self.0, &JsValue::from_str(key)).ok()?;
        (!v.is_undefined()).then_some(JsObjectValue(v))
    }

    fn keys(&self) -> Option<Vec<String>> {
        if !is_plain_object(&self.0) {
            return None;
        }
        let keys = js_sys::Object::keys(self.0.unchecked_ref::<js_sys::Object>());
        Some(keys.iter().filter_map(|k| k.as_string()).collect())
    }

    fn is_null(&self) -> bool {
        self.0.is_null()
    }

    fn as_number(&self) -> Option<f64> {
        self.0.as_f64()
    }

    fn as_string(&self) -> Option<String> {
        self.0.as_string()
    }

    fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }

    fn as_bytes(&self) -> Option<Vec<u8>> {
        if let Some(a) = self.0.dyn_ref::<js_sys::Uint8Array>() {
            return Some(a.to_vec());
        }
        let array = self.0.dyn_ref::<js_sys::Array>()?;
        array
            .iter()
            .map(|b| match b.as_f64() {
                Some(n) if n.fract() == 0.0 && (0.0..=255.0).contains(&n) => Some(n as u8),
                _ => None,
            })
            .collect()
    }
}

/// An object that is not an array, a byte array or a function (`null` is not an object).
fn is_plain_object(v: &JsValue) -> bool {
    v.is_object() && !js_sys::Array::is_array(v) && !v.is_instance_of::<js_sys::Uint8Array>()
}

/// Reads a `T` from its object form.
fn from_js<T: FromObject>(v: JsValue) -> Result<T, cobrowse_engine::protocol::ObjectFormError> {
    T::from_object(&JsObjectValue(v))
}

/// A value's object form as a JavaScript value: `None` is `null` (not `undefined`), byte
/// fields are `Uint8Array`s, structs are plain objects with their fields in order.
pub(crate) fn form_to_js(form: ObjectForm<'_>) -> JsValue {
    match form {
        ObjectForm::Null => JsValue::NULL,
        ObjectForm::Number(n) => JsValue::from_f64(n),
        ObjectForm::String(s) => JsValue::from_str(s),
        ObjectForm::Bool(b) => JsValue::from_bool(b),
        ObjectForm::Bytes(b) => js_sys::Uint8Array::from(b).into(),
        ObjectForm::Object(fields) => {
            let object = js_sys::Object::new();
            for (key, value) in fields {
                // Setting a data property of a fresh plain object cannot fail.
                let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), &form_to_js(value));
            }
            object.into()
        }
    }
}

/// The object form of `v` as a JavaScript value (see [`form_to_js`]).
pub(crate) fn to_js<T: ToObject + ?Sized>(v: &T) -> Result<JsValue, JsError> {
    v.to_object()
        .map(form_to_js)
        .map_err(|e| JsError::new(&format!("cobrowse: {e}")))
}

/// The agent actions `checkAgentAction` takes.
#[cfg(not(feature = "agent"))]
pub(crate) const AGENT_ACTIONS: KindSet = KindSet::of(&[
    MessageKind::Pointer,
    MessageKind::ClickRipple,
    MessageKind::Highlight,
    MessageKind::HighlightClear,
    MessageKind::Scroll,
    MessageKind::AgentClick,
    MessageKind::AgentInput,
    MessageKind::AgentSubmit,
    MessageKind::Navigate,
]);

/// The kinds this module reads from objects and encodes ([`message_from_js`]): every kind
/// in the full module.
#[cfg(feature = "agent")]
const ENCODED: KindSet = KindSet::ALL;

/// The kinds this module reads from objects and encodes ([`message_from_js`]): in the
/// customer's module (no `agent` feature), the agent actions, for the crate's tests only (no
/// export there reads message objects: the widget writes the messages it sends and the agent
/// actions it checks in JavaScript, `bindings/web/src/protocol-bytes.ts`, and the engine
/// validates the bytes, [`check_message`] and `checkAgentAction`).
#[cfg(not(feature = "agent"))]
const ENCODED: KindSet = AGENT_ACTIONS;

/// The message of a plain object, validated as the receiver would (see the module docs).
/// Only the kinds of [`ENCODED`].
pub(crate) fn message_from_js(msg: JsValue) -> Result<(Message, Vec<u8>), JsError> {
    let message = Message::from_object_among::<{ ENCODED.0 }, _>(&JsObjectValue(msg))
        .map_err(|e| JsError::new(&format!("cobrowse: not a message: {e}")))?;
    let bytes = message
        .try_encode_among::<{ ENCODED.0 }>()
        .map_err(|e| JsError::new(&format!("cobrowse: invalid message: {e}")))?;
    Ok((message, bytes))
}

/// Encodes a message object (`{ kind: "Chat", from: 2, text: "hi" }`) to the bytes a
/// WebSocket sends. Throws when the object is not a valid message.
///
/// Exported as `encodeMessage` by the full module only; in the customer's module (which reads
/// and encodes only [`ENCODED`]) a plain function for the crate's tests: the widget writes
/// messages in JavaScript and validates them with [`check_message`].
#[cfg_attr(feature = "agent", wasm_bindgen(js_name = encodeMessage))]
pub fn encode_message(msg: JsValue) -> Result<Vec<u8>, JsError> {
    message_from_js(msg).map(|(_, bytes)| bytes)
}

/// Decodes and validates the bytes of a message into its object. Throws on anything that is
/// not a valid message of this protocol version.
///
/// Exported as `decodeMessage` by the full module only. The customer's module exports
/// [`check_message`] instead, and the widget reads the validated bytes in JavaScript
/// (`bindings/web/src/protocol-bytes.ts`), so that the object form of messages
/// (`Message::to_object`, `MessageView::to_message`) is not in it; there this is a plain
/// function for the crate's tests.
#[cfg_attr(feature = "agent", wasm_bindgen(js_name = decodeMessage))]
pub fn decode_message(bytes: &[u8]) -> Result<JsValue, JsError> {
    let message = Message::decode(bytes).map_err(|e| JsError::new(&format!("cobrowse: {e}")))?;
    to_js(&message)
}

/// Validates the bytes of a message exactly as `decodeMessage` does (every check of
/// [`MessageView::access`]: length, magic, version, kind, the archive, every field), throwing
/// the same errors, and returns its kind's wire code. The customer's widget then reads the
/// fields in JavaScript (`bindings/web/src/protocol-bytes.ts`); it never reads bytes this
/// refused.
#[cfg(not(feature = "agent"))]
#[wasm_bindgen(js_name = checkMessage)]
pub fn check_message(bytes: &[u8]) -> Result<u8, JsError> {
    MessageView::access(bytes)
        .map(|view| view.kind().code())
        .map_err(|e| JsError::new(&format!("cobrowse: {e}")))
}

/// The text to show for a refusal reason in its object form (`"ElementDisabled"`,
/// `{ UnsafeUrl: "NotWeb" }`): what an agent console shows for an `ActionDenied` or an
/// `Error { code: { PermissionDenied: reason } }` ("Forms cannot be edited on the agent side"
/// for `"FormsNotEditable"`).
#[wasm_bindgen(js_name = denialMessage)]
pub fn denial_message(reason: JsValue) -> Result<String, JsError> {
    let reason: DenyReason = from_js(reason)
        .map_err(|e| JsError::new(&format!("cobrowse: not a refusal reason: {e}")))?;
    Ok(reason.to_string())
}
