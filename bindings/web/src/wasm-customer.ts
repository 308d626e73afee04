// The customer's WebAssembly module (the wasm crate built without its `agent` feature): what
// `cobrowse-widget.js` loads from `cobrowse-widget_bg.wasm` beside itself. It captures, checks
// agent actions and validates messages exactly as the full module does (see `wasm.ts`); it has
// no replayer, and no object form of messages: `protocol-bytes.ts` reads a message's bytes once
// the module has validated them (`checkMessage`, every check of the full module's
// `decodeMessage`), and writes a message object's bytes (with the object form's checks) for
// the module to validate as the full module's `encodeMessage` does.

import { CaptureEngine as ModuleCaptureEngine, checkMessage } from '../build/pkg-customer/cobrowse_wasm.js';
import type { Message } from './messages.js';
import { isKind, readMessage, writeMessage } from './protocol-bytes.js';

export { default, denialMessage } from '../build/pkg-customer/cobrowse_wasm.js';

/** The agent actions `checkAgentAction` takes. */
const AGENT_ACTIONS = ['Pointer', 'ClickRipple', 'Highlight', 'HighlightClear', 'Scroll', 'AgentClick', 'AgentInput', 'AgentSubmit', 'Navigate'];

/** The module's capture engine, whose `checkAgentAction` takes a message's bytes, with the full
 *  module's `checkAgentAction(msg, ctx)` on a message object: a message of another kind is
 *  refused by its kind, the object written here (the object form's checks) and its bytes
 *  validated and checked by the engine, with the full module's results and errors. */
export class CaptureEngine extends ModuleCaptureEngine {
  override checkAgentAction(msg: unknown, ctx: unknown): unknown {
    const kind = typeof msg === 'object' && msg !== null ? (msg as { kind?: unknown }).kind : undefined;
    if (typeof kind === 'string' && isKind(kind) && !AGENT_ACTIONS.includes(kind)) {
      throw new Error(`cobrowse: a ${kind} message is not an agent action`);
    }
    return super.checkAgentAction(writeMessage(msg), ctx);
  }

  /** The tree dumps are for tests of `cobrowse.js`; the customer's module has none. */
  debugDumpLive(): string {
    throw new Error(NO_DUMPS);
  }

  debugDumpShadow(): string {
    throw new Error(NO_DUMPS);
  }
}

const NO_DUMPS = 'cobrowse: the widget module has no tree dumps (load cobrowse.js)';

/** The full module's `encodeMessage`: the object read and written here, the bytes validated by
 *  the engine. Throws the engine's errors (`not a message: ...`, `invalid message: ...`). */
export function encodeMessage(msg: Message): Uint8Array {
  const bytes = writeMessage(msg);
  try {
    checkMessage(bytes);
  } catch (e) {
    throw new Error(`cobrowse: invalid message: ${(e as Error).message.slice('cobrowse: '.length)}`);
  }
  return bytes;
}

/** The full module's `decodeMessage`: validated by the engine, read here. Throws the engine's
 *  error for bytes that are not a valid message; never reads them. */
export function decodeMessage(bytes: Uint8Array): Message {
  return readMessage(bytes, checkMessage(bytes));
}

/** The module's file, resolved against the URL of the script that loads it. */
export const WASM_FILE = './cobrowse-widget_bg.wasm';

/** The customer's module has no replayer; the widget never creates one. */
export class ReplayEngine {
  constructor() {
    throw new Error('cobrowse: the widget module has no replayer (load cobrowse.js)');
  }
}
