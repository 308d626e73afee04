//! The macro that turns the message table ([`super::messages`]) into code: one entry per
//! message generates its [`Message`](super::Message) variant, its
//! [`MessageKind`](super::MessageKind) and wire code, who may send it, the claimed sender, the
//! archived body struct, encoding, validation, and decoding to the owned message.
//!
//! An entry reads:
//!
//! ```text
//! /// Docs of the variant.
//! Kind = code, from Party | Party [, sender field] => WBody { field: Type [as Codec], ... } [, check f];
//! ```
//!
//! The body struct's fields are the message's fields in order, each archived as its codec's
//! wire form (`Type`'s own codec unless `as Codec` names another): the order of the fields is
//! the byte layout. A unit message (`=> WBody` without fields) is an empty archive. `check f`
//! adds a check across fields, run after every field's own.

/// The codec of a table field: `Type as Codec`, or `Type` itself.
macro_rules! codec {
    ($T:ty as $C:ty) => {
        $C
    };
    ($T:ty) => {
        $T
    };
}

/// See the module docs.
macro_rules! define_messages {
    (
        $(
            $(#[$doc:meta])*
            $Kind:ident = $code:literal, from $($party:ident)|+ $(, sender $sender:ident)?
                => $W:ident $({
                    $( $(#[$fdoc:meta])* $field:ident : $T:ty $(as $C:ty)? ),* $(,)?
                })? $(, check $check:path)? ;
        )*
    ) => {
        /// One protocol message (owned). See the [module docs](super) for the wire format and
        /// validation.
        ///
        /// Coordinates are CSS pixels: relative to the target element's border box when a
        /// target wire id is given, to the document otherwise.
        #[derive(Clone, Debug, PartialEq)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize),
            serde(tag = "kind")
        )]
        #[non_exhaustive]
        pub enum Message {
            $(
                $(#[$doc])*
                $Kind $({ $( $(#[$fdoc])* $field: $T, )* })?,
            )*
        }

        /// What a message is: the byte at offset 6 of every message.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum MessageKind {
            $(
                #[doc = concat!("[`Message::", stringify!($Kind), "`].")]
                $Kind,
            )*
        }

        impl MessageKind {
            /// Every kind, in code order.
            pub const ALL: &'static [MessageKind] = &[ $( MessageKind::$Kind, )* ];

            /// The kind's wire code.
            pub const fn code(self) -> u8 {
                match self { $( MessageKind::$Kind => $code, )* }
            }

            /// The kind with this wire code.
            pub fn from_code(code: u8) -> Option<MessageKind> {
                match code { $( $code => Some(MessageKind::$Kind), )* _ => None }
            }

            /// The kind's name (`"Pointer"`), for logs and metrics.
            pub fn name(self) -> &'static str {
                match self { $( MessageKind::$Kind => stringify!($Kind), )* }
            }

            /// Whether `party` may originate this kind (the direction table a relay applies
            /// before anything else; it still checks modes, sessions and
            /// [`Message::sender`]). A relay forwards messages unchanged, so "originate" is
            /// who wrote it, not who forwarded it.
            pub const fn may_come_from(self, party: Party) -> bool {
                match self { $( MessageKind::$Kind => matches!(party, $(Party::$party)|+), )* }
            }
        }

        #[cfg(feature = "serde")]
        impl Message {
            /// The message of its object form (`{ kind: "Chat", from: 2, text: "hi" }`, see
            /// the `object_form` module), for the kinds of `KINDS` only (a [`KindSet`] mask):
            /// [`FromObject`](super::object_form::FromObject) with every kind. Another kind is
            /// refused as
            /// [`ObjectFormError::KindNotAmong`](super::object_form::ObjectFormError), and its
            /// conversion code is not compiled in (what a build that needs a few kinds saves).
            pub fn from_object_among<const KINDS: u128, V: super::object_form::ObjectValue>(
                v: &V,
            ) -> Result<Message, super::object_form::ObjectFormError> {
                #[allow(unused_imports)]
                use super::object_form::{field, only_keys};
                if const { KINDS == KindSet::ALL.0 } {
                    // Exactly `from_object`'s code (the full browser build measured larger
                    // otherwise).
                    return <Message as super::object_form::FromObject>::from_object(v);
                }
                let kind = v
                    .get("kind")
                    .and_then(|k| k.as_string())
                    .ok_or(super::object_form::ObjectFormError::UnknownKind)?;
                match kind.as_str() {
                    $(
                        stringify!($Kind) => {
                            if const { !KindSet(KINDS).contains(MessageKind::$Kind) } {
                                return Err(super::object_form::ObjectFormError::KindNotAmong);
                            }
                            only_keys(v, stringify!($Kind), &["kind" $($(, stringify!($field))*)?])?;
                            Ok(Message::$Kind $({ $(
                                $field: field(
                                    v,
                                    concat!(stringify!($Kind), ".", stringify!($field)),
                                    stringify!($field),
                                )?,
                            )* })?)
                        }
                    )*
                    _ => Err(super::object_form::ObjectFormError::UnknownKind),
                }
            }
        }

        $(
            #[doc = concat!("The body of [`Message::", stringify!($Kind), "`] on the wire.")]
            #[derive(Archive, Serialize)]
            pub(super) struct $W {
                $($( pub(super) $field: <codec!($T $(as $C)?) as Codec>::Wire, )*)?
            }
        )*

        /// A body that passed rkyv validation, in place.
        #[derive(Copy, Clone)]
        pub(super) enum Body<'a> {
            $( $Kind(&'a Archived<$W>), )*
        }

        impl<'a> Body<'a> {
            /// Bytecheck-validates `archive` as `kind`'s body (no semantic checks yet).
            pub(super) fn access(
                kind: MessageKind,
                archive: &'a [u8],
            ) -> Result<Body<'a>, ProtocolError> {
                Ok(match kind {
                    $( MessageKind::$Kind => Body::$Kind(access_archive::<$W>(archive)?), )*
                })
            }

            /// Every field's checks, in field order, then the message's own.
            pub(super) fn validate(self) -> Result<(), ProtocolError> {
                match self {
                    $(
                        Body::$Kind(_w) => {
                            $($(
                                <codec!($T $(as $C)?) as Codec>::check(
                                    concat!(stringify!($Kind), ".", stringify!($field)),
                                    &_w.$field,
                                )?;
                            )*)?
                            $( $check(_w)?; )?
                        }
                    )*
                }
                Ok(())
            }

            /// The owned message of a validated body.
            pub(super) fn to_message(self) -> Message {
                match self {
                    $(
                        Body::$Kind(_w) => Message::$Kind $({
                            $( $field: <codec!($T $(as $C)?) as Codec>::from_wire(&_w.$field), )*
                        })?,
                    )*
                }
            }

            /// [`Body::to_message`] for the kinds of `KINDS` only (a [`KindSet`] mask): `None`
            /// for another kind, whose conversion is then not compiled in (what a build that
            /// reads a few kinds saves).
            pub(super) fn to_message_among<const KINDS: u128>(self) -> Option<Message> {
                Some(match self {
                    $(
                        Body::$Kind(_w) => {
                            if const { !KindSet(KINDS).contains(MessageKind::$Kind) } {
                                return None;
                            }
                            Message::$Kind $({
                                $( $field: <codec!($T $(as $C)?) as Codec>::from_wire(&_w.$field), )*
                            })?
                        }
                    )*
                })
            }

            /// The originator the body claims ([`Message::sender`]).
            pub(super) fn sender(self) -> Option<ParticipantId> {
                match self {
                    $($(
                        Body::$Kind(w) => Some(ParticipantId::from_wire(&w.$sender)),
                    )?)*
                    _ => None,
                }
            }
        }

        /// The message of its object form (`{ kind: "Chat", from: 2, text: "hi" }`, see the
        /// `object_form` module): the shape only; [`Message::try_encode`] validates what it
        /// holds. Unknown fields are refused, `Option` fields may be left out.
        #[cfg(feature = "serde")]
        impl super::object_form::FromObject for Message {
            fn from_object<V: super::object_form::ObjectValue>(
                v: &V,
            ) -> Result<Message, super::object_form::ObjectFormError> {
                #[allow(unused_imports)]
                use super::object_form::{field, only_keys};
                let kind = v
                    .get("kind")
                    .and_then(|k| k.as_string())
                    .ok_or(super::object_form::ObjectFormError::UnknownKind)?;
                match kind.as_str() {
                    $(
                        stringify!($Kind) => {
                            only_keys(v, stringify!($Kind), &["kind" $($(, stringify!($field))*)?])?;
                            Ok(Message::$Kind $({ $(
                                $field: field(
                                    v,
                                    concat!(stringify!($Kind), ".", stringify!($field)),
                                    stringify!($field),
                                )?,
                            )* })?)
                        }
                    )*
                    _ => Err(super::object_form::ObjectFormError::UnknownKind),
                }
            }
        }

        /// The object form of a message (`{ kind: "Chat", from: 2, text: "hi" }`): the shape
        /// serde's derived `Serialize` gives, without serde (see the `object_form` module).
        #[cfg(feature = "serde")]
        impl super::object_form::ToObject for Message {
            fn to_object(
                &self,
            ) -> Result<super::object_form::ObjectForm<'_>, super::object_form::ObjectFormError> {
                match self {
                    $(
                        Message::$Kind $({ $( $field, )* })? => {
                            #[allow(unused_mut)]
                            let mut fields = vec![(
                                "kind",
                                super::object_form::ObjectForm::String(stringify!($Kind)),
                            )];
                            $($(
                                super::object_form::put(
                                    &mut fields,
                                    concat!(stringify!($Kind), ".", stringify!($field)),
                                    stringify!($field),
                                    $field.to_object(),
                                )?;
                            )*)?
                            Ok(super::object_form::ObjectForm::Object(fields))
                        }
                    )*
                }
            }
        }

        impl Message {
            /// The message's kind.
            pub fn kind(&self) -> MessageKind {
                match self { $( Message::$Kind { .. } => MessageKind::$Kind, )* }
            }

            /// The participant the message claims as its originator, for the kinds that name
            /// one (`from` of chat, pointer, ripple, highlights and shared links; the
            /// requesting agent of [`Message::ControlRequest`]). A relay rejects a message
            /// whose claim is not the authenticated sender.
            pub fn sender(&self) -> Option<ParticipantId> {
                match self {
                    $($( Message::$Kind { $sender, .. } => Some(*$sender), )?)*
                    _ => None,
                }
            }

            /// The archive of the message's body after the prefix (rkyv, every field through
            /// its codec).
            pub(super) fn archive_body(&self) -> Vec<u8> {
                let kind = self.kind();
                match self {
                    $(
                        Message::$Kind $({ $( $field, )* })? => archive(kind.code(), &$W {
                            $($( $field: <codec!($T $(as $C)?) as Codec>::to_wire($field), )*)?
                        }),
                    )*
                }
            }

            /// The archive of the message's body after the prefix (rkyv, every field through
            /// its codec), for the kinds of `KINDS` (a [`KindSet`] mask) only: the encoding of
            /// the other kinds is not compiled in, and for them the result is empty (callers
            /// check the kind first).
            pub(super) fn archive_body_among<const KINDS: u128>(&self) -> Vec<u8> {
                let kind = self.kind();
                debug_assert!(KindSet(KINDS).contains(kind), "{kind:?} is checked by the caller");
                match self {
                    $(
                        Message::$Kind $({ $( $field, )* })? => {
                            if const { !KindSet(KINDS).contains(MessageKind::$Kind) } {
                                return Vec::new();
                            }
                            archive(kind.code(), &$W {
                                $($( $field: <codec!($T $(as $C)?) as Codec>::to_wire($field), )*)?
                            })
                        }
                    )*
                }
            }
        }
    };
}
