// The widget's message encoding and decoding, side by side in one node process: the full
// module's `encodeMessage` / `decodeMessage` (the engine's object form in WebAssembly: what the
// widget ran before branch bundle9e) against the widget's (bindings/web/src/wasm-customer.ts:
// bytes written and read in JavaScript, src/protocol-bytes.ts, validated by the customer's
// module's `checkMessage`), on the messages the widget sends most: frames (a 300,255-byte
// keyframe, the size of the 100,000-node page's, and a 200-byte delta) and pointer moves, and
// on what it receives most (agent pointer moves). Interleaved rounds; median time per call.
//
//   bash scripts/build-web.sh
//   node benches/browser/message-encode.mjs [--rounds R]
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from '../../bindings/web/node_modules/esbuild/lib/main.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WEB = path.join(ROOT, 'bindings/web');
const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? d : Number(process.argv[i + 1]);
};
const ROUNDS = arg('--rounds', 15);

const dir = mkdtempSync(path.join(tmpdir(), 'cobrowse-message-encode-'));
async function load(entry, wasm) {
  const out = await esbuild.build({ entryPoints: [path.join(WEB, 'src', entry)], bundle: true, format: 'esm', write: false });
  const file = path.join(dir, `${entry}.mjs`);
  writeFileSync(file, out.outputFiles[0].text);
  const m = await import(file);
  await m.default({ module_or_path: readFileSync(path.join(WEB, 'dist', wasm)) });
  return m;
}
const full = await load('wasm.ts', 'cobrowse_bg.wasm');
const widget = await load('wasm-customer.ts', 'cobrowse-widget_bg.wasm');
rmSync(dir, { recursive: true, force: true });

const keyframe = Uint8Array.from({ length: 300_255 }, (_, i) => (i * 31) & 0xff);
const delta = Uint8Array.from({ length: 200 }, (_, i) => i & 0xff);
const pointer = { kind: 'Pointer', from: 1, x: 120.5, y: 340, target: 42 };
const received = full.encodeMessage({ kind: 'Pointer', from: 2, x: 10, y: 20, target: 7 });
const cases = [
  ['encode Frame (300,255 B keyframe)', (m) => m.encodeMessage({ kind: 'Frame', bytes: keyframe }), 20],
  ['encode Frame (200 B delta)', (m) => m.encodeMessage({ kind: 'Frame', bytes: delta }), 2000],
  ['encode Pointer', (m) => m.encodeMessage(pointer), 2000],
  ['decode Pointer', (m) => m.decodeMessage(received), 2000],
];

const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log(`node ${process.version}, ${ROUNDS} interleaved rounds, median microseconds per call`);
console.log('| message | full module (engine object form) | widget (JS bytes + checkMessage) |');
console.log('|---|---|---|');
for (const [name, run, n] of cases) {
  const times = { full: [], widget: [] };
  for (let r = 0; r < ROUNDS + 2; r++) {
    for (const [side, m] of r % 2 ? [['full', full], ['widget', widget]] : [['widget', widget], ['full', full]]) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) run(m);
      const us = Number(process.hrtime.bigint() - t) / 1000 / n;
      if (r >= 2) times[side].push(us); // two warm-up rounds
    }
  }
  console.log(`| ${name} | ${median(times.full).toFixed(2)} | ${median(times.widget).toFixed(2)} |`);
}
