// The customer's WebAssembly module (the wasm crate built without its `agent` feature): what
// `cobrowse-widget.js` loads from `cobrowse-widget_bg.wasm` beside itself. It captures, checks
// agent actions and validates messages exactly as the full module does (see `wasm.ts`); it
// encodes only the kinds a customer sends and the agent actions `checkAgentAction` takes
// (`encodeMessage` throws for the others: wasm/src/protocol.rs, `ENCODED`); it has no replayer.
// Decoding: the module validates (`checkMessage`, every check of the full module's
// `decodeMessage`) and `protocol-bytes.ts` reads the validated bytes into the same object.

import { checkMessage } from '../build/pkg-customer/cobrowse_wasm.js';
import type { Message } from './messages.js';
import { readMessage } from './protocol-bytes.js';

export {
  default,
  CaptureEngine,
  denialMessage,
  encodeMessage,
} from '../build/pkg-customer/cobrowse_wasm.js';

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
