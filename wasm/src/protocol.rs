//! Protocol messages for JavaScript: `encodeMessage`, `decodeMessage` and `denialMessage`.
//!
//! A message is a plain object in the engine's object form (`cobrowse_engine::protocol`'s
//! `object_form` module; the exact shapes are listed in `bindings/web/README.md`):
//! `{ kind: "Chat", from: 2, text: "hi" }`. Both directions validate: an object that is not
//! a message, or a message the receiver would refuse (a 5000-byte chat text, a `javascript:`
//! URL, a wire id of 0), throws an `Error` whose text names the field and never holds its
//! contents.
//!
//! Numbers: ids, codes and coordinates are JavaScript numbers; the `u64` fields (`seq`,
//! `nonce`, `sent_at_ms`, `last_seq`, `have_seq`) are numbers too, so they must stay at or below
//! `Number.MAX_SAFE_INTEGER` (decoding a larger one throws).

use cobrowse_engine::protocol::{DenyReason, Message};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The serializer of every object handed to JavaScript: `Option::None` is `null` (not
/// `undefined`), byte fields are `Uint8Array`s, structs are plain objects.
pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsError> {
    let ser = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    v.serialize(&ser)
        .map_err(|e| JsError::new(&format!("cobrowse: {e}")))
}

/// The message of a plain object, validated as the receiver would (see the module docs).
pub(crate) fn message_from_js(msg: JsValue) -> Result<(Message, Vec<u8>), JsError> {
    let message: Message = serde_wasm_bindgen::from_value(msg)
        .map_err(|e| JsError::new(&format!("cobrowse: not a message: {e}")))?;
    let bytes = message
        .try_encode()
        .map_err(|e| JsError::new(&format!("cobrowse: invalid message: {e}")))?;
    Ok((message, bytes))
}

/// Encodes a message object (`{ kind: "Chat", from: 2, text: "hi" }`) to the bytes a
/// WebSocket sends. Throws when the object is not a valid message.
#[wasm_bindgen(js_name = encodeMessage)]
pub fn encode_message(msg: JsValue) -> Result<Vec<u8>, JsError> {
    message_from_js(msg).map(|(_, bytes)| bytes)
}

/// Decodes and validates the bytes of a message into its object. Throws on anything that is
/// not a valid message of this protocol version.
#[wasm_bindgen(js_name = decodeMessage)]
pub fn decode_message(bytes: &[u8]) -> Result<JsValue, JsError> {
    let message = Message::decode(bytes).map_err(|e| JsError::new(&format!("cobrowse: {e}")))?;
    to_js(&message)
}

/// The text to show for a refusal reason in its object form (`"ElementDisabled"`,
/// `{ UnsafeUrl: "NotWeb" }`): what an agent console shows for an `ActionDenied` or an
/// `Error { code: { PermissionDenied: reason } }` ("Forms cannot be edited on the agent side"
/// for `"FormsNotEditable"`).
#[wasm_bindgen(js_name = denialMessage)]
pub fn denial_message(reason: JsValue) -> Result<String, JsError> {
    let reason: DenyReason = serde_wasm_bindgen::from_value(reason)
        .map_err(|e| JsError::new(&format!("cobrowse: not a refusal reason: {e}")))?;
    Ok(reason.to_string())
}
