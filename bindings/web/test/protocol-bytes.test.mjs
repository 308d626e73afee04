// The customer widget's decodeMessage and encodeMessage (src/wasm-customer.ts: the customer's
// module validates with `checkMessage`, src/protocol-bytes.ts reads and writes the bytes)
// against the full module's (the engine's `MessageView::to_message`, `FromObject`, `ToObject`
// and `try_encode`), in node on the WebAssembly modules that bindings/web/dist ships: every
// golden message of engine/src/wire/protocol/golden_tests.rs (one of every kind, options present
// and absent, strings inline and out of line), every truncation and every bit flip of each,
// strings of every length class, and the golden objects with every field (and every part of a
// composite field) left out or replaced by values of every type. Both must refuse exactly the
// same bytes and objects with the same error, read the others to the same object (keys in the
// same order, the same types) and write them to the same bytes. Run after scripts/build-web.sh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(WEB, '../..');

/** The golden messages' bytes, read from the engine's golden test. */
function goldens() {
  const source = readFileSync(path.join(ROOT, 'engine/src/wire/protocol/golden_tests.rs'), 'utf8');
  const table = source.match(/const GOLDEN: &\[&str\] = &\[([\s\S]*?)\];/)[1];
  return [...table.matchAll(/"([0-9a-f]+)"/g)].map((m) => Uint8Array.from(Buffer.from(m[1], 'hex')));
}

const BUNDLES = mkdtempSync(path.join(tmpdir(), 'cobrowse-protocol-bytes-'));
after(() => rmSync(BUNDLES, { recursive: true, force: true }));

/** A TypeScript module of src/, bundled (its imports included) and imported. */
async function load(entry) {
  const out = await esbuild.build({
    entryPoints: [path.join(WEB, 'src', entry)],
    bundle: true,
    format: 'esm',
    write: false,
    target: 'es2022',
  });
  const file = path.join(BUNDLES, `${path.basename(entry, '.ts')}.mjs`);
  writeFileSync(file, out.outputFiles[0].text);
  return import(file);
}

let full; // the full module (cobrowse.js's): decodeMessage from the engine's object form
let customer; // the widget's: checkMessage in the engine, the fields read in JavaScript
let checkMessage;
before(async () => {
  full = await load('wasm.ts');
  await full.default({ module_or_path: readFileSync(path.join(WEB, 'dist/cobrowse_bg.wasm')) });
  customer = await load('wasm-customer.ts');
  await customer.default({ module_or_path: readFileSync(path.join(WEB, 'dist/cobrowse-widget_bg.wasm')) });
  const glue = await import(path.join(WEB, 'build/pkg-customer/cobrowse_wasm.js'));
  glue.initSync({ module: readFileSync(path.join(WEB, 'dist/cobrowse-widget_bg.wasm')) });
  checkMessage = glue.checkMessage;
});

/** `{ ok, value }` or `{ ok: false, error }` of `f()`. */
function outcome(f) {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: String(e.message) };
  }
}

/** A value with its objects' key order made visible (deepStrictEqual ignores key order). */
function ordered(v) {
  if (v instanceof Uint8Array) return { Uint8Array: [...v] };
  if (v === null || typeof v !== 'object') return v;
  return Object.keys(v).map((k) => [k, ordered(v[k])]);
}

/** Both decoders agree on `bytes`; returns the full module's outcome. */
function agree(bytes, what) {
  const want = outcome(() => full.decodeMessage(bytes));
  const got = outcome(() => customer.decodeMessage(bytes));
  assert.equal(got.ok, want.ok, `${what}: ${got.ok ? 'read' : got.error} where the engine ${want.ok ? 'read it' : `says ${want.error}`}`);
  if (want.ok) {
    assert.deepStrictEqual(got.value, want.value, what);
    assert.deepStrictEqual(ordered(got.value), ordered(want.value), `${what}: key order`);
  } else {
    assert.equal(got.error, want.error, what);
  }
  return want;
}

test('every golden message reads to the engine object, every kind included', () => {
  const codes = new Set();
  const read = new Set();
  const refused = [];
  for (const [i, bytes] of goldens().entries()) {
    const want = agree(bytes, `golden ${i}`);
    codes.add(bytes[6]);
    if (want.ok) read.add(want.value.kind);
    else refused.push(want.error);
  }
  // 41 kinds, all read but `Pong`, whose only golden holds u64 fields above 2^53 - 1, like the
  // second golden of `KeyframeRequest`: neither decoder makes a JavaScript number of them.
  assert.equal(codes.size, 41);
  assert.equal(read.size, 40);
  assert.equal(read.has('Pong'), false);
  assert.deepEqual(refused, [
    'cobrowse: `Pong.nonce` must be an integer in 0..=Number.MAX_SAFE_INTEGER',
    'cobrowse: `KeyframeRequest.have_seq` must be an integer in 0..=Number.MAX_SAFE_INTEGER',
  ]);
});

test('shapes of a few messages, written out', () => {
  const [hello, resumed] = goldens();
  assert.deepStrictEqual(customer.decodeMessage(hello), {
    kind: 'Hello',
    role: 'Customer',
    client: { browser: 'Firefox', browser_version: '128.0.3', os: 'Windows 11', client_version: '0.1.0' },
    resume: null,
  });
  assert.deepStrictEqual(customer.decodeMessage(resumed), {
    kind: 'Hello',
    role: 'Agent',
    client: { browser: '', browser_version: '', os: '', client_version: '' },
    resume: { session_id: 123456789, participant_id: 7, token: new TextEncoder().encode('0123456789abcdef'), last_seq: 41 },
  });
  // A nested u64 above Number.MAX_SAFE_INTEGER is named by its path, as the engine names it.
  const big = resumed.slice();
  big.set([0, 0, 0, 0, 0, 0, 0x20, 0], big.length - 8);
  assert.equal(big[big.length - 9], 1);
  agree(big, 'Hello.resume.last_seq = 2^53');
  assert.throws(() => customer.decodeMessage(big), {
    message: 'cobrowse: `Hello.resume.last_seq` must be an integer in 0..=Number.MAX_SAFE_INTEGER',
  });
  big[big.length - 2] = 0x1f;
  big.fill(0xff, big.length - 8, big.length - 2);
  assert.equal(customer.decodeMessage(big).resume.last_seq, Number.MAX_SAFE_INTEGER);
});

test('strings and byte fields of every length class read as the engine reads them', () => {
  // Inline up to 8 bytes; out of line the length's low 6 bits and its bits 6.. are stored apart.
  for (const len of [0, 1, 7, 8, 9, 63, 64, 65, 255, 256, 257, 1000, 4096]) {
    const text = 'é'.repeat(len >> 1) + 'x'.repeat(len & 1);
    for (const msg of [
      { kind: 'Chat', from: 2, text },
      { kind: 'AgentInput', target: 9, value: text },
      // (A title holds at most 512 bytes, a URL 2048.)
      { kind: 'SharedLink', from: 3, url: `https://example.com/${'a'.repeat(len % 2000)}`, title: text.slice(0, 250) },
      { kind: 'Frame', bytes: Uint8Array.from({ length: len + 1 }, (_, i) => i & 0xff) },
    ]) {
      const bytes = full.encodeMessage(msg);
      const got = agree(bytes, `${msg.kind} of ${len}`);
      assert.deepStrictEqual(got.value, msg);
    }
  }
});

test('malformed bytes are refused by the engine before anything reads them', () => {
  for (const [i, golden] of goldens().entries()) {
    for (let len = 0; len < golden.length; len++) {
      const bytes = golden.slice(0, len);
      const want = agree(bytes, `golden ${i} cut at ${len}`);
      // The refusal is checkMessage's own: the reader is never reached.
      if (!want.ok) assert.throws(() => checkMessage(bytes), { message: want.error });
    }
    for (let at = 0; at < golden.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const bytes = golden.slice();
        bytes[at] ^= 1 << bit;
        const want = agree(bytes, `golden ${i}, bit ${bit} of byte ${at} flipped`);
        const check = outcome(() => checkMessage(bytes));
        if (!check.ok) assert.equal(check.error, want.error);
        else assert.equal(check.value, bytes[6]);
      }
    }
  }
});

test('the widget module has no object form of messages of its own', async () => {
  const glue = await import(path.join(WEB, 'build/pkg-customer/cobrowse_wasm.js'));
  assert.equal(glue.decodeMessage, undefined);
  assert.equal(glue.encodeMessage, undefined);
  assert.equal(typeof glue.checkMessage, 'function');
});

test('the widget module has no tree dumps; the full module keeps them', () => {
  const dumps = (file) =>
    WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(path.join(WEB, 'dist', file))))
      .map((e) => e.name)
      .filter((n) => n.startsWith('captureengine_debugDump'))
      .sort();
  assert.deepEqual(dumps('cobrowse-widget_bg.wasm'), []);
  assert.deepEqual(dumps('cobrowse_bg.wasm'), ['captureengine_debugDumpLive', 'captureengine_debugDumpShadow']);
  const error = { message: 'cobrowse: the widget module has no tree dumps (load cobrowse.js)' };
  const engine = new customer.CaptureEngine(undefined);
  assert.throws(() => engine.debugDumpLive(), error);
  assert.throws(() => engine.debugDumpShadow(), error);
  engine.free();
  const fullEngine = new full.CaptureEngine(undefined);
  assert.equal(fullEngine.debugDumpLive(), '');
  fullEngine.free();
});

/** Both encoders agree on `msg`: the same bytes or the same error. Returns the full module's. */
function agreeEncoding(msg, what) {
  const want = outcome(() => full.encodeMessage(msg));
  const got = outcome(() => customer.encodeMessage(msg));
  assert.equal(got.ok, want.ok, `${what}: ${got.ok ? 'encoded' : got.error} where the engine ${want.ok ? 'encodes it' : `says ${want.error}`}`);
  if (want.ok) assert.deepStrictEqual(got.value, want.value, what);
  else assert.equal(got.error, want.error, what);
  return want;
}

/** The golden messages as objects (`Pong`'s, whose u64s no number holds, at 2^53 - 1). */
function goldenObjects() {
  const objects = [];
  for (const bytes of goldens()) {
    const decoded = outcome(() => full.decodeMessage(bytes));
    if (decoded.ok) objects.push([decoded.value, bytes]);
  }
  objects.push([{ kind: 'Pong', nonce: Number.MAX_SAFE_INTEGER, sent_at_ms: 0 }, null]);
  return objects;
}

test('every golden message object writes to the golden bytes, every kind included', () => {
  const kinds = new Set();
  for (const [msg, bytes] of goldenObjects()) {
    const want = agreeEncoding(msg, msg.kind);
    assert.equal(want.ok, true, msg.kind);
    if (bytes !== null) assert.deepStrictEqual(customer.encodeMessage(msg), bytes, msg.kind);
    kinds.add(msg.kind);
  }
  assert.equal(kinds.size, 41);
  // Options may be left out, byte fields may be arrays of numbers.
  agreeEncoding({ kind: 'Pointer', from: 2, x: 1, y: 2 }, 'target left out');
  agreeEncoding({ kind: 'Frame', bytes: [1, 2, 3] }, 'bytes as an array');
  agreeEncoding({ kind: 'Hello', role: 'Customer', client: {} }, 'client info left out');
});

/** Values of every wrong (and right) type for a field. */
const VALUES = [
  undefined, null, 0, 1, 7, 1.5, -1, -0, 2 ** 16, 2 ** 32, 2 ** 53, NaN, Infinity, 123456789, 99999999,
  '', 'x', 'https://example.com/a', 'javascript:alert(1)', 'a\u0007b', 'é'.repeat(300), true, false, {}, [],
  [1, 2], [256], [1.5], new Uint8Array(0), new Uint8Array(3), new Uint8Array(16), Array(16).fill(1),
  'Customer', 'Agent', 'Full', 'None', 'Pointer', 'Control', { Control: 2 }, { Control: -1 }, { Control: 2, x: 1 },
  'SECRET'.repeat(1000), 'Back', 'Url', { Url: 'https://example.com/' }, { Url: 'javascript:alert(1)' }, { Url: 5 }, 'All', 'One', { One: 3 }, 'BadMessage',
  'PermissionDenied', { PermissionDenied: 'MaskedField' }, { PermissionDenied: { UnsafeUrl: 'NotWeb' } },
  { PermissionDenied: 'Nope' }, 'ElementDisabled', 'UnsafeUrl', { UnsafeUrl: 'NotWeb' }, { UnsafeUrl: 'Nope' },
  'CustomerEnded', 'Click', 'CustomerStoppedSharing', { x: 1, y: 2, width: 3, height: 4 }, { x: 1, y: 2, width: 3 },
  { r: 1, g: 2, b: 3, a: 4 }, { r: 1, g: 2, b: 3, a: 256 }, { browser: 'b', os: null }, { browser: 1 }, { nope: '' },
  { session_id: 123456789, participant_id: 3, token: new Uint8Array(16), last_seq: null },
  { session_id: 12, participant_id: 3, token: new Uint8Array(16) }, { session_id: 123456789, participant_id: 3, token: [1] },
];

test('what is not a message is refused exactly as the engine refuses it', () => {
  for (const msg of [null, undefined, 5, 'Chat', [], new Uint8Array(3), {}, { kind: 'Nope' }, { kind: 5 }, { kind: 'constructor' }, { kind: 'Chat', from: 1, text: 'a', tx: 2 }]) {
    agreeEncoding(msg, `${JSON.stringify(msg)}`);
  }
  let cases = 0;
  for (const [golden] of goldenObjects()) {
    for (const key of Object.keys(golden).filter((k) => k !== 'kind')) {
      for (const value of VALUES) {
        const msg = { ...golden, [key]: value };
        if (value === undefined) delete msg[key];
        agreeEncoding(msg, `${golden.kind}.${key} = ${String(value)}`);
        cases++;
      }
      // One level down: every part of a composite field.
      const inner = golden[key];
      if (inner !== null && typeof inner === 'object' && !(inner instanceof Uint8Array)) {
        for (const part of Object.keys(inner)) {
          for (const value of VALUES) {
            const msg = { ...golden, [key]: { ...inner, [part]: value } };
            if (value === undefined) delete msg[key][part];
            agreeEncoding(msg, `${golden.kind}.${key}.${part} = ${String(value)}`);
            cases++;
          }
        }
      }
    }
  }
  assert.ok(cases > 5000, `${cases}`);
});

test("checkAgentAction on a message object gives the full module's results and errors", () => {
  // Fresh engines (no page: every target is missing); the checks against a live page are the
  // wasm crate's tests (wasm/tests/protocol.rs), on the bytes path in the customer's module.
  const want = new full.CaptureEngine(undefined);
  const got = new customer.CaptureEngine(undefined);
  const contexts = [
    { ceiling: 'full', inControl: true },
    { ceiling: 'Partial', inControl: false, allowedDomains: ['*.example.com'] },
    { ceiling: 'none', inControl: true, allowedDomains: null },
    { ceiling: 'most', inControl: true },
    { ceiling: 'full' },
    null,
  ];
  const actions = new Set(['Pointer', 'ClickRipple', 'Highlight', 'HighlightClear', 'Scroll', 'AgentClick', 'AgentInput', 'AgentSubmit', 'Navigate']);
  const messages = [null, {}, { kind: 'Nope' }, { kind: 'Navigate', to: { Url: 'javascript:alert(1)' } }];
  for (const [golden] of goldenObjects()) {
    messages.push(golden);
    if (!actions.has(golden.kind)) continue; // other kinds: refused by their kind (valid ones)
    for (const key of Object.keys(golden).filter((k) => k !== 'kind')) {
      for (const value of VALUES) {
        const msg = { ...golden, [key]: value };
        if (value === undefined) delete msg[key];
        messages.push(msg);
      }
    }
  }
  let allowed = 0;
  for (const msg of messages) {
    for (const ctx of contexts) {
      const a = outcome(() => want.checkAgentAction(msg, ctx));
      const b = outcome(() => got.checkAgentAction(msg, ctx));
      const what = `${JSON.stringify(msg)} under ${JSON.stringify(ctx)}`;
      assert.equal(b.ok, a.ok, `${what}: ${b.ok ? 'checked' : b.error} where the engine ${a.ok ? 'checks it' : `says ${a.error}`}`);
      if (a.ok) {
        assert.deepStrictEqual(ordered(b.value), ordered(a.value), what);
        if (a.value.allowed) allowed++;
      } else {
        assert.equal(b.error, a.error, what);
      }
    }
  }
  assert.ok(allowed > 10, `${allowed}`);
});
