// The customer's WebAssembly module (the wasm crate built without its `agent` feature): what
// `cobrowse-widget.js` loads from `cobrowse-widget_bg.wasm` beside itself. It captures, checks
// agent actions and decodes messages exactly as the full module does (see `wasm.ts`); it
// encodes only the kinds a customer sends and the agent actions `checkAgentAction` takes
// (`encodeMessage` throws for the others: wasm/src/protocol.rs, `ENCODED`); it has no replayer.

export {
  default,
  CaptureEngine,
  decodeMessage,
  denialMessage,
  encodeMessage,
} from '../build/pkg-customer/cobrowse_wasm.js';

/** The module's file, resolved against the URL of the script that loads it. */
export const WASM_FILE = './cobrowse-widget_bg.wasm';

/** The customer's module has no replayer; the widget never creates one. */
export class ReplayEngine {
  constructor() {
    throw new Error('cobrowse: the widget module has no replayer (load cobrowse.js)');
  }
}
