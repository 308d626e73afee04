// The protocol's messages as JavaScript objects: the exact shapes `encodeMessage` takes and
// `decodeMessage` returns (the engine's object form, engine/src/wire/protocol/object_form.rs;
// fields as in engine/src/wire/protocol/messages.rs). Types only.
//
// - `kind` is the message kind's name; the other fields are the table's, in snake_case.
// - Ids (participants, wire ids of elements, session ids) are numbers.
// - Unit enum variants are their names ("Customer", "Full"); data variants are one-key objects
//   ({ Control: 2 }, { Url: "https://…" }, { One: 3 }, { PermissionDenied: "MaskedField" }).
// - Optional fields are `null` when decoded; when encoding they may be `null` or left out.
// - Byte fields are Uint8Arrays. `u64` fields (seq, nonce, sent_at_ms, last_seq, have_seq) are
//   numbers at most Number.MAX_SAFE_INTEGER.

/** A participant of a session: the customer is 1, agents are numbered from 2. */
export type ParticipantId = number;
/** An element of the shared page, as frames name it (never 0). */
export type WireId = number;
/** A nine-digit session id (100000000..=999999999). */
export type SessionId = number;

export type Role = 'Customer' | 'Agent';
export type ControlCeiling = 'Full' | 'Partial' | 'None';
/** Pointer mode, or this agent holds control. */
export type Mode = 'Pointer' | { Control: ParticipantId };
export type PauseReason = 'CustomerStoppedSharing' | 'OutsideAllowedDomains';
export type EndReason =
  | 'CustomerEnded'
  | 'AgentEnded'
  | 'BackendEnded'
  | 'Inactivity'
  | 'AgentGone'
  | 'CustomerGone'
  | 'PolicyViolation'
  | 'Error'
  | 'InviteDeclined'
  | 'InviteWithdrawn'
  | 'NoAgentJoined';
export type UrlError = 'Empty' | 'TooLong' | 'ControlCharacter' | 'NotWeb' | 'MissingHost' | 'InvalidHost';
/** Why an agent action (or request) was refused; `denialMessage(reason)` gives its text. */
export type DenyReason =
  | 'SessionEnded'
  | 'NotStarted'
  | 'SessionPaused'
  | 'NotAParticipant'
  | 'AgentDisconnected'
  | 'ControlNotPermitted'
  | 'FormsNotEditable'
  | 'NotInControl'
  | 'TargetMissing'
  | 'ElementDisabled'
  | 'MaskedField'
  | 'OutsideAllowedDomains'
  | 'WrongRole'
  | { UnsafeUrl: UrlError };
export type ErrorCode =
  | 'BadMessage'
  | 'UnsupportedVersion'
  | 'TooLarge'
  | 'Unauthorized'
  | 'SessionNotFound'
  | 'SessionEnded'
  | 'SessionFull'
  | 'AgentBusy'
  | 'RateLimited'
  | { PermissionDenied: DenyReason }
  | 'NeedKeyframe'
  | 'Internal';
export type ActionKind = 'Pointer' | 'Highlight' | 'Scroll' | 'Click' | 'Input' | 'Navigate' | 'Submit';
export type Navigation = { Url: string } | 'Back' | 'Forward' | 'Reload';
export type HighlightScope = { One: number } | 'All';

/** The customer's or an agent's software; every field may be left out (empty: unknown). */
export interface ClientInfo {
  browser?: string;
  browser_version?: string;
  os?: string;
  client_version?: string;
}
export interface Reconnect {
  session_id: SessionId;
  participant_id: ParticipantId;
  /** The 16-byte `resume_token` of an earlier `Joined`. */
  token: Uint8Array;
  last_seq?: number | null;
}
/** CSS pixels, relative to the target element's border box. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Color {
  r: number;
  g: number;
  b: number;
  a: number;
}

type Opt<T> = T | null | undefined;

/** Every protocol message. */
export type Message =
  // Session.
  | { kind: 'Hello'; role: Role; client: ClientInfo; resume?: Opt<Reconnect> }
  | { kind: 'Join'; session_id: SessionId; token: string }
  | {
      kind: 'Joined';
      session_id: SessionId;
      participant_id: ParticipantId;
      participants: number;
      role: Role;
      mode: Mode;
      ceiling: ControlCeiling;
      paused: boolean;
      resume_token: Uint8Array;
      customer?: Opt<ClientInfo>;
    }
  | { kind: 'PeerJoined'; participant_id: ParticipantId; role: Role; participants: number }
  | { kind: 'Left'; participant_id: ParticipantId; participants: number }
  | { kind: 'Pause'; reason: PauseReason }
  | { kind: 'Resume' }
  | { kind: 'End'; reason: EndReason }
  | { kind: 'Error'; code: ErrorCode; message: string }
  | { kind: 'Connection'; participant_id: ParticipantId; connected: boolean }
  | { kind: 'Invite'; token: string }
  | { kind: 'InviteCreated'; session_id: SessionId; customer_secret: string }
  | { kind: 'Invitation'; agent: ParticipantId }
  | { kind: 'InviteAccept' }
  | { kind: 'InviteDecline' }
  // Control.
  | { kind: 'ControlRequest'; agent: ParticipantId }
  | { kind: 'ControlApprove'; agent: ParticipantId }
  | { kind: 'ControlDecline'; agent: ParticipantId }
  | { kind: 'ControlRevoke' }
  | { kind: 'ControlReturn' }
  | { kind: 'ModeChanged'; mode: Mode; ceiling: ControlCeiling }
  // Presence.
  | { kind: 'Pointer'; from: ParticipantId; x: number; y: number; target?: Opt<WireId> }
  | { kind: 'ClickRipple'; from: ParticipantId; x: number; y: number; target?: Opt<WireId> }
  | {
      kind: 'Highlight';
      from: ParticipantId;
      id: number;
      target: WireId;
      rect?: Opt<Rect>;
      color?: Opt<Color>;
    }
  | { kind: 'HighlightClear'; from: ParticipantId; which: HighlightScope }
  | { kind: 'Scroll'; target?: Opt<WireId>; x: number; y: number }
  | { kind: 'Viewport'; width: number; height: number }
  | { kind: 'PageChanged'; url: string }
  // Agent actions.
  | { kind: 'Navigate'; to: Navigation }
  | { kind: 'AgentInput'; target: WireId; value: string }
  | { kind: 'AgentClick'; target: WireId; x: number; y: number }
  | { kind: 'AgentSubmit'; target: WireId }
  | { kind: 'ActionDenied'; agent: ParticipantId; action: ActionKind; target?: Opt<WireId>; reason: DenyReason }
  // Side channel.
  | { kind: 'Chat'; from: ParticipantId; text: string }
  | { kind: 'SharedLink'; from: ParticipantId; url: string; title: string }
  // Liveness.
  | { kind: 'Ping'; nonce: number; sent_at_ms: number }
  | { kind: 'Pong'; nonce: number; sent_at_ms: number }
  | { kind: 'Latency'; participant_id: ParticipantId; rtt_ms: number }
  // Frames.
  | { kind: 'Frame'; bytes: Uint8Array }
  | { kind: 'Ack'; seq: number }
  | { kind: 'KeyframeRequest'; have_seq?: Opt<number> };

/** The message of one kind: `MessageOf<'Chat'>`. */
export type MessageOf<K extends Message['kind']> = Extract<Message, { kind: K }>;

/** What the customer side knows when it checks an agent action. */
export interface ActionCheckContext {
  /** The administrator's ceiling (`Joined.ceiling` / `ModeChanged.ceiling`; any case). */
  ceiling: 'full' | 'partial' | 'none' | ControlCeiling;
  /** Whether the acting agent holds control (`mode` is `{ Control: agent }`). */
  inControl: boolean;
  /** Allowed domain patterns ("example.com", "*.example.com"); none or empty: any. */
  allowedDomains?: string[];
}

/** The verdict of `checkAgentAction`. */
export type ActionCheck =
  | {
      allowed: true;
      /** "Replay": replay the action on the page; the others only show something. */
      action: 'ShowPointer' | 'ShowRipple' | 'Highlight' | 'ClearHighlights' | 'Replay';
      kind: ActionKind;
    }
  | {
      allowed: false;
      reason: DenyReason;
      /** The reason's text for people ("Forms cannot be edited on the agent side"). */
      message: string;
      kind: ActionKind;
      target: WireId | null;
    };

/** The agent actions the customer side checks. */
export type AgentActionMessage = MessageOf<
  'AgentClick' | 'AgentInput' | 'AgentSubmit' | 'Navigate' | 'Scroll' | 'Pointer' | 'ClickRipple' | 'Highlight' | 'HighlightClear'
>;
