// The session protocol for the widget and the console: messages as plain objects, encoded and
// validated by the engine (wasm `encodeMessage` / `decodeMessage`), plus the small helpers both
// sides share (the session id's display form, the browser's name, resume tokens as text).
//
// The message objects are the engine's object form: `{ kind: "Chat", from: 2, text: "hi" }`,
// snake_case fields as in engine/src/wire/protocol/messages.rs, unit enum variants as their
// names ("Customer", "Full"), data variants as one-key objects ({ Control: 2 }).

import { decodeMessage, denialMessage, encodeMessage, type DenyReason, type Message } from '../cobrowse.js';

/** A protocol message in the engine's object form (loosely typed for the UI code). */
export type Msg = { kind: string; [field: string]: unknown };

/** Encodes a message (throws when the engine refuses it). */
export function encode(msg: Msg): Uint8Array<ArrayBuffer> {
  return encodeMessage(msg as unknown as Message) as Uint8Array<ArrayBuffer>;
}

/** Decodes and validates a message (throws on anything invalid). */
export function decode(bytes: Uint8Array): Msg {
  return decodeMessage(bytes) as unknown as Msg;
}

/** The text for a refusal reason ("Forms cannot be edited on the agent side"). */
export function denialText(reason: unknown): string {
  try {
    return denialMessage(reason as DenyReason);
  } catch {
    return typeof reason === 'string' ? reason : JSON.stringify(reason);
  }
}

/** "123456789" -> "123 456 789". */
export function displayId(id: number | string): string {
  const s = String(id).padStart(9, '0');
  return `${s.slice(0, 3)} ${s.slice(3, 6)} ${s.slice(6, 9)}`;
}

/** The ClientInfo of this browser (from its user agent; empty fields when unknown). */
export function clientInfo(version = '0.1.0'): {
  browser: string;
  browser_version: string;
  os: string;
  client_version: string;
} {
  const ua = navigator.userAgent;
  const pick = (re: RegExp): string => re.exec(ua)?.[1] ?? '';
  let browser = '';
  let browserVersion = '';
  for (const [name, re] of [
    ['Edge', /Edg\/([\d.]+)/],
    ['Firefox', /Firefox\/([\d.]+)/],
    ['Chrome', /(?:Chrome|Chromium|HeadlessChrome)\/([\d.]+)/],
    ['Safari', /Version\/([\d.]+).*Safari/],
  ] as const) {
    const v = pick(re);
    if (v !== '') {
      browser = name;
      browserVersion = v;
      break;
    }
  }
  let os = '';
  if (/Windows NT 10/.test(ua)) os = 'Windows 10/11';
  else if (/Windows/.test(ua)) os = 'Windows';
  else if (/Android ([\d.]+)/.test(ua)) os = `Android ${pick(/Android ([\d.]+)/)}`;
  else if (/iPhone|iPad/.test(ua)) os = 'iOS';
  else if (/Mac OS X ([\d_]+)/.test(ua)) os = `macOS ${pick(/Mac OS X ([\d_]+)/).replace(/_/g, '.')}`;
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Linux/.test(ua)) os = 'Linux';
  return { browser, browser_version: browserVersion, os, client_version: version };
}

/** Bytes -> base64 (for sessionStorage). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Base64 -> bytes. */
export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The WebSocket URL of a relay given by its HTTP(S) address. */
export function wsUrl(relay: string, query: Record<string, string> = {}): string {
  const u = new URL('/ws', relay);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.toString();
}

/** The relay's address: the option, or this page's origin. */
export function relayBase(relay: string | undefined): string {
  return new URL(relay ?? '/', location.href).origin;
}

/** The mode of a `Joined` / `ModeChanged`: the controlling agent, or null in pointer mode. */
export function controller(mode: unknown): number | null {
  if (mode !== null && typeof mode === 'object' && 'Control' in mode) {
    return Number((mode as { Control: number }).Control);
  }
  return null;
}

/** "Full" | "Partial" | "None" -> "full" | "partial" | "none". */
export function ceilingName(c: unknown): 'full' | 'partial' | 'none' {
  const s = String(c).toLowerCase();
  return s === 'partial' ? 'partial' : s === 'none' ? 'none' : 'full';
}

/** A short text for an end reason. */
export function endText(reason: unknown): string {
  const texts: Record<string, string> = {
    CustomerEnded: 'the customer ended the session',
    AgentEnded: 'the agent ended the session',
    BackendEnded: 'the conversation ended',
    Inactivity: 'the session timed out',
    AgentGone: 'the agent left',
    CustomerGone: 'the customer left',
    PolicyViolation: 'the session broke the policy',
    Error: 'an error ended the session',
    InviteDeclined: 'the invitation was declined',
    InviteWithdrawn: 'the invitation was withdrawn',
    NoAgentJoined: 'no agent joined in time',
  };
  return texts[String(reason)] ?? String(reason);
}
