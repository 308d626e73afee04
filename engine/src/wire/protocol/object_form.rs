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
//! Two directions, two mechanisms:
//! - To objects: [`ToObject`] (`Message::to_object`), generated from the message table, writes
//!   an [`ObjectForm`] tree that borrows the message's strings and bytes; the browser build
//!   turns it into JavaScript values. serde's derived `Serialize` (`Message` tagged with
//!   `kind`) stays for native callers and writes the same shapes, key order included (tested);
//!   the browser build no longer uses it (`serde-wasm-bindgen` and the derived impls were
//!   about 27 KB of the customer's module before wasm-opt).
//! - From objects: [`FromObject`] (`Message::from_object`), generated from the
//!   message table, over any [`ObjectValue`] (a JavaScript value in the browser build, a JSON
//!   value in tests). It reads each field by its key, so nothing is buffered: serde's derived
//!   `Deserialize` of a `kind`-tagged enum buffers every field of every message into its
//!   generic content tree first, and in the browser build that was a quarter of the whole
//!   WebAssembly module. Unit enum names still come from serde's derive (one list of names),
//!   read from a string.
//!
//! The object form is only a shape: what it holds is validated by the binary encoding
//! ([`Message::try_encode`](super::Message::try_encode)), so a caller converts from objects and
//! then encodes with validation, never the other way round. An [`ObjectFormError`] names the
//! field and what was expected, never the value.

use std::fmt;

use serde::de::IntoDeserializer;
use serde::de::value::StrDeserializer;
use serde::{Deserialize, Serialize, Serializer};

use crate::dom::tree::WireId;
use crate::session::{ActionKind, ControlCeiling, PauseReason, SessionId, UrlError};

use super::fields::{
    AuthToken, ClientInfo, Color, CustomerSecret, DenyReason, EndReason, ErrorCode, HighlightScope,
    Mode, Navigation, ParticipantId, Reconnect, Rect, ResumeToken, Role,
};

/// Why an object is not a message (or not the value a field needs). Names fields, never
/// their values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectFormError {
    /// Not an object, or its `kind` is not a message kind's name.
    UnknownKind,
    /// A message kind that the conversion was not built for
    /// ([`Message::from_object_among`](super::Message::from_object_among)).
    KindNotAmong,
    /// A field the message needs is missing.
    Missing {
        /// The field (`"Chat.text"`).
        field: String,
    },
    /// A field the message does not have.
    Unknown {
        /// The field (`"Chat.tx"`).
        field: String,
    },
    /// A field's value is of the wrong type or out of range.
    Invalid {
        /// The field (`"Hello.resume.session_id"`; empty for a value read on its own).
        field: String,
        /// What it must be (`"a nine-digit session id"`).
        expected: &'static str,
    },
}

impl ObjectFormError {
    fn invalid(expected: &'static str) -> ObjectFormError {
        ObjectFormError::Invalid {
            field: String::new(),
            expected,
        }
    }

    /// The error as seen from the object holding the field: `path` is prefixed.
    #[cold]
    pub(super) fn within(mut self, path: &str) -> ObjectFormError {
        if path.is_empty() {
            return self;
        }
        let (ObjectFormError::Missing { field }
        | ObjectFormError::Unknown { field }
        | ObjectFormError::Invalid { field, .. }) = &mut self
        else {
            return self;
        };
        *field = if field.is_empty() {
            path.to_owned()
        } else {
            format!("{path}.{field}")
        };
        self
    }
}

impl fmt::Display for ObjectFormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectFormError::UnknownKind => {
                f.write_str("not an object whose `kind` names a message")
            }
            ObjectFormError::KindNotAmong => {
                f.write_str("a message of a kind this build does not encode")
            }
            ObjectFormError::Missing { field } => write!(f, "missing field `{field}`"),
            ObjectFormError::Unknown { field } => write!(f, "unknown field `{field}`"),
            ObjectFormError::Invalid { field, expected } if field.is_empty() => {
                write!(f, "expected {expected}")
            }
            ObjectFormError::Invalid { field, expected } => {
                write!(f, "`{field}` must be {expected}")
            }
        }
    }
}

impl std::error::Error for ObjectFormError {}

/// A value of a plain object model, as [`FromObject`] reads it: a JavaScript value in the
/// browser build, a JSON value in tests.
pub trait ObjectValue: Sized {
    /// The value of `key` when this is an object that has it; `None` when it is missing
    /// (or JavaScript's `undefined`).
    fn get(&self, key: &str) -> Option<Self>;
    /// The object's own keys; `None` when this is not an object (arrays and `null` are not).
    fn keys(&self) -> Option<Vec<String>>;
    /// Whether this is `null`.
    fn is_null(&self) -> bool;
    /// The number this is.
    fn as_number(&self) -> Option<f64>;
    /// The string this is.
    fn as_string(&self) -> Option<String>;
    /// The boolean this is.
    fn as_bool(&self) -> Option<bool>;
    /// The bytes this is: a byte array (`Uint8Array`) or an array of integers in `0..=255`.
    fn as_bytes(&self) -> Option<Vec<u8>>;
}

/// A type read from its object form.
pub trait FromObject: Sized {
    /// Reads the value.
    fn from_object<V: ObjectValue>(v: &V) -> Result<Self, ObjectFormError>;

    /// The value of a field that is missing: an error, except for the types that have one.
    fn absent() -> Option<Self> {
        None
    }
}

/// Reads field `key` of `object`; `path` names it in errors (`"Chat.text"`).
pub(super) fn field<T: FromObject, V: ObjectValue>(
    object: &V,
    path: &str,
    key: &str,
) -> Result<T, ObjectFormError> {
    match object.get(key) {
        Some(v) => T::from_object(&v).map_err(|e| e.within(path)),
        None => T::absent().ok_or_else(|| ObjectFormError::Missing {
            field: path.to_owned(),
        }),
    }
}

/// Refuses any key of `object` not in `allowed`; `path` is the object's (`"Chat"`).
pub(super) fn only_keys<V: ObjectValue>(
    object: &V,
    path: &str,
    allowed: &[&str],
) -> Result<(), ObjectFormError> {
    let keys = object
        .keys()
        .ok_or_else(|| ObjectFormError::invalid("an object").within(path))?;
    match keys.iter().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ObjectFormError::Unknown { field: k.clone() }.within(path)),
        None => Ok(()),
    }
}

/// An integer in `0..=max` (JavaScript numbers are doubles: `max` is at most 2^53 − 1).
fn integer<V: ObjectValue>(
    v: &V,
    max: f64,
    expected: &'static str,
) -> Result<f64, ObjectFormError> {
    match v.as_number() {
        Some(n) if n.fract() == 0.0 && (0.0..=max).contains(&n) => Ok(n),
        _ => Err(ObjectFormError::invalid(expected)),
    }
}

macro_rules! from_integer {
    ($($T:ty: $max:expr, $expected:literal;)*) => {$(
        impl FromObject for $T {
            fn from_object<V: ObjectValue>(v: &V) -> Result<$T, ObjectFormError> {
                integer(v, $max, $expected).map(|n| n as $T)
            }
        }
    )*};
}

from_integer! {
    u8: 255.0, "an integer in 0..=255";
    u16: 65_535.0, "an integer in 0..=65535";
    u32: 4_294_967_295.0, "an integer in 0..=4294967295";
    u64: 9_007_199_254_740_991.0, "an integer in 0..=Number.MAX_SAFE_INTEGER";
}

impl FromObject for f32 {
    fn from_object<V: ObjectValue>(v: &V) -> Result<f32, ObjectFormError> {
        v.as_number()
            .map(|n| n as f32)
            .ok_or_else(|| ObjectFormError::invalid("a number"))
    }
}

impl FromObject for bool {
    fn from_object<V: ObjectValue>(v: &V) -> Result<bool, ObjectFormError> {
        v.as_bool()
            .ok_or_else(|| ObjectFormError::invalid("a boolean"))
    }
}

impl FromObject for String {
    fn from_object<V: ObjectValue>(v: &V) -> Result<String, ObjectFormError> {
        v.as_string()
            .ok_or_else(|| ObjectFormError::invalid("a string"))
    }
}

impl FromObject for Vec<u8> {
    fn from_object<V: ObjectValue>(v: &V) -> Result<Vec<u8>, ObjectFormError> {
        v.as_bytes()
            .ok_or_else(|| ObjectFormError::invalid("bytes (a Uint8Array)"))
    }
}

impl<T: FromObject> FromObject for Option<T> {
    fn from_object<V: ObjectValue>(v: &V) -> Result<Option<T>, ObjectFormError> {
        if v.is_null() {
            Ok(None)
        } else {
            T::from_object(v).map(Some)
        }
    }

    fn absent() -> Option<Option<T>> {
        Some(None)
    }
}

impl FromObject for ParticipantId {
    fn from_object<V: ObjectValue>(v: &V) -> Result<ParticipantId, ObjectFormError> {
        u32::from_object(v).map(ParticipantId)
    }
}

impl FromObject for WireId {
    fn from_object<V: ObjectValue>(v: &V) -> Result<WireId, ObjectFormError> {
        u32::from_object(v).map(WireId)
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.value())
    }
}

impl FromObject for SessionId {
    fn from_object<V: ObjectValue>(v: &V) -> Result<SessionId, ObjectFormError> {
        let expected = "a nine-digit session id";
        let n = integer(v, f64::from(u32::MAX), expected)?;
        SessionId::new(n as u32).ok_or_else(|| ObjectFormError::invalid(expected))
    }
}

impl Serialize for WireId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl Serialize for AuthToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl FromObject for AuthToken {
    fn from_object<V: ObjectValue>(v: &V) -> Result<AuthToken, ObjectFormError> {
        String::from_object(v).map(AuthToken)
    }
}

impl Serialize for CustomerSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl FromObject for CustomerSecret {
    fn from_object<V: ObjectValue>(v: &V) -> Result<CustomerSecret, ObjectFormError> {
        String::from_object(v).map(CustomerSecret)
    }
}

impl Serialize for ResumeToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl FromObject for ResumeToken {
    fn from_object<V: ObjectValue>(v: &V) -> Result<ResumeToken, ObjectFormError> {
        let bytes = Vec::<u8>::from_object(v)?;
        let token: [u8; 16] = bytes
            .try_into()
            .map_err(|_| ObjectFormError::invalid("16 bytes (a resume token)"))?;
        Ok(ResumeToken(token))
    }
}

/// `#[serde(serialize_with = "bytes")]`: a `Vec<u8>` as a byte string.
pub(super) fn bytes<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(v)
}

/// A unit variant from its name, through the enum's derived `Deserialize`.
fn unit_variant<'de, T: Deserialize<'de>>(
    name: &'de str,
    expected: &'static str,
) -> Result<T, ObjectFormError> {
    let d: StrDeserializer<'de, NotAVariant> = name.into_deserializer();
    T::deserialize(d).map_err(|_| ObjectFormError::invalid(expected))
}

/// The error of [`unit_variant`]'s deserializer. It drops serde's message (the caller reports
/// `expected` instead), so that nothing formats it: serde's messages for unexpected values
/// bring float formatting and its error machinery into the browser build.
#[derive(Debug)]
struct NotAVariant;

impl fmt::Display for NotAVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a variant name")
    }
}

impl std::error::Error for NotAVariant {}

impl serde::de::Error for NotAVariant {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotAVariant
    }
}

/// Unit-only enums: their variant's name.
macro_rules! from_name {
    ($($T:ty: $expected:literal;)*) => {$(
        impl FromObject for $T {
            fn from_object<V: ObjectValue>(v: &V) -> Result<$T, ObjectFormError> {
                let name = String::from_object(v).map_err(|_| ObjectFormError::invalid($expected))?;
                unit_variant(&name, $expected)
            }
        }
    )*};
}

from_name! {
    Role: "a role (\"Customer\", \"Agent\")";
    EndReason: "an end reason";
    ActionKind: "an action kind (\"Click\", ...)";
    ControlCeiling: "a ceiling (\"Full\", \"Partial\", \"None\")";
    PauseReason: "a pause reason";
    UrlError: "a URL error (\"NotWeb\", ...)";
}

/// Enums with one data variant: a unit variant's name, or `{ <data variant>: value }`.
macro_rules! from_name_or_one_key {
    ($($T:ty: $expected:literal, $Data:ident($Inner:ty);)*) => {$(
        impl FromObject for $T {
            fn from_object<V: ObjectValue>(v: &V) -> Result<$T, ObjectFormError> {
                if let Some(name) = v.as_string() {
                    return unit_variant(&name, $expected);
                }
                only_keys(v, "", &[stringify!($Data)])
                    .map_err(|_| ObjectFormError::invalid($expected))?;
                field::<$Inner, V>(v, stringify!($Data), stringify!($Data))
                    .map(<$T>::$Data)
            }
        }
    )*};
}

from_name_or_one_key! {
    Mode: "a mode (\"Pointer\" or { Control: id })", Control(ParticipantId);
    Navigation: "a navigation ({ Url: \"https://…\" }, \"Back\", ...)", Url(String);
    HighlightScope: "a highlight scope ({ One: id } or \"All\")", One(u32);
    ErrorCode: "an error code (\"BadMessage\", { PermissionDenied: reason }, ...)", PermissionDenied(DenyReason);
    DenyReason: "a refusal reason (\"ElementDisabled\", { UnsafeUrl: error }, ...)", UnsafeUrl(UrlError);
}

impl FromObject for ClientInfo {
    fn from_object<V: ObjectValue>(v: &V) -> Result<ClientInfo, ObjectFormError> {
        const KEYS: [&str; 4] = ["browser", "browser_version", "os", "client_version"];
        only_keys(v, "", &KEYS)?;
        let text = |key: &str| -> Result<String, ObjectFormError> {
            Ok(field::<Option<String>, V>(v, key, key)?.unwrap_or_default())
        };
        Ok(ClientInfo {
            browser: text(KEYS[0])?,
            browser_version: text(KEYS[1])?,
            os: text(KEYS[2])?,
            client_version: text(KEYS[3])?,
        })
    }
}

impl FromObject for Reconnect {
    fn from_object<V: ObjectValue>(v: &V) -> Result<Reconnect, ObjectFormError> {
        only_keys(
            v,
            "",
            &["session_id", "participant_id", "token", "last_seq"],
        )?;
        Ok(Reconnect {
            session_id: field(v, "session_id", "session_id")?,
            participant_id: field(v, "participant_id", "participant_id")?,
            token: field(v, "token", "token")?,
            last_seq: field(v, "last_seq", "last_seq")?,
        })
    }
}

impl FromObject for Rect {
    fn from_object<V: ObjectValue>(v: &V) -> Result<Rect, ObjectFormError> {
        only_keys(v, "", &["x", "y", "width", "height"])?;
        Ok(Rect {
            x: field(v, "x", "x")?,
            y: field(v, "y", "y")?,
            width: field(v, "width", "width")?,
            height: field(v, "height", "height")?,
        })
    }
}

impl FromObject for Color {
    fn from_object<V: ObjectValue>(v: &V) -> Result<Color, ObjectFormError> {
        only_keys(v, "", &["r", "g", "b", "a"])?;
        Ok(Color {
            r: field(v, "r", "r")?,
            g: field(v, "g", "g")?,
            b: field(v, "b", "b")?,
            a: field(v, "a", "a")?,
        })
    }
}

/// A value in its object form, as [`ToObject`] writes it (borrowing the strings and bytes of
/// the value written): the browser build turns it into JavaScript values in one small
/// function, tests compare it with serde's output. Not serde's serializer: in the browser
/// build `serde-wasm-bindgen` and the derived `Serialize` impls were about 27 KB of the
/// customer's module, and code generic over a builder nearly as much.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectForm<'a> {
    /// `null`.
    Null,
    /// A number.
    Number(f64),
    /// A string.
    String(&'a str),
    /// A boolean.
    Bool(bool),
    /// A byte string (`Uint8Array` in JavaScript).
    Bytes(&'a [u8]),
    /// An object with these fields, in this order.
    Object(Vec<(&'static str, ObjectForm<'a>)>),
}

/// A type written in its object form: the same shapes serde's derived `Serialize` gives (and
/// [`FromObject`] reads), `None` as `null`. Fails only for a `u64` above
/// `Number.MAX_SAFE_INTEGER`, which a JavaScript number cannot hold exactly.
pub trait ToObject {
    /// Writes the value.
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError>;
}

/// Appends field `key` (written as `value`) to `fields`; `path` names it in errors. Not
/// generic, and not inlined: one call per field of the message table.
#[inline(never)]
pub(super) fn put<'a>(
    fields: &mut Vec<(&'static str, ObjectForm<'a>)>,
    path: &str,
    key: &'static str,
    value: Result<ObjectForm<'a>, ObjectFormError>,
) -> Result<(), ObjectFormError> {
    fields.push((key, value.map_err(|e| e.within(path))?));
    Ok(())
}

macro_rules! to_number {
    ($($T:ty),*) => {$(
        impl ToObject for $T {
            fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
                Ok(ObjectForm::Number(f64::from(*self)))
            }
        }
    )*};
}

to_number!(u8, u16, u32, f32);

impl ToObject for u64 {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        const MAX_SAFE: u64 = (1 << 53) - 1;
        if *self > MAX_SAFE {
            return Err(ObjectFormError::invalid(
                "an integer in 0..=Number.MAX_SAFE_INTEGER",
            ));
        }
        Ok(ObjectForm::Number(*self as f64))
    }
}

impl ToObject for bool {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        Ok(ObjectForm::Bool(*self))
    }
}

impl ToObject for String {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        Ok(ObjectForm::String(self))
    }
}

impl ToObject for Vec<u8> {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        Ok(ObjectForm::Bytes(self))
    }
}

impl<T: ToObject> ToObject for Option<T> {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        match self {
            Some(v) => v.to_object(),
            None => Ok(ObjectForm::Null),
        }
    }
}

impl ToObject for ParticipantId {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        self.0.to_object()
    }
}

impl ToObject for WireId {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        self.0.to_object()
    }
}

impl ToObject for SessionId {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        Ok(ObjectForm::Number(f64::from(self.value())))
    }
}

impl ToObject for AuthToken {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        Ok(ObjectForm::String(&self.0))
    }
}

impl ToObject for CustomerSecret {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        Ok(ObjectForm::String(&self.0))
    }
}

impl ToObject for ResumeToken {
    fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
        Ok(ObjectForm::Bytes(&self.0))
    }
}

/// Unit-only enums: their variant's name. The match is exhaustive, so a new variant does not
/// compile until it is listed.
macro_rules! to_name {
    ($($T:ident { $($V:ident),* $(,)? };)*) => {$(
        impl ToObject for $T {
            fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
                Ok(ObjectForm::String(match self { $( $T::$V => stringify!($V), )* }))
            }
        }
    )*};
}

to_name! {
    Role { Customer, Agent };
    EndReason {
        CustomerEnded, AgentEnded, BackendEnded, Inactivity, AgentGone, CustomerGone,
        PolicyViolation, Error, InviteDeclined, InviteWithdrawn, NoAgentJoined,
    };
    ActionKind { Pointer, Highlight, Scroll, Click, Input, Navigate, Submit };
    ControlCeiling { Full, Partial, None };
    PauseReason { CustomerStoppedSharing, OutsideAllowedDomains };
    UrlError { Empty, TooLong, ControlCharacter, NotWeb, MissingHost, InvalidHost };
}

/// Enums with one data variant: a unit variant's name, or `{ <data variant>: value }`.
macro_rules! to_name_or_one_key {
    ($($T:ident { $($V:ident),* $(,)? } $Data:ident;)*) => {$(
        impl ToObject for $T {
            fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
                Ok(match self {
                    $( $T::$V => ObjectForm::String(stringify!($V)), )*
                    $T::$Data(inner) => {
                        let mut fields = Vec::with_capacity(1);
                        put(&mut fields, stringify!($Data), stringify!($Data), inner.to_object())?;
                        ObjectForm::Object(fields)
                    }
                })
            }
        }
    )*};
}

to_name_or_one_key! {
    Mode { Pointer } Control;
    Navigation { Back, Forward, Reload } Url;
    HighlightScope { All } One;
    ErrorCode {
        BadMessage, UnsupportedVersion, TooLarge, Unauthorized, SessionNotFound, SessionEnded,
        SessionFull, AgentBusy, RateLimited, NeedKeyframe, Internal,
    } PermissionDenied;
    DenyReason {
        SessionEnded, NotStarted, SessionPaused, NotAParticipant, AgentDisconnected,
        ControlNotPermitted, FormsNotEditable, NotInControl, TargetMissing, ElementDisabled,
        MaskedField, OutsideAllowedDomains, WrongRole,
    } UnsafeUrl;
}

/// Structs: an object of their fields, in declaration order.
macro_rules! to_fields {
    ($($T:ident { $($field:ident),* $(,)? };)*) => {$(
        impl ToObject for $T {
            fn to_object(&self) -> Result<ObjectForm<'_>, ObjectFormError> {
                let $T { $($field),* } = self;
                let mut fields = Vec::new();
                $( put(&mut fields, stringify!($field), stringify!($field), $field.to_object())?; )*
                Ok(ObjectForm::Object(fields))
            }
        }
    )*};
}

to_fields! {
    ClientInfo { browser, browser_version, os, client_version };
    Reconnect { session_id, participant_id, token, last_seq };
    Rect { x, y, width, height };
    Color { r, g, b, a };
}

#[cfg(all(test, feature = "config"))]
mod tests {
    //! Native checks of the object form through serde_json (the browser's own round trips are
    //! the wasm crate's tests).

    use super::super::*;
    use super::FromObject;
    use crate::dom::tree::WireId;
    use crate::session::{ControlCeiling, SessionId};

    fn json(m: &Message) -> String {
        serde_json::to_string(m).unwrap()
    }

    /// JSON values as the object model (the browser build's is JavaScript values).
    impl super::ObjectValue for serde_json::Value {
        fn get(&self, key: &str) -> Option<Self> {
            self.as_object()?.get(key).cloned()
        }
        fn keys(&self) -> Option<Vec<String>> {
            Some(self.as_object()?.keys().cloned().collect())
        }
        fn is_null(&self) -> bool {
            self.is_null()
        }
        fn as_number(&self) -> Option<f64> {
            self.as_f64()
        }
        fn as_string(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
        fn as_bool(&self) -> Option<bool> {
            self.as_bool()
        }
        fn as_bytes(&self) -> Option<Vec<u8>> {
            self.as_array()?
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect()
        }
    }

    fn from_json(text: &str) -> Result<Message, super::ObjectFormError> {
        Message::from_object(&serde_json::from_str::<serde_json::Value>(text).unwrap())
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

    /// What a customer sends plus one agent action: the shape of the customer module's set.
    const CHAT_AND_CLICK: u128 = KindSet::of(&[MessageKind::Chat, MessageKind::AgentClick]).0;

    #[test]
    fn conversions_among_a_kind_set_refuse_the_other_kinds_and_agree_on_their_own() {
        let chat =
            serde_json::from_str::<serde_json::Value>(r#"{"kind":"Chat","from":2,"text":"hi"}"#)
                .unwrap();
        let message = Message::from_object_among::<CHAT_AND_CLICK, _>(&chat).unwrap();
        assert_eq!(
            message,
            Message::Chat {
                from: ParticipantId(2),
                text: "hi".into()
            }
        );
        assert_eq!(
            message.try_encode_among::<CHAT_AND_CLICK>(),
            Ok(message.try_encode().unwrap())
        );
        // Validation is the same as `try_encode`'s for a kind of the set.
        let click = Message::AgentClick {
            target: WireId(0),
            x: 1.0,
            y: 2.0,
        };
        assert_eq!(
            click.try_encode_among::<CHAT_AND_CLICK>(),
            Err(ProtocolError::UnassignedWireId {
                field: "AgentClick.target"
            })
        );
        assert_eq!(
            click.try_encode_among::<CHAT_AND_CLICK>(),
            click.try_encode()
        );
        // Another kind: refused both ways, though it is a valid message.
        let join = serde_json::from_str::<serde_json::Value>(
            r#"{"kind":"Join","session_id":123456789,"token":"t"}"#,
        )
        .unwrap();
        assert!(Message::from_object(&join).is_ok());
        assert_eq!(
            Message::from_object_among::<CHAT_AND_CLICK, _>(&join),
            Err(super::ObjectFormError::KindNotAmong)
        );
        let join = Message::from_object(&join).unwrap();
        assert!(join.try_encode().is_ok());
        assert_eq!(
            join.try_encode_among::<CHAT_AND_CLICK>(),
            Err(ProtocolError::KindNotAmong(MessageKind::Join.code()))
        );
        // A name that is no kind at all stays `UnknownKind`.
        let nothing = serde_json::from_str::<serde_json::Value>(r#"{"kind":"Nothing"}"#).unwrap();
        assert_eq!(
            Message::from_object_among::<CHAT_AND_CLICK, _>(&nothing),
            Err(super::ObjectFormError::UnknownKind)
        );
    }

    #[test]
    fn kind_sets_of_a_party_are_the_direction_table() {
        for party in [Party::Customer, Party::Agent, Party::Relay] {
            let set = KindSet::originated_by(party);
            for kind in MessageKind::ALL {
                assert_eq!(set.contains(*kind), kind.may_come_from(party), "{kind:?}");
            }
        }
        assert!(MessageKind::ALL.iter().all(|k| KindSet::ALL.contains(*k)));
        assert_eq!(KindSet::ALL.0.count_ones() as usize, MessageKind::ALL.len());
        assert!(!KindSet::EMPTY.contains(MessageKind::Chat));
        assert_eq!(
            KindSet::of(&[MessageKind::Chat]).union(KindSet::of(&[MessageKind::Join])),
            KindSet::of(&[MessageKind::Join, MessageKind::Chat])
        );
    }

    #[test]
    fn objects_decode_with_options_left_out_and_refuse_what_is_not_a_message() {
        let m = from_json(r#"{"kind":"Pointer","from":1,"x":1.5,"y":2}"#)
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
        let join = from_json(r#"{"kind":"Join","session_id":123456789,"token":"t.o.k"}"#).unwrap();
        assert_eq!(
            join,
            Message::Join {
                session_id: SessionId::new(123_456_789).unwrap(),
                token: AuthToken::new("t.o.k")
            }
        );
        for (bad, error) in [
            (
                r#"{"kind":"Nope"}"#,
                "not an object whose `kind` names a message",
            ),
            (r#"{"kind":"Chat","from":1}"#, "missing field `Chat.text`"),
            (
                r#"{"kind":"Chat","from":1,"text":"a","extra":1}"#,
                "unknown field `Chat.extra`",
            ),
            (
                r#"{"kind":"Join","session_id":12345,"token":"t"}"#,
                "`Join.session_id` must be a nine-digit session id",
            ),
            (
                r#"{"kind":"Ack","seq":-1}"#,
                "`Ack.seq` must be an integer in 0..=Number.MAX_SAFE_INTEGER",
            ),
            (
                r#"{"kind":"Ack","seq":1.5}"#,
                "`Ack.seq` must be an integer in 0..=Number.MAX_SAFE_INTEGER",
            ),
            (
                r#"{"from":1,"text":"a"}"#,
                "not an object whose `kind` names a message",
            ),
            (r#"[1]"#, "not an object whose `kind` names a message"),
            (r#"{"kind":"Resume","x":null}"#, "unknown field `Resume.x`"),
            (
                r#"{"kind":"ModeChanged","mode":{"Control":3,"x":1},"ceiling":"Full"}"#,
                "`ModeChanged.mode` must be a mode (\"Pointer\" or { Control: id })",
            ),
            (
                r#"{"kind":"ModeChanged","mode":"Control","ceiling":"Full"}"#,
                "`ModeChanged.mode` must be a mode (\"Pointer\" or { Control: id })",
            ),
            (
                r#"{"kind":"ModeChanged","mode":{"Control":"x"},"ceiling":"Full"}"#,
                "`ModeChanged.mode.Control` must be an integer in 0..=4294967295",
            ),
            (
                r#"{"kind":"Error","code":{"PermissionDenied":{"UnsafeUrl":"Nope"}},"message":"x"}"#,
                "`Error.code.PermissionDenied.UnsafeUrl` must be a URL error (\"NotWeb\", ...)",
            ),
            (
                r#"{"kind":"Hello","role":"Agent","client":{},"resume":{"session_id":123456789,"participant_id":2,"token":[1,2],"last_seq":null}}"#,
                "`Hello.resume.token` must be 16 bytes (a resume token)",
            ),
            (
                r#"{"kind":"Hello","role":"Agent","client":{"browser":"x","osx":""}}"#,
                "unknown field `Hello.client.osx`",
            ),
        ] {
            assert_eq!(from_json(bad).unwrap_err().to_string(), error, "{bad}");
        }
    }

    #[test]
    fn every_shape_of_the_object_form_reads_back_what_serialize_wrote() {
        use crate::session::{ActionKind, PauseReason, UrlError};
        let token = ResumeToken(*b"0123456789abcdef");
        let client = ClientInfo {
            browser: "Firefox".into(),
            browser_version: "128.0".into(),
            os: "Linux".into(),
            client_version: "0.1.0".into(),
        };
        for m in [
            Message::Hello {
                role: Role::Agent,
                client: client.clone(),
                resume: Some(Reconnect {
                    session_id: SessionId::new(123_456_789).unwrap(),
                    participant_id: ParticipantId(2),
                    token,
                    last_seq: Some(41),
                }),
            },
            Message::Joined {
                session_id: SessionId::new(123_456_789).unwrap(),
                participant_id: ParticipantId(2),
                participants: 2,
                role: Role::Agent,
                mode: Mode::Control(ParticipantId(2)),
                ceiling: ControlCeiling::Full,
                paused: true,
                resume_token: token,
                customer: Some(client),
            },
            Message::Pause {
                reason: PauseReason::CustomerStoppedSharing,
            },
            Message::Navigate {
                to: Navigation::Url("https://example.com/".into()),
            },
            Message::Navigate {
                to: Navigation::Back,
            },
            Message::HighlightClear {
                from: ParticipantId(2),
                which: HighlightScope::One(4),
            },
            Message::Error {
                code: ErrorCode::PermissionDenied(DenyReason::UnsafeUrl(UrlError::NotWeb)),
                message: "m".into(),
            },
            Message::ActionDenied {
                agent: ParticipantId(2),
                action: ActionKind::Click,
                target: None,
                reason: DenyReason::MaskedField,
            },
            Message::Frame {
                bytes: vec![0, 255],
            },
            Message::KeyframeRequest { have_seq: None },
            Message::End {
                reason: EndReason::NoAgentJoined,
            },
        ] {
            assert_eq!(from_json(&json(&m)).as_ref(), Ok(&m), "{}", json(&m));
        }
    }

    /// A JSON value with its object keys in order (serde_json's `Value` sorts them), numbers
    /// as `f64` (what JavaScript sees), byte strings as arrays of numbers (what serde_json
    /// writes for them).
    #[derive(Debug, PartialEq)]
    enum Ordered {
        Null,
        Number(f64),
        String(String),
        Bool(bool),
        Array(Vec<Ordered>),
        Object(Vec<(String, Ordered)>),
    }

    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("JSON")
                }
                fn visit_unit<E>(self) -> Result<Ordered, E> {
                    Ok(Ordered::Null)
                }
                fn visit_bool<E>(self, b: bool) -> Result<Ordered, E> {
                    Ok(Ordered::Bool(b))
                }
                fn visit_u64<E>(self, n: u64) -> Result<Ordered, E> {
                    Ok(Ordered::Number(n as f64))
                }
                fn visit_i64<E>(self, n: i64) -> Result<Ordered, E> {
                    Ok(Ordered::Number(n as f64))
                }
                fn visit_f64<E>(self, n: f64) -> Result<Ordered, E> {
                    Ok(Ordered::Number(n))
                }
                fn visit_str<E>(self, s: &str) -> Result<Ordered, E> {
                    Ok(Ordered::String(s.to_owned()))
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut a: A,
                ) -> Result<Ordered, A::Error> {
                    let mut items = Vec::new();
                    while let Some(x) = a.next_element()? {
                        items.push(x);
                    }
                    Ok(Ordered::Array(items))
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut a: A,
                ) -> Result<Ordered, A::Error> {
                    let mut fields = Vec::new();
                    while let Some(entry) = a.next_entry()? {
                        fields.push(entry);
                    }
                    Ok(Ordered::Object(fields))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// An object form as the ordered JSON model.
    fn ordered(form: super::ObjectForm<'_>) -> Ordered {
        use super::ObjectForm;
        match form {
            ObjectForm::Null => Ordered::Null,
            ObjectForm::Number(n) => Ordered::Number(n),
            ObjectForm::String(s) => Ordered::String(s.to_owned()),
            ObjectForm::Bool(b) => Ordered::Bool(b),
            ObjectForm::Bytes(b) => {
                Ordered::Array(b.iter().map(|&x| Ordered::Number(f64::from(x))).collect())
            }
            ObjectForm::Object(fields) => Ordered::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), ordered(v)))
                    .collect(),
            ),
        }
    }

    /// What serde's derived `Serialize` writes for `v`, in the ordered model.
    fn serialized<T: serde::Serialize>(v: &T) -> Ordered {
        serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
    }

    #[test]
    fn to_object_writes_exactly_what_serialize_writes_for_every_message_kind() {
        use super::ToObject;
        // The golden messages (one of every kind; two hold a u64 above 2^53 - 1, which a
        // JavaScript number cannot hold, so a Pong within range is added).
        let mut messages = super::super::golden_tests::golden_messages();
        messages.push(Message::Pong {
            nonce: 7,
            sent_at_ms: 1_700_000_000_000,
        });
        let mut kinds = std::collections::HashSet::new();
        let mut refused = Vec::new();
        for m in &messages {
            match m.to_object() {
                Ok(form) => {
                    assert_eq!(ordered(form), serialized(m), "{}", json(m));
                    kinds.insert(m.kind());
                }
                Err(e) => refused.push(e.to_string()),
            }
        }
        assert_eq!(kinds.len(), MessageKind::ALL.len(), "every kind compared");
        assert_eq!(
            refused,
            [
                "`Pong.nonce` must be an integer in 0..=Number.MAX_SAFE_INTEGER",
                "`KeyframeRequest.have_seq` must be an integer in 0..=Number.MAX_SAFE_INTEGER",
            ]
        );
        // Every variant of the enums the object form names.
        use crate::session::{ActionKind, PauseReason, UrlError};
        for k in ActionKind::ALL {
            assert_eq!(ordered(k.to_object().unwrap()), serialized(&k));
        }
        for e in [
            UrlError::Empty,
            UrlError::TooLong,
            UrlError::ControlCharacter,
            UrlError::NotWeb,
            UrlError::MissingHost,
            UrlError::InvalidHost,
        ] {
            let r = DenyReason::UnsafeUrl(e);
            assert_eq!(ordered(r.to_object().unwrap()), serialized(&r));
            let c = ErrorCode::PermissionDenied(r);
            assert_eq!(ordered(c.to_object().unwrap()), serialized(&c));
        }
        for r in [
            PauseReason::CustomerStoppedSharing,
            PauseReason::OutsideAllowedDomains,
        ] {
            assert_eq!(ordered(r.to_object().unwrap()), serialized(&r));
        }
        for c in [
            ControlCeiling::Full,
            ControlCeiling::Partial,
            ControlCeiling::None,
        ] {
            assert_eq!(ordered(c.to_object().unwrap()), serialized(&c));
        }
    }

    #[test]
    fn to_object_refuses_a_u64_javascript_cannot_hold_and_names_the_field() {
        use super::ToObject;
        let fine = Message::Ack { seq: (1 << 53) - 1 };
        assert_eq!(
            ordered(fine.to_object().unwrap()),
            Ordered::Object(vec![
                ("kind".into(), Ordered::String("Ack".into())),
                ("seq".into(), Ordered::Number(9_007_199_254_740_991.0)),
            ])
        );
        let too_large = Message::Ack { seq: 1 << 53 };
        assert_eq!(
            too_large.to_object().unwrap_err().to_string(),
            "`Ack.seq` must be an integer in 0..=Number.MAX_SAFE_INTEGER"
        );
    }
}
