//! Field codecs: how each field type travels, in one place. A [`Codec`] names a field's wire
//! form (what rkyv archives), converts to and from it, and checks an archived value before
//! anything reads it. The message table ([`super::messages`]) names one codec per field;
//! a field without `as Codec` uses its own type's.
//!
//! Invariants: [`Codec::from_wire`] is only called on a value whose [`Codec::check`] passed,
//! so it never fails (its fallbacks are unreachable); every enum code starts at 1, so a zeroed
//! body never decodes; `check` errors name the field (`"Kind.field"`) and never hold contents.

use rkyv::{Archive, Archived, Serialize};

use crate::dom::tree::WireId;
use crate::session::{self, ControlCeiling, PauseReason, SessionId, UrlError};
use crate::wire::frame::MAX_FRAME_BYTES;

use super::error::ProtocolError;
use super::fields::{
    ActionKind, AuthToken, ClientInfo, Color, CustomerSecret, DenyReason, EndReason, ErrorCode,
    HighlightScope, Mode, Navigation, ParticipantId, Reconnect, Rect, ResumeToken, Role,
};
use super::limits::{
    MAX_CHAT_BYTES, MAX_CLIENT_FIELD_BYTES, MAX_COORD, MAX_ERROR_MESSAGE_BYTES, MAX_INPUT_BYTES,
    MAX_SECRET_BYTES, MAX_TITLE_BYTES, MAX_TOKEN_BYTES, MAX_URL_BYTES, MAX_VIEWPORT_PX,
};

/// How one field travels. See the module docs for the invariants.
pub(super) trait Codec {
    /// What the application holds.
    type Value;
    /// What is archived.
    type Wire: Archive;
    /// The wire form of `v`.
    fn to_wire(v: &Self::Value) -> Self::Wire;
    /// The value of a wire form that passed [`Codec::check`].
    fn from_wire(w: &Archived<Self::Wire>) -> Self::Value;
    /// Semantic checks of an archived value (rkyv validation has passed). `field` is
    /// `"Kind.field"`, for errors.
    fn check(field: &'static str, w: &Archived<Self::Wire>) -> Result<(), ProtocolError> {
        let _ = (field, w);
        Ok(())
    }
}

/// The name of a part of a composite field, for errors (`"Hello.client"` and `"browser"` give
/// `"Hello.client.browser"`). Error fields are `&'static str`, so the composite fields' parts
/// are listed here; a pair not listed keeps the field's name.
fn part(field: &'static str, part: &'static str) -> &'static str {
    match (field, part) {
        ("Hello.client", "browser") => "Hello.client.browser",
        ("Hello.client", "browser_version") => "Hello.client.browser_version",
        ("Hello.client", "os") => "Hello.client.os",
        ("Hello.client", "client_version") => "Hello.client.client_version",
        ("Joined.customer", "browser") => "Joined.customer.browser",
        ("Joined.customer", "browser_version") => "Joined.customer.browser_version",
        ("Joined.customer", "os") => "Joined.customer.os",
        ("Joined.customer", "client_version") => "Joined.customer.client_version",
        ("Hello.resume", "session_id") => "Hello.resume.session_id",
        ("Error.code", "detail") => "Error.detail",
        _ => {
            debug_assert!(false, "no name for {field}.{part}");
            field
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers.

/// Integers and flags carried as they are, unchecked.
macro_rules! plain_codec {
    ($($T:ty),*) => {$(
        impl Codec for $T {
            type Value = $T;
            type Wire = $T;
            fn to_wire(v: &$T) -> $T {
                *v
            }
            fn from_wire(w: &Archived<$T>) -> $T {
                w.to_native()
            }
        }
    )*};
}

plain_codec!(u16, u32, u64);

impl Codec for bool {
    type Value = bool;
    type Wire = bool;
    fn to_wire(v: &bool) -> bool {
        *v
    }
    fn from_wire(w: &bool) -> bool {
        *w
    }
}

/// A coordinate or scroll offset in CSS pixels: finite, within `±`[`MAX_COORD`].
pub(super) struct Coord;

impl Codec for Coord {
    type Value = f32;
    type Wire = f32;
    fn to_wire(v: &f32) -> f32 {
        *v
    }
    fn from_wire(w: &Archived<f32>) -> f32 {
        w.to_native()
    }
    fn check(field: &'static str, w: &Archived<f32>) -> Result<(), ProtocolError> {
        coord(field, w.to_native())
    }
}

fn coord(field: &'static str, v: f32) -> Result<(), ProtocolError> {
    if v.is_finite() && v.abs() <= MAX_COORD {
        Ok(())
    } else {
        Err(ProtocolError::BadNumber { field })
    }
}

fn size(field: &'static str, v: f32) -> Result<(), ProtocolError> {
    if v.is_finite() && (0.0..=MAX_COORD).contains(&v) {
        Ok(())
    } else {
        Err(ProtocolError::BadNumber { field })
    }
}

/// A viewport width or height: at most [`MAX_VIEWPORT_PX`].
pub(super) struct ViewportPx;

impl Codec for ViewportPx {
    type Value = u32;
    type Wire = u32;
    fn to_wire(v: &u32) -> u32 {
        *v
    }
    fn from_wire(w: &Archived<u32>) -> u32 {
        w.to_native()
    }
    fn check(field: &'static str, w: &Archived<u32>) -> Result<(), ProtocolError> {
        if w.to_native() > MAX_VIEWPORT_PX {
            return Err(ProtocolError::BadNumber { field });
        }
        Ok(())
    }
}

/// A participant count that includes the receiver (or the joiner): at least 1.
pub(super) struct AtLeastOne;

impl Codec for AtLeastOne {
    type Value = u16;
    type Wire = u16;
    fn to_wire(v: &u16) -> u16 {
        *v
    }
    fn from_wire(w: &Archived<u16>) -> u16 {
        w.to_native()
    }
    fn check(field: &'static str, w: &Archived<u16>) -> Result<(), ProtocolError> {
        if w.to_native() == 0 {
            return Err(ProtocolError::BadNumber { field });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Ids.

impl Codec for ParticipantId {
    type Value = ParticipantId;
    type Wire = u32;
    fn to_wire(v: &ParticipantId) -> u32 {
        v.0
    }
    fn from_wire(w: &Archived<u32>) -> ParticipantId {
        ParticipantId(w.to_native())
    }
}

impl Codec for SessionId {
    type Value = SessionId;
    type Wire = u32;
    fn to_wire(v: &SessionId) -> u32 {
        v.value()
    }
    fn from_wire(w: &Archived<u32>) -> SessionId {
        SessionId::new(w.to_native()).unwrap_or_else(|| SessionId::from_entropy(0))
    }
    fn check(field: &'static str, w: &Archived<u32>) -> Result<(), ProtocolError> {
        SessionId::new(w.to_native())
            .map(|_| ())
            .ok_or(ProtocolError::BadSessionId { field })
    }
}

/// A target element: an assigned wire id (never [`WireId::UNASSIGNED`]).
impl Codec for WireId {
    type Value = WireId;
    type Wire = u32;
    fn to_wire(v: &WireId) -> u32 {
        v.0
    }
    fn from_wire(w: &Archived<u32>) -> WireId {
        WireId(w.to_native())
    }
    fn check(field: &'static str, w: &Archived<u32>) -> Result<(), ProtocolError> {
        if w.to_native() == 0 {
            return Err(ProtocolError::UnassignedWireId { field });
        }
        Ok(())
    }
}

impl Codec for ResumeToken {
    type Value = ResumeToken;
    type Wire = [u8; 16];
    fn to_wire(v: &ResumeToken) -> [u8; 16] {
        v.0
    }
    fn from_wire(w: &[u8; 16]) -> ResumeToken {
        ResumeToken(*w)
    }
}

/// Absent when `None`; checked when present.
impl<C: Codec> Codec for Option<C> {
    type Value = Option<C::Value>;
    type Wire = Option<C::Wire>;
    fn to_wire(v: &Option<C::Value>) -> Option<C::Wire> {
        v.as_ref().map(C::to_wire)
    }
    fn from_wire(w: &Archived<Option<C::Wire>>) -> Option<C::Value> {
        w.as_ref().map(C::from_wire)
    }
    fn check(field: &'static str, w: &Archived<Option<C::Wire>>) -> Result<(), ProtocolError> {
        match w.as_ref() {
            Some(v) => C::check(field, v),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strings.

/// Which characters a string field may hold.
#[derive(Copy, Clone, PartialEq)]
enum Chars {
    /// Anything but control characters other than tab, line feed and carriage return.
    Text,
    /// No control characters at all.
    Line,
    /// Printable ASCII, spaces included.
    Ascii,
    /// Printable ASCII without spaces, non-empty.
    Token,
}

fn text(field: &'static str, s: &str, max: usize, chars: Chars) -> Result<(), ProtocolError> {
    if s.len() > max {
        return Err(ProtocolError::TooLong {
            field,
            len: s.len(),
            max,
        });
    }
    let ok = match chars {
        Chars::Text => !s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
        Chars::Line => !s.chars().any(char::is_control),
        Chars::Ascii => s.bytes().all(|b| (0x20..0x7F).contains(&b)),
        Chars::Token => {
            if s.is_empty() {
                return Err(ProtocolError::Empty { field });
            }
            s.bytes().all(|b| b.is_ascii_graphic())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ProtocolError::BadCharacter { field })
    }
}

/// An absolute `http(s)` URL of printable ASCII (what `URL.href` gives) that the session
/// rules accept ([`session::web_url_host`]).
fn url(field: &'static str, s: &str) -> Result<(), ProtocolError> {
    if s.len() > MAX_URL_BYTES {
        return Err(ProtocolError::TooLong {
            field,
            len: s.len(),
            max: MAX_URL_BYTES,
        });
    }
    if s.is_empty() {
        return Err(ProtocolError::Empty { field });
    }
    let b = s.as_bytes();
    let web = (b.len() > 7 && b[..7].eq_ignore_ascii_case(b"http://"))
        || (b.len() > 8 && b[..8].eq_ignore_ascii_case(b"https://"));
    if !web || !b.iter().all(u8::is_ascii_graphic) || session::web_url_host(s).is_err() {
        return Err(ProtocolError::BadUrl { field });
    }
    Ok(())
}

/// Declares a string codec: a `String` of at most `max` bytes of the given characters.
macro_rules! text_codec {
    ($(#[$doc:meta])* $Name:ident, $max:expr, $chars:expr) => {
        $(#[$doc])*
        pub(super) struct $Name;

        impl Codec for $Name {
            type Value = String;
            type Wire = String;
            fn to_wire(v: &String) -> String {
                v.clone()
            }
            fn from_wire(w: &Archived<String>) -> String {
                w.as_str().to_owned()
            }
            fn check(field: &'static str, w: &Archived<String>) -> Result<(), ProtocolError> {
                text(field, w.as_str(), $max, $chars)
            }
        }
    };
}

text_codec!(
    /// Chat text: at most [`MAX_CHAT_BYTES`], tabs and line breaks but no other control
    /// characters.
    ChatText,
    MAX_CHAT_BYTES,
    Chars::Text
);
text_codec!(
    /// A value typed by an agent: at most [`MAX_INPUT_BYTES`], like chat text.
    InputValue,
    MAX_INPUT_BYTES,
    Chars::Text
);
text_codec!(
    /// A shared link's title: at most [`MAX_TITLE_BYTES`], no control characters.
    Title,
    MAX_TITLE_BYTES,
    Chars::Line
);
text_codec!(
    /// An error's developer-facing text: at most [`MAX_ERROR_MESSAGE_BYTES`] of printable
    /// ASCII.
    ErrorText,
    MAX_ERROR_MESSAGE_BYTES,
    Chars::Ascii
);

/// A web URL ([`url`]).
pub(super) struct Url;

impl Codec for Url {
    type Value = String;
    type Wire = String;
    fn to_wire(v: &String) -> String {
        v.clone()
    }
    fn from_wire(w: &Archived<String>) -> String {
        w.as_str().to_owned()
    }
    fn check(field: &'static str, w: &Archived<String>) -> Result<(), ProtocolError> {
        url(field, w.as_str())
    }
}

impl Codec for AuthToken {
    type Value = AuthToken;
    type Wire = String;
    fn to_wire(v: &AuthToken) -> String {
        v.0.clone()
    }
    fn from_wire(w: &Archived<String>) -> AuthToken {
        AuthToken(w.as_str().to_owned())
    }
    fn check(field: &'static str, w: &Archived<String>) -> Result<(), ProtocolError> {
        text(field, w.as_str(), MAX_TOKEN_BYTES, Chars::Token)
    }
}

impl Codec for CustomerSecret {
    type Value = CustomerSecret;
    type Wire = String;
    fn to_wire(v: &CustomerSecret) -> String {
        v.0.clone()
    }
    fn from_wire(w: &Archived<String>) -> CustomerSecret {
        CustomerSecret(w.as_str().to_owned())
    }
    fn check(field: &'static str, w: &Archived<String>) -> Result<(), ProtocolError> {
        text(field, w.as_str(), MAX_SECRET_BYTES, Chars::Token)
    }
}

/// An engine frame, opaque here: non-empty, at most [`MAX_FRAME_BYTES`].
pub(super) struct FrameBytes;

impl Codec for FrameBytes {
    type Value = Vec<u8>;
    type Wire = Vec<u8>;
    fn to_wire(v: &Vec<u8>) -> Vec<u8> {
        v.clone()
    }
    fn from_wire(w: &Archived<Vec<u8>>) -> Vec<u8> {
        w.as_slice().to_vec()
    }
    fn check(field: &'static str, w: &Archived<Vec<u8>>) -> Result<(), ProtocolError> {
        let len = w.len();
        if len == 0 {
            return Err(ProtocolError::Empty { field });
        }
        if len > MAX_FRAME_BYTES {
            return Err(ProtocolError::TooLong {
                field,
                len,
                max: MAX_FRAME_BYTES,
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Enum codes.

/// Declares the `u8` wire codes of a fieldless enum. The first variant listed is the
/// (unreachable) fallback of `from_wire`.
macro_rules! code_codec {
    ($T:ident { $First:ident = $first:literal $(, $V:ident = $code:literal)* $(,)? }) => {
        impl Codec for $T {
            type Value = $T;
            type Wire = u8;
            fn to_wire(v: &$T) -> u8 {
                match v {
                    $T::$First => $first,
                    $( $T::$V => $code, )*
                }
            }
            fn from_wire(w: &u8) -> $T {
                match *w {
                    $( $code => $T::$V, )*
                    _ => $T::$First,
                }
            }
            fn check(field: &'static str, w: &u8) -> Result<(), ProtocolError> {
                if [$first $(, $code)*].contains(w) {
                    Ok(())
                } else {
                    Err(ProtocolError::UnknownCode { field, code: *w })
                }
            }
        }
    };
}

code_codec!(Role {
    Customer = 1,
    Agent = 2,
});

code_codec!(ControlCeiling {
    Full = 1,
    Partial = 2,
    None = 3,
});

code_codec!(PauseReason {
    CustomerStoppedSharing = 1,
    OutsideAllowedDomains = 2,
});

code_codec!(EndReason {
    CustomerEnded = 1,
    AgentEnded = 2,
    BackendEnded = 3,
    Inactivity = 4,
    AgentGone = 5,
    CustomerGone = 6,
    PolicyViolation = 7,
    Error = 8,
    InviteDeclined = 9,
    InviteWithdrawn = 10,
    NoAgentJoined = 11,
});

code_codec!(ActionKind {
    Pointer = 1,
    Highlight = 2,
    Scroll = 3,
    Click = 4,
    Input = 5,
    Navigate = 6,
    Submit = 7,
});

/// The [`UrlError`]s in wire order: [`DenyReason::UnsafeUrl`] is 32 + the index.
pub(super) const URL_ERRORS: [UrlError; 6] = [
    UrlError::Empty,
    UrlError::TooLong,
    UrlError::ControlCharacter,
    UrlError::NotWeb,
    UrlError::MissingHost,
    UrlError::InvalidHost,
];

/// A [`DenyReason`]'s code: 1..=13; `UnsafeUrl` is 32 + its [`UrlError`]'s index.
pub(super) fn deny_code(r: DenyReason) -> u8 {
    match r {
        DenyReason::SessionEnded => 1,
        DenyReason::NotStarted => 2,
        DenyReason::SessionPaused => 3,
        DenyReason::NotAParticipant => 4,
        DenyReason::AgentDisconnected => 5,
        DenyReason::ControlNotPermitted => 6,
        DenyReason::FormsNotEditable => 7,
        DenyReason::NotInControl => 8,
        DenyReason::TargetMissing => 9,
        DenyReason::ElementDisabled => 10,
        DenyReason::MaskedField => 11,
        DenyReason::OutsideAllowedDomains => 12,
        DenyReason::WrongRole => 13,
        DenyReason::UnsafeUrl(e) => 32 + URL_ERRORS.iter().position(|&u| u == e).unwrap_or(0) as u8,
    }
}

/// The [`DenyReason`] of a code.
pub(super) fn deny_from_code(code: u8) -> Option<DenyReason> {
    Some(match code {
        1 => DenyReason::SessionEnded,
        2 => DenyReason::NotStarted,
        3 => DenyReason::SessionPaused,
        4 => DenyReason::NotAParticipant,
        5 => DenyReason::AgentDisconnected,
        6 => DenyReason::ControlNotPermitted,
        7 => DenyReason::FormsNotEditable,
        8 => DenyReason::NotInControl,
        9 => DenyReason::TargetMissing,
        10 => DenyReason::ElementDisabled,
        11 => DenyReason::MaskedField,
        12 => DenyReason::OutsideAllowedDomains,
        13 => DenyReason::WrongRole,
        32.. => DenyReason::UnsafeUrl(*URL_ERRORS.get(usize::from(code - 32))?),
        _ => return None,
    })
}

/// A [`DenyReason`] as a field of its own ([`deny_code`]).
impl Codec for DenyReason {
    type Value = DenyReason;
    type Wire = u8;
    fn to_wire(v: &DenyReason) -> u8 {
        deny_code(*v)
    }
    fn from_wire(w: &u8) -> DenyReason {
        deny_from_code(*w).unwrap_or(DenyReason::NotInControl)
    }
    fn check(field: &'static str, w: &u8) -> Result<(), ProtocolError> {
        match deny_from_code(*w) {
            Some(_) => Ok(()),
            None => Err(ProtocolError::UnknownCode { field, code: *w }),
        }
    }
}

/// An [`ErrorCode`] on the wire: the code, and a detail that only
/// [`ErrorCode::PermissionDenied`] has (its [`DenyReason`]; 0 for every other code).
#[derive(Archive, Serialize)]
pub(super) struct WErrorCode {
    pub(super) code: u8,
    pub(super) detail: u8,
}

impl ErrorCode {
    fn codes(self) -> (u8, u8) {
        match self {
            ErrorCode::BadMessage => (1, 0),
            ErrorCode::UnsupportedVersion => (2, 0),
            ErrorCode::TooLarge => (3, 0),
            ErrorCode::Unauthorized => (4, 0),
            ErrorCode::SessionNotFound => (5, 0),
            ErrorCode::SessionEnded => (6, 0),
            ErrorCode::SessionFull => (7, 0),
            ErrorCode::AgentBusy => (8, 0),
            ErrorCode::RateLimited => (9, 0),
            ErrorCode::PermissionDenied(r) => (10, deny_code(r)),
            ErrorCode::NeedKeyframe => (11, 0),
            ErrorCode::Internal => (12, 0),
        }
    }

    fn from_codes(field: &'static str, code: u8, detail: u8) -> Result<ErrorCode, ProtocolError> {
        let c = match code {
            1 => ErrorCode::BadMessage,
            2 => ErrorCode::UnsupportedVersion,
            3 => ErrorCode::TooLarge,
            4 => ErrorCode::Unauthorized,
            5 => ErrorCode::SessionNotFound,
            6 => ErrorCode::SessionEnded,
            7 => ErrorCode::SessionFull,
            8 => ErrorCode::AgentBusy,
            9 => ErrorCode::RateLimited,
            10 => {
                return deny_from_code(detail)
                    .map(ErrorCode::PermissionDenied)
                    .ok_or(ProtocolError::UnknownCode {
                        field: part(field, "detail"),
                        code: detail,
                    });
            }
            11 => ErrorCode::NeedKeyframe,
            12 => ErrorCode::Internal,
            _ => return Err(ProtocolError::UnknownCode { field, code }),
        };
        if detail != 0 {
            return Err(ProtocolError::Inconsistent {
                field: part(field, "detail"),
            });
        }
        Ok(c)
    }
}

impl Codec for ErrorCode {
    type Value = ErrorCode;
    type Wire = WErrorCode;
    fn to_wire(v: &ErrorCode) -> WErrorCode {
        let (code, detail) = v.codes();
        WErrorCode { code, detail }
    }
    fn from_wire(w: &ArchivedWErrorCode) -> ErrorCode {
        ErrorCode::from_codes("Error.code", w.code, w.detail).unwrap_or(ErrorCode::BadMessage)
    }
    fn check(field: &'static str, w: &ArchivedWErrorCode) -> Result<(), ProtocolError> {
        ErrorCode::from_codes(field, w.code, w.detail).map(|_| ())
    }
}

/// A [`Navigation`] on the wire: a code (1 URL, 2 back, 3 forward, 4 reload) and the URL,
/// empty for every code but 1.
#[derive(Archive, Serialize)]
pub(super) struct WNavigation {
    pub(super) op: u8,
    pub(super) url: String,
}

impl Codec for Navigation {
    type Value = Navigation;
    type Wire = WNavigation;
    fn to_wire(v: &Navigation) -> WNavigation {
        let (op, url) = match v {
            Navigation::Url(u) => (1, u.clone()),
            Navigation::Back => (2, String::new()),
            Navigation::Forward => (3, String::new()),
            Navigation::Reload => (4, String::new()),
        };
        WNavigation { op, url }
    }
    fn from_wire(w: &ArchivedWNavigation) -> Navigation {
        match w.op {
            2 => Navigation::Back,
            3 => Navigation::Forward,
            4 => Navigation::Reload,
            _ => Navigation::Url(w.url.as_str().to_owned()),
        }
    }
    fn check(field: &'static str, w: &ArchivedWNavigation) -> Result<(), ProtocolError> {
        match w.op {
            1 => url(field, w.url.as_str()),
            2..=4 if w.url.is_empty() => Ok(()),
            2..=4 => Err(ProtocolError::Inconsistent { field }),
            code => Err(ProtocolError::UnknownCode { field, code }),
        }
    }
}

/// [`Mode::Control`]'s agent, or nothing in pointer mode.
impl Codec for Mode {
    type Value = Mode;
    type Wire = Option<u32>;
    fn to_wire(v: &Mode) -> Option<u32> {
        match v {
            Mode::Pointer => None,
            Mode::Control(p) => Some(p.0),
        }
    }
    fn from_wire(w: &Archived<Option<u32>>) -> Mode {
        w.as_ref().map_or(Mode::Pointer, |p| {
            Mode::Control(ParticipantId(p.to_native()))
        })
    }
}

/// [`HighlightScope::One`]'s id, or nothing for all.
impl Codec for HighlightScope {
    type Value = HighlightScope;
    type Wire = Option<u32>;
    fn to_wire(v: &HighlightScope) -> Option<u32> {
        match v {
            HighlightScope::One(id) => Some(*id),
            HighlightScope::All => None,
        }
    }
    fn from_wire(w: &Archived<Option<u32>>) -> HighlightScope {
        w.as_ref().map_or(HighlightScope::All, |id| {
            HighlightScope::One(id.to_native())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Structs.

/// [`ClientInfo`] on the wire.
#[derive(Archive, Serialize)]
pub(super) struct WClient {
    browser: String,
    browser_version: String,
    os: String,
    client_version: String,
}

impl Codec for ClientInfo {
    type Value = ClientInfo;
    type Wire = WClient;
    fn to_wire(c: &ClientInfo) -> WClient {
        WClient {
            browser: c.browser.clone(),
            browser_version: c.browser_version.clone(),
            os: c.os.clone(),
            client_version: c.client_version.clone(),
        }
    }
    fn from_wire(c: &ArchivedWClient) -> ClientInfo {
        ClientInfo {
            browser: c.browser.as_str().to_owned(),
            browser_version: c.browser_version.as_str().to_owned(),
            os: c.os.as_str().to_owned(),
            client_version: c.client_version.as_str().to_owned(),
        }
    }
    fn check(field: &'static str, c: &ArchivedWClient) -> Result<(), ProtocolError> {
        let max = MAX_CLIENT_FIELD_BYTES;
        text(part(field, "browser"), c.browser.as_str(), max, Chars::Line)?;
        text(
            part(field, "browser_version"),
            c.browser_version.as_str(),
            max,
            Chars::Line,
        )?;
        text(part(field, "os"), c.os.as_str(), max, Chars::Line)?;
        text(
            part(field, "client_version"),
            c.client_version.as_str(),
            max,
            Chars::Line,
        )
    }
}

/// [`Reconnect`] on the wire.
#[derive(Archive, Serialize)]
pub(super) struct WReconnect {
    session: u32,
    participant: u32,
    token: [u8; 16],
    last_seq: Option<u64>,
}

impl Codec for Reconnect {
    type Value = Reconnect;
    type Wire = WReconnect;
    fn to_wire(r: &Reconnect) -> WReconnect {
        WReconnect {
            session: SessionId::to_wire(&r.session_id),
            participant: ParticipantId::to_wire(&r.participant_id),
            token: r.token.0,
            last_seq: r.last_seq,
        }
    }
    fn from_wire(r: &ArchivedWReconnect) -> Reconnect {
        Reconnect {
            session_id: SessionId::from_wire(&r.session),
            participant_id: ParticipantId::from_wire(&r.participant),
            token: ResumeToken(r.token),
            last_seq: Option::<u64>::from_wire(&r.last_seq),
        }
    }
    fn check(field: &'static str, r: &ArchivedWReconnect) -> Result<(), ProtocolError> {
        SessionId::check(part(field, "session_id"), &r.session)
    }
}

/// [`Rect`] on the wire: every coordinate checked, the size non-negative.
#[derive(Archive, Serialize)]
pub(super) struct WRect {
    x: f32,
    y: f32,
    width: f32,
    height: f32,
}

impl Codec for Rect {
    type Value = Rect;
    type Wire = WRect;
    fn to_wire(r: &Rect) -> WRect {
        WRect {
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
        }
    }
    fn from_wire(r: &ArchivedWRect) -> Rect {
        Rect {
            x: r.x.to_native(),
            y: r.y.to_native(),
            width: r.width.to_native(),
            height: r.height.to_native(),
        }
    }
    fn check(field: &'static str, r: &ArchivedWRect) -> Result<(), ProtocolError> {
        coord(field, r.x.to_native())?;
        coord(field, r.y.to_native())?;
        size(field, r.width.to_native())?;
        size(field, r.height.to_native())
    }
}

impl Codec for Color {
    type Value = Color;
    type Wire = [u8; 4];
    fn to_wire(c: &Color) -> [u8; 4] {
        [c.r, c.g, c.b, c.a]
    }
    fn from_wire(&[r, g, b, a]: &[u8; 4]) -> Color {
        Color { r, g, b, a }
    }
}

/// Whether an archived mode and ceiling agree: control only under a ceiling that permits it.
/// `ceiling` has passed its own check.
pub(super) fn control_permitted(
    field: &'static str,
    controller: &Archived<Option<u32>>,
    ceiling: u8,
) -> Result<(), ProtocolError> {
    if controller.is_some() && !ControlCeiling::from_wire(&ceiling).permits_control() {
        return Err(ProtocolError::Inconsistent { field });
    }
    Ok(())
}
