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
  sid: 4,
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
  2: 'Join session_id:sid token:str',
  3: 'Joined session_id:sid participant_id:u32 participants:u16 role:role mode:mode ceiling:ceiling paused:bool resume_token:token customer:?client',
  4: 'PeerJoined participant_id:u32 role:role participants:u16',
  5: 'Left participant_id:u32 participants:u16',
  6: 'Pause reason:pause',
  7: 'Resume',
  8: 'End reason:end',
  9: 'Error code:error message:str',
  10: 'Connection participant_id:u32 connected:bool',
  11: 'Invite token:str',
  12: 'InviteCreated session_id:sid customer_secret:str',
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
  mode: ['Pointer', 'Control'],
  scope: ['All', 'One'],
};

/** The composite fields' parts, in wire order. */
const PARTS: Record<string, string> = {
  client: 'browser:str browser_version:str os:str client_version:str',
  reconnect: 'session_id:sid participant_id:u32 token:token last_seq:?u64',
  rect: 'x:f32 y:f32 width:f32 height:f32',
  color: 'r:u8 g:u8 b:u8 a:u8',
};

const utf8 = new TextDecoder();

type Fields = [name: string, type: string][];
const parsed = new Map<string, Fields>();

/** The fields of a spec (`name:type ...`), parsed once. */
function fieldsOf(spec: string): Fields {
  let fields = parsed.get(spec);
  if (fields === undefined) {
    fields = spec === '' ? [] : spec.split(' ').map((f) => f.split(':') as [string, string]);
    parsed.set(spec, fields);
  }
  return fields;
}

/** A kind's name and the spec of its fields. */
function kindOf(code: number): [string, string] {
  const spec = KINDS[code]!;
  const space = spec.indexOf(' ');
  return space < 0 ? [spec, ''] : [spec.slice(0, space), spec.slice(space + 1)];
}

/** The size of a field of type `type` (`?T` optional). */
const sizeOf = (type: string): number => (type[0] === '?' ? 1 + SIZES[type.slice(1)]! : SIZES[type]!);

/** Reads the fields `spec` (`name:type ...`) at `at`; `path` names them in errors. */
function fields(view: DataView, spec: string, at: number, path: string, out: Record<string, unknown>): number {
  for (const [name, type] of fieldsOf(spec)) {
    const optional = type[0] === '?';
    out[name] =
      optional && view.getUint8(at) === 0
        ? null
        : value(view, optional ? type.slice(1) : type, optional ? at + 1 : at, `${path}.${name}`);
    at += sizeOf(type);
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
    case 'sid':
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
  const [name, spec] = kindOf(kind);
  const out: Record<string, unknown> = { kind: name };
  // The root (the body's fields) is the archive's last bytes.
  const size = fieldsOf(spec).reduce((sum, [, type]) => sum + sizeOf(type), 0);
  fields(view, spec, bytes.byteLength - size, name, out);
  return out as unknown as Message;
}

// ---------------------------------------------------------------------------------------------
// Writing: the customer widget's `encodeMessage`. The object is read exactly as the engine's
// object form reads it (`FromObject`, engine/src/wire/protocol/object_form.rs: the same checks,
// in the same order, with the same error texts), written as the engine writes it (the same
// bytes: out-of-line strings and byte vectors in field order, depth first, then the root), and
// the engine then validates the bytes (`checkMessage`) as `try_encode` does.

/** An object-form error (`ObjectFormError`): missing (0), unknown (1) or invalid (2) `field`. */
interface ShapeError {
  k: 0 | 1 | 2;
  f: string;
  x?: string;
}

/** The kind of an object that is not a message (`ObjectFormError::UnknownKind`). */
const UNKNOWN_KIND = 'not an object whose `kind` names a message';

const invalid = (x: string): ShapeError => ({ k: 2, f: '', x });

/** The error as seen from the object holding the field: `path` is prefixed. */
function within(e: ShapeError, path: string): ShapeError {
  if (path !== '') e.f = e.f === '' ? path : `${path}.${e.f}`;
  return e;
}

function describe(e: ShapeError): string {
  if (e.k === 0) return `missing field \`${e.f}\``;
  if (e.k === 1) return `unknown field \`${e.f}\``;
  return e.f === '' ? `expected ${e.x}` : `\`${e.f}\` must be ${e.x}`;
}

/** What a value of each type must be (the engine's texts). */
const EXPECTED: Record<string, string> = {
  u8: 'an integer in 0..=255',
  u16: 'an integer in 0..=65535',
  u32: 'an integer in 0..=4294967295',
  u64: 'an integer in 0..=Number.MAX_SAFE_INTEGER',
  f32: 'a number',
  bool: 'a boolean',
  str: 'a string',
  bytes: 'bytes (a Uint8Array)',
  sid: 'a nine-digit session id',
  token: '16 bytes (a resume token)',
  role: 'a role ("Customer", "Agent")',
  end: 'an end reason',
  action: 'an action kind ("Click", ...)',
  ceiling: 'a ceiling ("Full", "Partial", "None")',
  pause: 'a pause reason',
  url: 'a URL error ("NotWeb", ...)',
  mode: 'a mode ("Pointer" or { Control: id })',
  nav: 'a navigation ({ Url: "https://…" }, "Back", ...)',
  scope: 'a highlight scope ({ One: id } or "All")',
  error: 'an error code ("BadMessage", { PermissionDenied: reason }, ...)',
  deny: 'a refusal reason ("ElementDisabled", { UnsafeUrl: error }, ...)',
};

/** Enums with one data variant: its name, its value's type and its code (unit variants are
 *  the other names of `NAMES`, in code order). */
const DATA: Record<string, [string, string, number]> = {
  mode: ['Control', 'u32', 1],
  nav: ['Url', 'str', 1],
  scope: ['One', 'u32', 1],
  error: ['PermissionDenied', 'deny', 10],
  deny: ['UnsafeUrl', 'url', 32],
};

const MAX: Record<string, number> = { u8: 255, u16: 65535, u32: 4294967295, sid: 4294967295, u64: Number.MAX_SAFE_INTEGER };

/** An object that is not an array, a byte array or a function (`null` is not an object). */
const plain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Refuses any key of `v` not in `allowed`; `path` is the object's. */
function onlyKeys(v: unknown, path: string, allowed: string[]): void {
  if (!plain(v)) throw within(invalid('an object'), path);
  const unknown = Object.keys(v).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw within({ k: 1, f: unknown }, path);
}

/** Reads field `key` (of type `type`, `?T` optional) of `object`; `path` names it in errors. */
function field(object: unknown, path: string, key: string, type: string): unknown {
  const v = plain(object) ? object[key] : undefined;
  if (type[0] === '?') {
    if (v === undefined || v === null) return null;
    type = type.slice(1);
  } else if (v === undefined) {
    throw { k: 0, f: path } satisfies ShapeError;
  }
  try {
    return wire(type, v);
  } catch (e) {
    throw within(e as ShapeError, path);
  }
}

const utf8Out = new TextEncoder();

/** The wire value of `v` as a `type` (`FromObject` then the codec's `to_wire`). */
function wire(type: string, v: unknown): unknown {
  const expected = EXPECTED[type] ?? 'an object';
  const max = MAX[type];
  if (max !== undefined) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw invalid(expected);
    if (type === 'sid' && (v < 100_000_000 || v > 999_999_999)) throw invalid(expected);
    return v;
  }
  switch (type) {
    case 'f32':
      if (typeof v !== 'number') throw invalid(expected);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw invalid(expected);
      return v ? 1 : 0;
    case 'str':
      if (typeof v !== 'string') throw invalid(expected);
      return utf8Out.encode(v);
    case 'bytes':
    case 'token': {
      let out: Uint8Array | undefined;
      // (Copied once, into the message.)
      if (v instanceof Uint8Array) out = v;
      else if (Array.isArray(v) && v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) out = Uint8Array.from(v as number[]);
      if (out === undefined) throw invalid(EXPECTED.bytes!);
      if (type === 'token' && out.length !== 16) throw invalid(expected);
      return out;
    }
  }
  const parts = PARTS[type];
  if (parts !== undefined) {
    const specs = fieldsOf(parts);
    onlyKeys(v, '', specs.map(([name]) => name));
    // A client's strings may be left out or null (empty).
    return specs.map(([name, t]) => (type === 'client' ? (field(v, name, name, '?str') ?? new Uint8Array()) : field(v, name, name, t)));
  }
  const names = NAMES[type]!;
  const data = DATA[type];
  if (typeof v === 'string') {
    const code = names.indexOf(v) + 1;
    if (code === 0 || (data !== undefined && v === data[0])) throw invalid(expected);
    return type === 'mode' || type === 'scope' ? null : type === 'nav' ? [code, new Uint8Array()] : type === 'error' ? [code, 0] : code;
  }
  if (data === undefined) throw invalid(expected);
  try {
    onlyKeys(v, '', [data[0]]);
  } catch {
    throw invalid(expected);
  }
  const inner = field(v, data[0], data[0], data[1]);
  if (type === 'error') return [data[2], inner];
  if (type === 'nav') return [data[2], inner];
  return type === 'deny' ? data[2] + (inner as number) - 1 : inner;
}

/** Bytes of one field's value written out of line (after `at`), in the engine's order. */
function outOfLine(type: string, v: unknown, blobs: Uint8Array[]): void {
  if (v === null) return;
  if (type[0] === '?') type = type.slice(1);
  if (type === 'str' && (v as Uint8Array).length > 8) blobs.push(v as Uint8Array);
  else if (type === 'bytes') blobs.push(v as Uint8Array);
  else if (type === 'nav') outOfLine('str', (v as unknown[])[1], blobs);
  else if (PARTS[type] !== undefined) {
    fieldsOf(PARTS[type]!).forEach(([, t], i) => outOfLine(t, (v as unknown[])[i], blobs));
  }
}

/** Writes one field's value at `at`; `blobs` are the out-of-line bytes' positions and lengths,
 *  in order (each write of a pointer takes the first). */
function put(view: DataView, type: string, v: unknown, at: number, blobs: [number, number][]): void {
  if (type[0] === '?') {
    if (v === null) return; // tag 0, zeroed value
    view.setUint8(at++, 1);
    type = type.slice(1);
  }
  switch (type) {
    case 'u8':
    case 'bool':
    case 'role':
    case 'ceiling':
    case 'pause':
    case 'end':
    case 'action':
    case 'deny':
    case 'url':
      view.setUint8(at, v as number);
      return;
    case 'u16':
      view.setUint16(at, v as number, true);
      return;
    case 'u32':
    case 'sid':
      view.setUint32(at, v as number, true);
      return;
    case 'f32':
      view.setFloat32(at, v as number, true);
      return;
    case 'u64':
      view.setUint32(at, (v as number) % 2 ** 32, true);
      view.setUint32(at + 4, Math.floor((v as number) / 2 ** 32), true);
      return;
    case 'mode':
    case 'scope':
      put(view, '?u32', v, at, blobs);
      return;
    case 'error':
      view.setUint8(at, (v as number[])[0]!);
      view.setUint8(at + 1, (v as number[])[1]!);
      return;
    case 'nav':
      view.setUint8(at, (v as [number, Uint8Array])[0]);
      put(view, 'str', (v as [number, Uint8Array])[1], at + 1, blobs);
      return;
    case 'token':
      new Uint8Array(view.buffer, view.byteOffset + at, 16).set(v as Uint8Array);
      return;
    case 'str': {
      const s = v as Uint8Array;
      if (s.length <= 8) {
        const slot = new Uint8Array(view.buffer, view.byteOffset + at, 8);
        slot.fill(0xff);
        slot.set(s);
        return;
      }
      const len = s.length;
      view.setUint32(at, (len & 0x3f) | 0x80 | ((len & ~0x3f) << 2), true);
      view.setInt32(at + 4, blobs.shift()![0] - at, true);
      return;
    }
    case 'bytes': {
      const [to, len] = blobs.shift()!;
      view.setInt32(at, to - at, true);
      view.setUint32(at + 4, len, true);
      return;
    }
  }
  fieldsOf(PARTS[type]!).forEach(([, t], i) => {
    put(view, t, (v as unknown[])[i], at, blobs);
    at += sizeOf(t);
  });
}

/** The wire codes of the kinds, by name. */
const CODES: Record<string, number> = Object.fromEntries(
  Object.keys(KINDS).map((code) => [kindOf(Number(code))[0], Number(code)]),
);

/** Whether `name` is a message kind's name. */
export const isKind = (name: string): boolean => Object.hasOwn(CODES, name);

/**
 * The bytes of a message object, written as the engine writes them: not validated yet (the
 * engine's `checkMessage` does that, as `try_encode` does). Throws the engine's object-form
 * error (`cobrowse: not a message: ...`) for an object that is not a message.
 */
export function writeMessage(msg: unknown): Uint8Array<ArrayBuffer> {
  try {
    const kind = plain(msg) ? msg.kind : undefined;
    const code = typeof kind === 'string' && Object.hasOwn(CODES, kind) ? CODES[kind]! : 0;
    if (code === 0) throw new Error(`cobrowse: not a message: ${UNKNOWN_KIND}`);
    const specs = fieldsOf(kindOf(code)[1]);
    onlyKeys(msg, kind as string, ['kind', ...specs.map(([name]) => name)]);
    const values = specs.map(([name, type]) => field(msg, `${kind}.${name}`, name, type));
    const blobs: Uint8Array[] = [];
    specs.forEach(([, type], i) => outOfLine(type, values[i], blobs));
    const root = specs.reduce((sum, [, t]) => sum + sizeOf(t), 0);
    const out = new Uint8Array(7 + blobs.reduce((sum, b) => sum + b.length, 0) + root);
    out.set([0x43, 0x42, 0x4d, 0x31, 1, 0, code]);
    const at: [number, number][] = [];
    let end = 7;
    for (const b of blobs) {
      out.set(b, end);
      at.push([end - 7, b.length]);
      end += b.length;
    }
    // Positions are relative to the archive (after the prefix): the view starts there.
    const view = new DataView(out.buffer, 7);
    let pos = end - 7;
    specs.forEach(([, type], i) => {
      put(view, type, values[i], pos, at);
      pos += sizeOf(type);
    });
    return out;
  } catch (e) {
    if (e instanceof Error) throw e;
    throw new Error(`cobrowse: not a message: ${describe(e as ShapeError)}`);
  }
}
