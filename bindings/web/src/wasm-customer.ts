// The customer's WebAssembly module (the wasm crate built without its `agent` feature): what
// `cobrowse-widget.js` loads from `cobrowse-widget_bg.wasm` beside itself. It captures, checks
// agent actions and validates messages exactly as the full module does (see `wasm.ts`); it has
// no replayer, and no object form of messages: `protocol-bytes.ts` reads a message's bytes once
// the module has validated them (`checkMessage`, every check of the full module's
// `decodeMessage`), and writes a message object's bytes (with the object form's checks) for
// the module to validate as the full module's `encodeMessage` does.

import { checkMessage } from '../build/pkg-customer/cobrowse_wasm.js';
import type { Message } from './messages.js';
import { readMessage, writeMessage } from './protocol-bytes.js';

export { default, CaptureEngine, denialMessage } from '../build/pkg-customer/cobrowse_wasm.js';

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
