//! The permission check of one agent action: [`check_action`].
//!
//! A pure function of the policy, whether the agent holds control, the action, and the facts
//! about its target element that the caller knows ([`TargetFacts`]). [`super::Session`] adds the
//! lifecycle and membership checks in front of it.
//!
//! | action     | pointer mode        | in control, Full       | in control, Partial            | ceiling None          |
//! |------------|---------------------|------------------------|--------------------------------|-----------------------|
//! | pointer    | shown               | shown                  | shown                          | shown                 |
//! | highlight  | shown               | shown                  | shown                          | shown                 |
//! | click      | ripple only         | replayed               | replayed (not on form controls)| ripple only           |
//! | scroll     | `NotInControl`      | replayed               | replayed                       | `ControlNotPermitted` |
//! | navigate   | `NotInControl`      | replayed               | replayed                       | `ControlNotPermitted` |
//! | input      | `NotInControl`      | replayed               | `FormsNotEditable`             | `ControlNotPermitted` |
//! | submit     | `NotInControl`      | replayed               | `FormsNotEditable`             | `ControlNotPermitted` |
//!
//! Order of the checks for actions that need control: ceiling (`ControlNotPermitted`, then the
//! Partial form rule `FormsNotEditable`), control (`NotInControl`), then the target: it must
//! exist (`TargetMissing`), not be disabled for agents (`ElementDisabled`: submit buttons by
//! default, and whatever the administrator disabled), and for input not be masked
//! (`MaskedField`). A navigation URL must be `http(s)` (`UnsafeUrl`) on an allowed domain
//! (`OutsideAllowedDomains`).

use std::fmt;

use crate::View;
use crate::dom::tree::{Tree, WireId};

use super::policy::{ControlCeiling, SessionPolicy};
use super::url::{UrlError, web_url_host};
use super::values::{AgentId, Point};

/// The spec's message for form input under [`ControlCeiling::Partial`].
pub const FORMS_NOT_EDITABLE_MESSAGE: &str = "Forms cannot be edited on the agent side";

/// The kinds of agent action the rules distinguish.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ActionKind {
    /// Moving the pointer (shown on the customer's page).
    Pointer,
    /// Adding or clearing highlights.
    Highlight,
    /// Scrolling the page or an element.
    Scroll,
    /// Clicking an element (a ripple only, in pointer mode).
    Click,
    /// Typing into a form field.
    Input,
    /// Going to a URL, back, forward or reloading.
    Navigate,
    /// Submitting a form.
    Submit,
}

impl ActionKind {
    /// Every kind.
    pub const ALL: [ActionKind; 7] = [
        ActionKind::Pointer,
        ActionKind::Highlight,
        ActionKind::Scroll,
        ActionKind::Click,
        ActionKind::Input,
        ActionKind::Navigate,
        ActionKind::Submit,
    ];

    /// Whether the action is replayed on the customer's page only for the agent in control
    /// (a click without control still shows a ripple).
    pub fn needs_control(self) -> bool {
        !matches!(self, ActionKind::Pointer | ActionKind::Highlight)
    }

    /// Whether [`ControlCeiling::Partial`] forbids it ("Forms cannot be edited on the agent
    /// side").
    pub fn is_form_editing(self) -> bool {
        matches!(self, ActionKind::Input | ActionKind::Submit)
    }

    /// A lower-case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Pointer => "pointer",
            ActionKind::Highlight => "highlight",
            ActionKind::Scroll => "scroll",
            ActionKind::Click => "click",
            ActionKind::Input => "input",
            ActionKind::Navigate => "navigate",
            ActionKind::Submit => "submit",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text an agent typed. Carried to the customer's page but never shown by `Debug`, never
/// audited and never put in an error.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TypedText(String);

impl TypedText {
    /// Wraps the agent's typing.
    pub fn new(text: impl Into<String>) -> TypedText {
        TypedText(text.into())
    }
    /// The text, for replaying it on the page.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The text, for replaying it on the page.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for TypedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TypedText(<redacted>)")
    }
}

/// Where an agent in control navigates (the session rules' action, and the protocol's
/// [`Message::Navigate`](crate::protocol::Message::Navigate)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Navigation {
    /// An absolute `http:`/`https:` URL from the agent's URL bar, of printable ASCII (what
    /// `URL.href` gives), at most [`MAX_URL_BYTES`](super::MAX_URL_BYTES). The customer side
    /// still checks it against the allowed domains.
    Url(String),
    /// History back.
    Back,
    /// History forward.
    Forward,
    /// Reload the page.
    Reload,
}

/// One thing an agent does on the shared page. Element targets are wire ids from the frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentAction {
    /// The agent's pointer moved.
    Pointer {
        /// Where it is.
        at: Point,
    },
    /// Mark an element (visible to both sides until it fades).
    Highlight {
        /// The element.
        target: WireId,
    },
    /// Remove this agent's highlights.
    ClearHighlights,
    /// Scroll an element, or the page when `target` is `None`.
    Scroll {
        /// The scrolled element, `None` for the page.
        target: Option<WireId>,
        /// The new scroll offset.
        to: Point,
    },
    /// Click an element (a ripple at `at` in pointer mode).
    Click {
        /// The element under the pointer.
        target: WireId,
        /// Where the click happened.
        at: Point,
    },
    /// Type into a form field. The text is the agent's own typing (never a masked value).
    Input {
        /// The field.
        target: WireId,
        /// What the agent typed; redacted in `Debug`.
        text: TypedText,
    },
    /// Navigate (the in-control navigation bar).
    Navigate(Navigation),
    /// Submit a form through a submit button or the form itself.
    Submit {
        /// The submit button or form.
        target: WireId,
    },
}

impl AgentAction {
    /// The action's kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            AgentAction::Pointer { .. } => ActionKind::Pointer,
            AgentAction::Highlight { .. } | AgentAction::ClearHighlights => ActionKind::Highlight,
            AgentAction::Scroll { .. } => ActionKind::Scroll,
            AgentAction::Click { .. } => ActionKind::Click,
            AgentAction::Input { .. } => ActionKind::Input,
            AgentAction::Navigate(_) => ActionKind::Navigate,
            AgentAction::Submit { .. } => ActionKind::Submit,
        }
    }

    /// The element acted on, if any.
    pub fn target(&self) -> Option<WireId> {
        match self {
            AgentAction::Highlight { target }
            | AgentAction::Click { target, .. }
            | AgentAction::Input { target, .. }
            | AgentAction::Submit { target } => Some(*target),
            AgentAction::Scroll { target, .. } => *target,
            AgentAction::Pointer { .. }
            | AgentAction::ClearHighlights
            | AgentAction::Navigate(_) => None,
        }
    }
}

/// What the caller knows about an action's target element. The customer side knows the real
/// DOM; the relay knows what its mirror received (see [`TargetFacts::from_view`]). Ignored for
/// actions without a target.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct TargetFacts {
    /// The element exists on the page (and is visible to the agent).
    pub exists: bool,
    /// The administrator's rules disable it for agents (submit buttons by default).
    pub disabled_for_agent: bool,
    /// A form control (input, textarea, select, button in a form…): what
    /// [`ControlCeiling::Partial`] disables.
    pub is_form_control: bool,
    /// Its value or text is masked.
    pub masked: bool,
}

impl TargetFacts {
    /// No such element (also fine for actions without a target).
    pub const MISSING: TargetFacts = TargetFacts {
        exists: false,
        disabled_for_agent: false,
        is_form_control: false,
        masked: false,
    };
    /// An existing element the agent may act on, not a form control, not masked.
    pub const PLAIN: TargetFacts = TargetFacts {
        exists: true,
        disabled_for_agent: false,
        is_form_control: false,
        masked: false,
    };

    /// The facts a capture or mirror side derives from a node's [`View`]: dropped nodes do not
    /// exist for the agent, blocked elements (placeholders) count as disabled, and
    /// [`View::DISABLED`] / [`View::MASKED`] map to `disabled_for_agent` / `masked`.
    pub fn from_view(view: View, is_form_control: bool) -> TargetFacts {
        TargetFacts {
            exists: !view.is_dropped(),
            disabled_for_agent: view.is_disabled() || view.is_blocked(),
            is_form_control,
            masked: view.is_masked(),
        }
    }

    /// The facts about the element `target` names in `tree`: a capture's live tree (views
    /// computed by the rules) or a mirror (views as frames carried them). Missing when no node
    /// has that wire id or the agent does not see it. An action lands on its target's
    /// ancestors too (a click on a `<span>` inside a submit button submits), so the target is
    /// disabled when it or an ancestor is disabled for agents or blocked, and a form control
    /// when it or an ancestor is one ([`is_form_control_element`]). Masked as its own view
    /// says (masking is inherited by the rules already).
    pub fn in_tree(tree: &Tree, target: WireId) -> TargetFacts {
        let Some(id) = tree.node_by_wire(target) else {
            return TargetFacts::MISSING;
        };
        let mut facts = TargetFacts::from_view(tree.node(id).view, false);
        if !facts.exists {
            return TargetFacts::MISSING;
        }
        let mut at = Some(id);
        while let Some(n) = at {
            let view = tree.node(n).view;
            facts.disabled_for_agent |= view.is_disabled() || view.is_blocked();
            facts.is_form_control |= tree
                .element(n)
                .is_some_and(|e| is_form_control_element(&e.name.local, n == id));
            at = tree.parent(n);
        }
        facts
    }
}

/// Whether an element of this local name is what [`ControlCeiling::Partial`] keeps agents away
/// from, as the target (`own`) or an ancestor of it: form fields, buttons, options and labels
/// (clicking a label toggles its control); a `<form>` only as the target itself (a link inside
/// a form is still a link).
pub fn is_form_control_element(local: &str, own: bool) -> bool {
    matches!(
        local,
        "input" | "textarea" | "select" | "button" | "option" | "optgroup" | "label"
    ) || (own && local == "form")
}

/// What an allowed action does on the customer's page.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AllowedAction {
    /// Show the agent's pointer.
    ShowPointer,
    /// Show a click ripple (a red circle); nothing is clicked (pointer mode).
    ShowRipple,
    /// Add a highlight.
    Highlight,
    /// Remove the agent's highlights.
    ClearHighlights,
    /// Replay the action on the real page (the agent holds control).
    Replay(ActionKind),
}

/// Why an agent action was refused: by the session rules ([`check_action`],
/// [`super::Session`]), or by a relay ([`DenyReason::WrongRole`]). The protocol carries it in
/// [`ErrorCode::PermissionDenied`](crate::protocol::ErrorCode::PermissionDenied).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum DenyReason {
    /// The session ended.
    SessionEnded,
    /// The session has not started (waiting, or invitation not accepted yet).
    NotStarted,
    /// The customer stopped sharing or is outside the allowed domains.
    SessionPaused,
    /// The agent is not in this session.
    NotAParticipant,
    /// The agent is disconnected.
    AgentDisconnected,
    /// The ceiling is [`ControlCeiling::None`]: view only.
    ControlNotPermitted,
    /// The ceiling is [`ControlCeiling::Partial`]: [`FORMS_NOT_EDITABLE_MESSAGE`].
    FormsNotEditable,
    /// The agent is in pointer mode.
    NotInControl,
    /// The target element does not exist.
    TargetMissing,
    /// The target element is disabled for agents: nothing happens.
    ElementDisabled,
    /// The target field is masked.
    MaskedField,
    /// The navigation leaves the allowed domains.
    OutsideAllowedDomains,
    /// The navigation URL is not a plain `http(s)` URL.
    UnsafeUrl(UrlError),
    /// This role may not send this kind of message
    /// ([`MessageKind::may_come_from`](crate::protocol::MessageKind::may_come_from)): a
    /// relay's refusal, never the session rules'.
    WrongRole,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::SessionEnded => f.write_str("The session has ended"),
            DenyReason::NotStarted => f.write_str("The session has not started"),
            DenyReason::SessionPaused => f.write_str("Sharing is paused"),
            DenyReason::NotAParticipant => f.write_str("You are not in this session"),
            DenyReason::AgentDisconnected => f.write_str("You are disconnected"),
            DenyReason::ControlNotPermitted => f.write_str("This session is view only"),
            DenyReason::FormsNotEditable => f.write_str(FORMS_NOT_EDITABLE_MESSAGE),
            DenyReason::NotInControl => f.write_str("Request control to do this"),
            DenyReason::TargetMissing => f.write_str("The element is no longer on the page"),
            DenyReason::ElementDisabled => f.write_str("This element is disabled for agents"),
            DenyReason::MaskedField => f.write_str("This field is hidden from agents"),
            DenyReason::OutsideAllowedDomains => {
                f.write_str("This address is outside the allowed domains")
            }
            DenyReason::UnsafeUrl(e) => write!(f, "This address cannot be opened: {e}"),
            DenyReason::WrongRole => f.write_str("Your role cannot do this"),
        }
    }
}

/// A refused agent action: who, what kind, on which element, and why. Carries no typed text.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Denied {
    /// The acting agent.
    pub agent: AgentId,
    /// The action's kind.
    pub kind: ActionKind,
    /// The target element, if the action had one.
    pub target: Option<WireId>,
    /// Why.
    pub reason: DenyReason,
}

impl Denied {
    /// The refusal of `action` by `agent` for `reason`.
    pub fn of(agent: AgentId, action: &AgentAction, reason: DenyReason) -> Denied {
        Denied {
            agent,
            kind: action.kind(),
            target: action.target(),
            reason,
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} refused: {}", self.kind, self.reason)
    }
}

impl std::error::Error for Denied {}

/// What [`check_action`] needs besides the action itself.
#[derive(Copy, Clone, Debug)]
pub struct ActionContext<'p> {
    /// The session's policy (ceiling and allowed domains).
    pub policy: &'p SessionPolicy,
    /// Whether the acting agent holds control.
    pub in_control: bool,
}

/// The mode and element rules of one agent action (see the module table). Lifecycle and
/// membership are [`super::Session::check_agent_action`]'s job.
pub fn check_action(
    ctx: &ActionContext<'_>,
    action: &AgentAction,
    facts: &TargetFacts,
) -> Result<AllowedAction, DenyReason> {
    let ceiling = ctx.policy.control_ceiling;
    let kind = action.kind();
    match action {
        AgentAction::Pointer { .. } => return Ok(AllowedAction::ShowPointer),
        AgentAction::ClearHighlights => return Ok(AllowedAction::ClearHighlights),
        AgentAction::Highlight { .. } => {
            return if facts.exists {
                Ok(AllowedAction::Highlight)
            } else {
                Err(DenyReason::TargetMissing)
            };
        }
        AgentAction::Click { .. } if !ceiling.permits_control() || !ctx.in_control => {
            return Ok(AllowedAction::ShowRipple);
        }
        _ => {}
    }
    if !ceiling.permits_control() {
        return Err(DenyReason::ControlNotPermitted);
    }
    if ceiling == ControlCeiling::Partial && kind.is_form_editing() {
        return Err(DenyReason::FormsNotEditable);
    }
    if !ctx.in_control {
        return Err(DenyReason::NotInControl);
    }
    if action.target().is_some() {
        if !facts.exists {
            return Err(DenyReason::TargetMissing);
        }
        if facts.disabled_for_agent {
            return Err(DenyReason::ElementDisabled);
        }
        if ceiling == ControlCeiling::Partial && facts.is_form_control {
            return Err(DenyReason::FormsNotEditable);
        }
        if kind == ActionKind::Input && facts.masked {
            return Err(DenyReason::MaskedField);
        }
    }
    if let AgentAction::Navigate(Navigation::Url(url)) = action {
        let host = web_url_host(url).map_err(DenyReason::UnsafeUrl)?;
        if !ctx.policy.allows_host(&host) {
            return Err(DenyReason::OutsideAllowedDomains);
        }
    }
    Ok(AllowedAction::Replay(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        policy: &SessionPolicy,
        in_control: bool,
        action: &AgentAction,
        facts: TargetFacts,
    ) -> Result<AllowedAction, DenyReason> {
        check_action(&ActionContext { policy, in_control }, action, &facts)
    }

    fn field() -> TargetFacts {
        TargetFacts {
            is_form_control: true,
            ..TargetFacts::PLAIN
        }
    }

    fn every_action() -> Vec<AgentAction> {
        vec![
            AgentAction::Pointer {
                at: Point::new(1, 2),
            },
            AgentAction::Highlight { target: WireId(5) },
            AgentAction::ClearHighlights,
            AgentAction::Scroll {
                target: None,
                to: Point::new(0, 300),
            },
            AgentAction::Click {
                target: WireId(5),
                at: Point::new(3, 4),
            },
            AgentAction::Input {
                target: WireId(5),
                text: TypedText::new("hello"),
            },
            AgentAction::Navigate(Navigation::Url("https://example.com/".into())),
            AgentAction::Submit { target: WireId(5) },
        ]
    }

    #[test]
    fn pointer_and_highlight_are_allowed_in_every_mode_and_ceiling() {
        for ceiling in [
            ControlCeiling::Full,
            ControlCeiling::Partial,
            ControlCeiling::None,
        ] {
            let policy = SessionPolicy {
                control_ceiling: ceiling,
                ..SessionPolicy::default()
            };
            for in_control in [false, true] {
                for action in every_action() {
                    if action.kind().needs_control() {
                        continue;
                    }
                    assert!(
                        check(&policy, in_control, &action, TargetFacts::PLAIN).is_ok(),
                        "{action:?} {ceiling:?} {in_control}"
                    );
                }
            }
        }
    }

    #[test]
    fn full_control_replays_every_action_kind_on_a_plain_target() {
        let policy = SessionPolicy::default();
        for action in every_action() {
            let allowed = check(&policy, true, &action, field()).unwrap();
            if action.kind().needs_control() {
                assert_eq!(allowed, AllowedAction::Replay(action.kind()));
            }
        }
    }

    #[test]
    fn pointer_mode_click_is_a_ripple_and_other_control_actions_are_refused() {
        let policy = SessionPolicy::default();
        for action in every_action() {
            let result = check(&policy, false, &action, field());
            match action.kind() {
                ActionKind::Click => assert_eq!(result, Ok(AllowedAction::ShowRipple)),
                k if k.needs_control() => assert_eq!(result, Err(DenyReason::NotInControl)),
                _ => assert!(result.is_ok()),
            }
        }
    }

    #[test]
    fn no_control_ceiling_is_view_only() {
        let policy = SessionPolicy {
            control_ceiling: ControlCeiling::None,
            ..SessionPolicy::default()
        };
        for action in every_action() {
            // Even if a caller claimed control, nothing needing it is replayed.
            let result = check(&policy, true, &action, TargetFacts::PLAIN);
            match action.kind() {
                ActionKind::Click => assert_eq!(result, Ok(AllowedAction::ShowRipple)),
                k if k.needs_control() => assert_eq!(result, Err(DenyReason::ControlNotPermitted)),
                _ => assert!(result.is_ok()),
            }
        }
    }

    #[test]
    fn partial_control_navigates_clicks_and_scrolls_but_never_edits_forms() {
        let policy = SessionPolicy {
            control_ceiling: ControlCeiling::Partial,
            ..SessionPolicy::default()
        };
        for action in every_action() {
            let result = check(&policy, true, &action, TargetFacts::PLAIN);
            match action.kind() {
                ActionKind::Input | ActionKind::Submit => {
                    assert_eq!(result, Err(DenyReason::FormsNotEditable));
                }
                k => assert!(result.is_ok(), "{k:?}"),
            }
        }
        let click_field = AgentAction::Click {
            target: WireId(5),
            at: Point::default(),
        };
        assert_eq!(
            check(&policy, true, &click_field, field()),
            Err(DenyReason::FormsNotEditable)
        );
        assert_eq!(
            DenyReason::FormsNotEditable.to_string(),
            FORMS_NOT_EDITABLE_MESSAGE
        );
    }

    #[test]
    fn targets_must_exist_be_enabled_and_inputs_unmasked() {
        let policy = SessionPolicy::default();
        let input = AgentAction::Input {
            target: WireId(9),
            text: TypedText::new("x"),
        };
        assert_eq!(
            check(&policy, true, &input, TargetFacts::MISSING),
            Err(DenyReason::TargetMissing)
        );
        let disabled = TargetFacts {
            disabled_for_agent: true,
            ..field()
        };
        assert_eq!(
            check(&policy, true, &input, disabled),
            Err(DenyReason::ElementDisabled)
        );
        let masked = TargetFacts {
            masked: true,
            ..field()
        };
        assert_eq!(
            check(&policy, true, &input, masked),
            Err(DenyReason::MaskedField)
        );
        let scroll_missing = AgentAction::Scroll {
            target: Some(WireId(9)),
            to: Point::default(),
        };
        assert_eq!(
            check(&policy, true, &scroll_missing, TargetFacts::MISSING),
            Err(DenyReason::TargetMissing)
        );
        let highlight_missing = AgentAction::Highlight { target: WireId(9) };
        assert_eq!(
            check(&policy, false, &highlight_missing, TargetFacts::MISSING),
            Err(DenyReason::TargetMissing)
        );
    }

    #[test]
    fn navigation_must_be_web_and_inside_the_allowed_domains() {
        let policy = SessionPolicy::default()
            .with_allowed_domains(["*.example.com"])
            .unwrap();
        let go = |url: &str| AgentAction::Navigate(Navigation::Url(url.into()));
        assert_eq!(
            check(
                &policy,
                true,
                &go("https://shop.example.com/"),
                TargetFacts::MISSING
            ),
            Ok(AllowedAction::Replay(ActionKind::Navigate))
        );
        assert_eq!(
            check(
                &policy,
                true,
                &go("https://evil.test/"),
                TargetFacts::MISSING
            ),
            Err(DenyReason::OutsideAllowedDomains)
        );
        assert_eq!(
            check(
                &policy,
                true,
                &go("javascript:alert(1)"),
                TargetFacts::MISSING
            ),
            Err(DenyReason::UnsafeUrl(UrlError::NotWeb))
        );
        assert!(
            check(
                &policy,
                true,
                &AgentAction::Navigate(Navigation::Back),
                TargetFacts::MISSING
            )
            .is_ok()
        );
    }

    #[test]
    fn facts_from_a_view_follow_the_capture_flags() {
        let plain = TargetFacts::from_view(View::PLAIN, true);
        assert_eq!(
            plain,
            TargetFacts {
                is_form_control: true,
                ..TargetFacts::PLAIN
            }
        );
        let flagged = TargetFacts::from_view(View::from_wire(View::DISABLED | View::MASKED), false);
        assert!(flagged.disabled_for_agent && flagged.masked && flagged.exists);
        let blocked = TargetFacts::from_view(View::from_wire(View::BLOCKED), false);
        assert!(blocked.disabled_for_agent);
    }

    /// The wire id of the element with `id=name` in a capture's live tree.
    #[cfg(feature = "html")]
    fn wire_of(tree: &Tree, name: &str) -> WireId {
        let node = tree
            .descendants(tree.root())
            .find(|&n| tree.element(n).and_then(|e| e.attr("id")) == Some(name))
            .unwrap_or_else(|| panic!("no #{name}"));
        tree.wire_id(node)
    }

    #[cfg(feature = "html")]
    #[test]
    fn facts_in_a_live_tree_follow_the_rules_and_the_targets_ancestors() {
        let page = crate::parse_document_str(
            "<form id=f><input id=name><input id=pw type=password>\
             <button id=go type=submit><span id=inner>Go</span></button>\
             <label id=l>Tick</label><a id=link href=/x><b id=bold>x</b></a></form>\
             <p id=p>text</p><script id=s>1</script>",
        );
        let capture = crate::Capture::new(crate::Rules::default(), page);
        let tree = capture.tree();
        let facts = |name| TargetFacts::in_tree(tree, wire_of(tree, name));
        let field = TargetFacts {
            is_form_control: true,
            ..TargetFacts::PLAIN
        };
        assert_eq!(facts("name"), field);
        assert_eq!(
            facts("pw"),
            TargetFacts {
                masked: true,
                ..field
            }
        );
        let disabled_button = TargetFacts {
            disabled_for_agent: true,
            ..field
        };
        assert_eq!(facts("go"), disabled_button);
        // A click inside the submit button is a click on it.
        assert_eq!(facts("inner"), disabled_button);
        assert_eq!(facts("l"), field);
        assert_eq!(facts("f"), field);
        // Inside a form, a link is not a form control.
        assert_eq!(facts("link"), TargetFacts::PLAIN);
        assert_eq!(facts("bold"), TargetFacts::PLAIN);
        assert_eq!(facts("p"), TargetFacts::PLAIN);
        // Sanitized away: the agent never saw it.
        assert_eq!(facts("s"), TargetFacts::MISSING);
        assert_eq!(
            TargetFacts::in_tree(tree, WireId(999_999)),
            TargetFacts::MISSING
        );
    }

    #[test]
    fn typed_text_never_shows_in_debug_output() {
        let action = AgentAction::Input {
            target: WireId(3),
            text: TypedText::new("4111 1111 1111 1111"),
        };
        let shown = format!("{action:?}");
        assert!(!shown.contains("4111"), "{shown}");
        assert!(shown.contains("redacted"));
        let denied = Denied::of(AgentId(1), &action, DenyReason::MaskedField);
        assert!(!format!("{denied:?} {denied}").contains("4111"));
    }
}
