// The protocol's messages read from their bytes in JavaScript: the customer widget's
// `decodeMessage`. The engine validates every message first (the customer's module's
// `checkMessage`: `MessageView::access`, every check `decodeMessage` makes: length, magic,
// version, kind, the rkyv archive's pointers and UTF-8, every field's range and characters);
// this file only reads bytes that passed, so the object form of messages need not be in the
// customer's WebAssembly module. The objects are exactly the full module's `decodeMessage`'s
// (the engine's object form, engine/src/wire/protocol/object_form.rs): the same keys in the same
// order, `null` for absent options, `Uint8Array`s for bytes; test/protocol-bytes.test.mjs
// compares them on the engine's golden messages (engine/src/wire/protocol/golden_tests.rs).
//
// Byte layout (engine/src/wire/protocol/mod.rs): "CBM1", version u16 LE, kind u8, then the rkyv
// archive of the kind's body with its root at the end. The archive is `unaligned`,
// little-endian, 32-bit: a body is its fields in the table's order without padding
// (engine/src/wire/protocol/messages.rs, each field's wire form in codec.rs):
// - integers and f32 little-endian; bool and enum codes one byte (codes start at 1);
// - a string is 8 bytes: inline when its first byte is not 0b10xxxxxx (the bytes up to the
//   first 0xff, at most 8), else a length u32 (its low 6 bits and its bits 8.. shifted right by
//   2) and an i32 offset of the bytes from the string's own position;
// - a byte vector: an i32 offset (from its own position) and a u32 length;
// - an option: a tag byte (0 absent, 1 present), then the value's bytes either way.

import type { Message } from './messages.js';

/** Field types: name and size in bytes (an option `?T` is one byte more than `T`). */
const SIZES: Record<string, number> = {
  u8: 1,
  bool: 1,
  role: 1,
  ceiling: 1,
  pause: 1,
  end: 1,
  action: 1,
  deny: 1,
  u16: 2,
  error: 2,
  u32: 4,
  f32: 4,
  color: 4,
  mode: 5,
  scope: 5,
  u64: 8,
  str: 8,
  bytes: 8,
  nav: 9,
  token: 16,
  rect: 16,
  client: 32,
  reconnect: 33,
};

/** Each kind's name and fields (`name:type`, wire order), by wire code: the message table. */
const KINDS: Record<number, string> = {
  1: 'Hello role:role client:client resume:?reconnect',
  2: 'Join session_id:u32 token:str',
  3: 'Joined session_id:u32 participant_id:u32 participants:u16 role:role mode:mode ceiling:ceiling paused:bool resume_token:token customer:?client',
  4: 'PeerJoined participant_id:u32 role:role participants:u16',
  5: 'Left participant_id:u32 participants:u16',
  6: 'Pause reason:pause',
  7: 'Resume',
  8: 'End reason:end',
  9: 'Error code:error message:str',
  10: 'Connection participant_id:u32 connected:bool',
  11: 'Invite token:str',
  12: 'InviteCreated session_id:u32 customer_secret:str',
  13: 'Invitation agent:u32',
  14: 'InviteAccept',
  15: 'InviteDecline',
  16: 'ControlRequest agent:u32',
  17: 'ControlApprove agent:u32',
  18: 'ControlDecline agent:u32',
  19: 'ControlRevoke',
  20: 'ControlReturn',
  21: 'ModeChanged mode:mode ceiling:ceiling',
  32: 'Pointer from:u32 x:f32 y:f32 target:?u32',
  33: 'ClickRipple from:u32 x:f32 y:f32 target:?u32',
  34: 'Highlight from:u32 id:u32 target:u32 rect:?rect color:?color',
  35: 'HighlightClear from:u32 which:scope',
  36: 'Scroll target:?u32 x:f32 y:f32',
  37: 'Viewport width:u32 height:u32',
  38: 'PageChanged url:str',
  48: 'Navigate to:nav',
  49: 'AgentInput target:u32 value:str',
  50: 'AgentClick target:u32 x:f32 y:f32',
  51: 'AgentSubmit target:u32',
  52: 'ActionDenied agent:u32 action:action target:?u32 reason:deny',
  64: 'Chat from:u32 text:str',
  65: 'SharedLink from:u32 url:str title:str',
  80: 'Ping nonce:u64 sent_at_ms:u64',
  81: 'Pong nonce:u64 sent_at_ms:u64',
  82: 'Latency participant_id:u32 rtt_ms:u32',
  96: 'Frame bytes:bytes',
  97: 'Ack seq:u64',
  98: 'KeyframeRequest have_seq:?u64',
};

/** Enum codes' names, code 1 first (engine/src/wire/protocol/codec.rs). */
const NAMES: Record<string, string[]> = {
  role: ['Customer', 'Agent'],
  ceiling: ['Full', 'Partial', 'None'],
  pause: ['CustomerStoppedSharing', 'OutsideAllowedDomains'],
  end: 'CustomerEnded AgentEnded BackendEnded Inactivity AgentGone CustomerGone PolicyViolation Error InviteDeclined InviteWithdrawn NoAgentJoined'.split(' '),
  action: ['Pointer', 'Highlight', 'Scroll', 'Click', 'Input', 'Navigate', 'Submit'],
  deny: 'SessionEnded NotStarted SessionPaused NotAParticipant AgentDisconnected ControlNotPermitted FormsNotEditable NotInControl TargetMissing ElementDisabled MaskedField OutsideAllowedDomains WrongRole'.split(' '),
  // `DenyReason::UnsafeUrl`: deny code 32 + the index.
  url: ['Empty', 'TooLong', 'ControlCharacter', 'NotWeb', 'MissingHost', 'InvalidHost'],
  // Code 10 is `PermissionDenied`, with a deny code as its detail.
  error: 'BadMessage UnsupportedVersion TooLarge Unauthorized SessionNotFound SessionEnded SessionFull AgentBusy RateLimited PermissionDenied NeedKeyframe Internal'.split(' '),
  nav: ['Url', 'Back', 'Forward', 'Reload'],
};

/** The composite fields' parts, in wire order. */
const PARTS: Record<string, string> = {
  client: 'browser:str browser_version:str os:str client_version:str',
  reconnect: 'session_id:u32 participant_id:u32 token:token last_seq:?u64',
  rect: 'x:f32 y:f32 width:f32 height:f32',
  color: 'r:u8 g:u8 b:u8 a:u8',
};

const utf8 = new TextDecoder();

/** Reads the fields `spec` (`name:type ...`) at `at`; `path` names them in errors. */
function fields(view: DataView, spec: string, at: number, path: string, out: Record<string, unknown>): number {
  for (const field of spec.split(' ')) {
    const [name, type] = field.split(':') as [string, string];
    const optional = type[0] === '?';
    const base = optional ? type.slice(1) : type;
    const size = SIZES[base]!;
    out[name] =
      optional && view.getUint8(at) === 0 ? null : value(view, base, optional ? at + 1 : at, `${path}.${name}`);
    at += size + (optional ? 1 : 0);
  }
  return at;
}

/** One field of type `type` at `at` (the engine validated it). */
function value(view: DataView, type: string, at: number, path: string): unknown {
  const u8 = view.getUint8(at);
  switch (type) {
    case 'u8':
      return u8;
    case 'bool':
      return u8 !== 0;
    case 'u16':
      return view.getUint16(at, true);
    case 'u32':
      return view.getUint32(at, true);
    case 'f32':
      return view.getFloat32(at, true);
    case 'u64': {
      const high = view.getUint32(at + 4, true);
      if (high > 0x1fffff) {
        // What the engine's object form refuses (a JavaScript number cannot hold it exactly).
        throw new Error(`cobrowse: \`${path}\` must be an integer in 0..=Number.MAX_SAFE_INTEGER`);
      }
      return high * 2 ** 32 + view.getUint32(at, true);
    }
    case 'str': {
      if ((u8 & 0xc0) !== 0x80) {
        let len = 0;
        while (len < 8 && view.getUint8(at + len) !== 0xff) len++;
        return utf8.decode(bytes(view, at, len));
      }
      const raw = view.getUint32(at, true);
      return utf8.decode(bytes(view, at + view.getInt32(at + 4, true), (raw & 0x3f) | ((raw & ~0xff) >>> 2)));
    }
    case 'bytes':
      return bytes(view, at + view.getInt32(at, true), view.getUint32(at + 4, true)).slice();
    case 'token':
      return bytes(view, at, 16).slice();
    case 'mode':
      return u8 === 0 ? 'Pointer' : { Control: view.getUint32(at + 1, true) };
    case 'scope':
      return u8 === 0 ? 'All' : { One: view.getUint32(at + 1, true) };
    case 'nav':
      return u8 === 1 ? { Url: value(view, 'str', at + 1, path) } : NAMES.nav![u8 - 1]!;
    case 'error':
      return u8 === 10
        ? { PermissionDenied: value(view, 'deny', at + 1, path) }
        : NAMES.error![u8 - 1]!;
    case 'deny':
      return u8 >= 32 ? { UnsafeUrl: NAMES.url![u8 - 32]! } : NAMES.deny![u8 - 1]!;
  }
  const parts = PARTS[type];
  if (parts !== undefined) {
    const out: Record<string, unknown> = {};
    fields(view, parts, at, path, out);
    return out;
  }
  return NAMES[type]![u8 - 1]!;
}

function bytes(view: DataView, at: number, len: number): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + at, len);
}

/**
 * The message object of `bytes`, which the engine has validated (`checkMessage` returned its
 * kind code `kind`). Throws only for a `u64` field above `Number.MAX_SAFE_INTEGER`, as the
 * engine's object form does.
 */
export function readMessage(bytes: Uint8Array, kind: number): Message {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [name, ...spec] = KINDS[kind]!.split(' ') as [string, ...string[]];
  const out: Record<string, unknown> = { kind: name };
  if (spec.length > 0) {
    const list = spec.join(' ');
    // The root (the body's fields) is the archive's last bytes.
    const size = spec.reduce((sum, f) => {
      const type = f.slice(f.indexOf(':') + 1);
      return sum + (type[0] === '?' ? 1 + SIZES[type.slice(1)]! : SIZES[type]!);
    }, 0);
    fields(view, list, bytes.byteLength - size, name, out);
  }
  return out as unknown as Message;
}
