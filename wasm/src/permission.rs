//! The customer side's permission check of an agent action, against the live page:
//! `CaptureEngine.checkAgentAction(msg, ctx)`.
//!
//! The relay checks every agent action against its mirror before forwarding it, but its
//! mirror can be a frame behind the page; the spec wants the customer side to check again
//! right before replaying. This is that check: the session rules' [`check_action`] with the
//! facts about the target taken from the capture's live tree ([`TargetFacts::in_tree`]: does
//! the element exist for the agent, is it or an ancestor disabled for agents or blocked, is it
//! a form control, is it masked), under the context the customer side knows (the ceiling of
//! `Joined`/`ModeChanged`, whether the acting agent holds control, the allowed domains).
//!
//! The live tree is the engine's view of the page as of the last batch: flush the capture
//! before checking, so that an element added or changed a moment ago is known.
//!
//! Nothing of the action's contents (typed text, URLs) appears in a result or an error.

use cobrowse_engine::WireId;
use cobrowse_engine::protocol::{HighlightScope, Message};
use cobrowse_engine::protocol::{ObjectForm, ObjectFormError, ObjectValue, ToObject};
use cobrowse_engine::session::{
    ActionContext, AgentAction, AllowedAction, ControlCeiling, Point, SessionPolicy, TargetFacts,
    TypedText, check_action,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::CaptureEngine;
#[cfg(not(feature = "agent"))]
use crate::protocol::AGENT_ACTIONS;
#[cfg(feature = "agent")]
use crate::protocol::message_from_js;
use crate::protocol::{JsObjectValue, form_to_js};
#[cfg(not(feature = "agent"))]
use cobrowse_engine::protocol::MessageView;

/// The `ctx` argument, read field by field (not through serde: its deserializer brought
/// float formatting and its generic error machinery into the module for one small object).
struct CheckContext {
    /// `"full"`, `"partial"` or `"none"` (any case: `Joined.ceiling`'s `"Full"` is accepted).
    ceiling: String,
    /// Whether the acting agent holds control.
    in_control: bool,
    /// Allowed domain patterns (`"example.com"`, `"*.example.com"`); none or empty: any.
    allowed_domains: Option<Vec<String>>,
}

impl CheckContext {
    /// Reads `ctx`: an object with exactly the fields above (`inControl`, `allowedDomains`);
    /// `allowedDomains` may be left out, `null` or `undefined`. A misspelt field (`incontrol`)
    /// is refused rather than silently defaulted.
    fn from_js(ctx: JsValue) -> Result<CheckContext, JsError> {
        let ctx = JsObjectValue(ctx);
        let keys = ctx
            .keys()
            .ok_or_else(|| JsError::new("cobrowse: bad check context: not an object"))?;
        if let Some(key) = keys
            .iter()
            .find(|k| !["ceiling", "inControl", "allowedDomains"].contains(&k.as_str()))
        {
            return Err(JsError::new(&format!(
                "cobrowse: unknown check context field `{key}`"
            )));
        }
        let ceiling = ctx
            .get("ceiling")
            .and_then(|v| v.as_string())
            .ok_or_else(|| {
                JsError::new("cobrowse: bad check context: `ceiling` must be a string")
            })?;
        let in_control = ctx
            .get("inControl")
            .and_then(|v| v.as_bool())
            .ok_or_else(|| {
                JsError::new("cobrowse: bad check context: `inControl` must be a boolean")
            })?;
        let allowed_domains = match ctx.get("allowedDomains").filter(|v| !v.is_null()) {
            Some(v) => Some(
                v.0.dyn_ref::<js_sys::Array>()
                    .and_then(|a| a.iter().map(|s| s.as_string()).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| {
                        JsError::new(
                            "cobrowse: bad check context: `allowedDomains` must be an array of strings",
                        )
                    })?,
            ),
            None => None,
        };
        Ok(CheckContext {
            ceiling,
            in_control,
            allowed_domains,
        })
    }
}

fn point(x: f32, y: f32) -> Point {
    // The protocol bounds coordinates to +-2^24, well inside i32.
    Point::new(x.round() as i32, y.round() as i32)
}

/// The session rules' action of an agent message; `None` for messages that are no action.
/// `ripple` is set for a `ClickRipple` (presence, checked like a pointer, shown as a ripple).
fn agent_action(msg: Message) -> Option<(AgentAction, bool)> {
    Some(match msg {
        Message::Pointer { x, y, .. } => (AgentAction::Pointer { at: point(x, y) }, false),
        Message::ClickRipple { x, y, .. } => (AgentAction::Pointer { at: point(x, y) }, true),
        Message::Highlight { target, .. } => (AgentAction::Highlight { target }, false),
        Message::HighlightClear {
            which: HighlightScope::All | HighlightScope::One(_),
            ..
        } => (AgentAction::ClearHighlights, false),
        Message::Scroll { target, x, y } => (
            AgentAction::Scroll {
                target,
                to: point(x, y),
            },
            false,
        ),
        Message::AgentClick { target, x, y } => (
            AgentAction::Click {
                target,
                at: point(x, y),
            },
            false,
        ),
        Message::AgentInput { target, value } => (
            AgentAction::Input {
                target,
                text: TypedText::new(value),
            },
            false,
        ),
        Message::AgentSubmit { target } => (AgentAction::Submit { target }, false),
        Message::Navigate { to } => (AgentAction::Navigate(to), false),
        _ => return None,
    })
}

fn ceiling(text: &str) -> Result<ControlCeiling, JsError> {
    match text.to_ascii_lowercase().as_str() {
        "full" => Ok(ControlCeiling::Full),
        "partial" => Ok(ControlCeiling::Partial),
        "none" => Ok(ControlCeiling::None),
        _ => Err(JsError::new(
            "cobrowse: ctx.ceiling is \"full\", \"partial\" or \"none\"",
        )),
    }
}

/// The error of writing an object form (it cannot happen for these values).
fn js_error(e: ObjectFormError) -> JsError {
    JsError::new(&format!("cobrowse: {e}"))
}

fn allowed_name(a: AllowedAction) -> &'static str {
    match a {
        AllowedAction::ShowPointer => "ShowPointer",
        AllowedAction::ShowRipple => "ShowRipple",
        AllowedAction::Highlight => "Highlight",
        AllowedAction::ClearHighlights => "ClearHighlights",
        AllowedAction::Replay(_) => "Replay",
    }
}

/// What `checkAgentAction` takes: the message object in the full module.
#[cfg(feature = "agent")]
pub(crate) type ActionMessage = JsValue;

/// What `checkAgentAction` takes: the message's bytes in the customer's module.
#[cfg(not(feature = "agent"))]
pub(crate) type ActionMessage = Vec<u8>;

/// The message of an object, validated as its encoding would be.
#[cfg(feature = "agent")]
fn action_message(msg: JsValue) -> Result<Message, JsError> {
    message_from_js(msg).map(|(msg, _)| msg)
}

/// The message of its bytes, validated ([`MessageView::access`]), with `message_from_js`'s
/// error text for bytes that are not a valid message. Only the agent actions are read (the
/// other kinds' conversions stay out of the module): another kind is refused as
/// `check_agent_action` refuses it.
#[cfg(not(feature = "agent"))]
fn action_message(bytes: Vec<u8>) -> Result<Message, JsError> {
    let view = MessageView::access(&bytes)
        .map_err(|e| JsError::new(&format!("cobrowse: invalid message: {e}")))?;
    view.to_message_among::<{ AGENT_ACTIONS.0 }>()
        .ok_or_else(|| {
            JsError::new(&format!(
                "cobrowse: a {} message is not an agent action",
                view.kind().name()
            ))
        })
}

#[wasm_bindgen]
impl CaptureEngine {
    /// Checks an agent action message (`AgentClick`, `AgentInput`, `AgentSubmit`, `Navigate`,
    /// `Scroll`; also `Pointer`, `ClickRipple`, `Highlight`, `HighlightClear`) against the live
    /// page under `ctx` (`{ ceiling: "full" | "partial" | "none", inControl: boolean,
    /// allowedDomains?: string[] }`). Returns `{ allowed: true, action, kind }` or
    /// `{ allowed: false, reason, message, kind, target }` (see the module docs). Throws when
    /// `msg` is not a valid agent action message or `ctx` is malformed.
    ///
    /// In the customer's module `msg` is the message's bytes: its widget writes them in
    /// JavaScript (`bindings/web/src/wasm-customer.ts`, with the object form's checks and a
    /// message of another kind refused by its kind first) and the engine validates them here as
    /// the full module validates the object's encoding.
    #[wasm_bindgen(js_name = checkAgentAction)]
    pub fn check_agent_action(&self, msg: ActionMessage, ctx: JsValue) -> Result<JsValue, JsError> {
        let msg = action_message(msg)?;
        let kind = msg.kind();
        let (action, ripple) = agent_action(msg).ok_or_else(|| {
            JsError::new(&format!(
                "cobrowse: a {} message is not an agent action",
                kind.name()
            ))
        })?;
        let ctx = CheckContext::from_js(ctx)?;
        let mut policy = SessionPolicy {
            control_ceiling: ceiling(&ctx.ceiling)?,
            ..SessionPolicy::default()
        };
        if let Some(domains) = ctx.allowed_domains {
            policy = policy
                .with_allowed_domains(domains)
                .map_err(|e| JsError::new(&format!("cobrowse: allowedDomains: {e}")))?;
        }
        let facts = match (action.target(), &self.capture) {
            (Some(target), Some(capture)) => TargetFacts::in_tree(capture.tree(), target),
            _ => TargetFacts::MISSING,
        };
        let context = ActionContext {
            policy: &policy,
            in_control: ctx.in_control,
        };
        let kind = action.kind();
        let message;
        let target = action.target();
        let result = check_action(&context, &action, &facts);
        let fields = match &result {
            // `{ allowed: true, action, kind }`: `action` is what to do (`"ShowPointer"`,
            // `"ShowRipple"`, `"Highlight"`, `"ClearHighlights"`, or `"Replay"`: replay the
            // action on the page), `kind` the action's kind (`"Click"`, ...).
            Ok(allowed) => vec![
                ("allowed", ObjectForm::Bool(true)),
                (
                    "action",
                    ObjectForm::String(if ripple {
                        "ShowRipple"
                    } else {
                        allowed_name(*allowed)
                    }),
                ),
                ("kind", kind.to_object().map_err(js_error)?),
            ],
            // `{ allowed: false, reason, message, kind, target }`: what an `ActionDenied`
            // needs (the reason's object form, its text for people, the action's kind, its
            // target or `null`).
            Err(reason) => {
                message = reason.to_string();
                vec![
                    ("allowed", ObjectForm::Bool(false)),
                    ("reason", reason.to_object().map_err(js_error)?),
                    ("message", ObjectForm::String(&message)),
                    ("kind", kind.to_object().map_err(js_error)?),
                    ("target", target.to_object().map_err(js_error)?),
                ]
            }
        };
        Ok(form_to_js(ObjectForm::Object(fields)))
    }

    /// The wire id (what messages name elements by) of the node bound to `handle`; 0 when the
    /// node has none (not sent to agents yet, or not visible to them). Flush the capture first
    /// for a node added a moment ago.
    #[wasm_bindgen(js_name = wireIdOfHandle)]
    pub fn wire_id_of_handle(&self, handle: u32) -> u32 {
        // Handles of freed nodes are unbound (`take_freed`), so a bound handle names a node
        // of the live tree.
        match (&self.capture, self.handles.node(handle)) {
            (Some(capture), Some(node)) => capture.tree().wire_id(node).0,
            _ => 0,
        }
    }

    /// The handle of the live node with wire id `id`; 0 when there is none.
    #[wasm_bindgen(js_name = handleOfWireId)]
    pub fn handle_of_wire_id(&self, id: u32) -> u32 {
        self.capture
            .as_ref()
            .and_then(|c| c.tree().node_by_wire(WireId(id)))
            .map_or(0, |node| self.handles.handle(node))
    }
}
