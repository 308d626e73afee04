// The engine's WebAssembly module as the package loads it: the full module (capture and replay),
// which `cobrowse.js` and the agent console load from `cobrowse_bg.wasm` beside themselves.
//
// The customer widget's bundle replaces this file with `wasm-customer.ts` (esbuild `--alias`
// in scripts/build-web.sh): a module without the replayer, `cobrowse-widget_bg.wasm`.

export {
  default,
  CaptureEngine,
  ReplayEngine,
  decodeMessage,
  denialMessage,
  encodeMessage,
} from '../build/pkg/cobrowse_wasm.js';

/** The module's file, resolved against the URL of the script that loads it. */
export const WASM_FILE = './cobrowse_bg.wasm';
