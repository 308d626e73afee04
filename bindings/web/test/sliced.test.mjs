// The first keyframe of a large page is made in time slices (src/slices.ts): the page changes
// while the walk runs (text, attributes, inserts, removes, moves across the walked/unwalked
// boundary), and the one keyframe made at the walk's end is the page as it is then: the
// agent's mirror equals the customer's page (tree and fingerprint) after that frame alone.
// `flush()` during the walk finishes it at once. The engine's phases after the walk (the page's
// preparation, the keyframe's encoding, the shadow's build) are sliced too, and the page may
// change between their slices as well: what changes during the preparation is in the keyframe
// (the late batch), what changes once the encoding began is in the next delta. (How long each slice takes is a benchmark
// figure: benches/browser/bench.mjs --large, BENCHMARKS.md.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, loadHelpers, takeFrames, startReplayer, applyFrames,
  snapshotState, checkMirror,
} from './harness.mjs';

// 16,667 rows of 6 nodes: 100,000 nodes in the body.
const ROWS = 16667;
const PAGE = `<!DOCTYPE html><html><head><title>large</title></head><body>${Array.from({ length: ROWS }, (_, i) => `<div class="row" id="r${i}"><span>cell ${i}</span> text <b>bold</b></div>`).join('')}</body></html>`;

const SMALL = '<!DOCTYPE html><html><head><title>small</title></head><body><p id="a">one <b>two</b></p></body></html>';
// Pages of `n` paragraphs (2n nodes in the body).
const paragraphs = (n) => `<!DOCTYPE html><html><head><title>p</title></head><body>${'<p>x</p>'.repeat(n)}</body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/large.html': PAGE, '/t/small.html': SMALL, '/t/p450.html': paragraphs(450), '/t/p2000.html': paragraphs(2000) });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


async function session() {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  const customer = await cctx.newPage();
  const agent = await actx.newPage();
  await customer.goto(`${server.base}/t/large.html`, { waitUntil: 'load' });
  await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
  await loadHelpers(customer, server.base);
  await loadHelpers(agent, server.base);
  await startReplayer(agent);
  await customer.evaluate(`globalThis.startInPage = ${startInPage}; globalThis.editInPage = ${editInPage}; globalThis.editPhasesInPage = ${editPhasesInPage}; globalThis.settledInPage = ${settledInPage};`);
  return { customer, agent, close: async () => { await cctx.close(); await actx.close(); } };
}

/** In the page: starts capture (frames collect as base64 in `__frames`; `__keyframe` resolves
 * at the first) and returns whether its walk was still running when `startCapture` returned. */
function startInPage() {
  globalThis.__frames = [];
  let resolve;
  globalThis.__keyframe = new Promise((r) => { resolve = r; });
  globalThis.__cap = globalThis.cobrowse.startCapture({
    maxDelayMs: 1e9,
    onFrame(bytes) {
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      globalThis.__frames.push(btoa(s));
      resolve();
    },
  });
  return globalThis.__cap.stats().walking;
}

/** Edits at the walk's start (round 0: the body is being listed, the rows near its start are
 * created, the rest not) and later (round 1: the last rows' subtrees are walked, the first
 * rows' not yet). Returns whether the walk was still running, and frames made so far. */
function editInPage(round) {
  const walking = globalThis.__cap.stats().walking;
  const body = document.body;
  const row = (i) => document.getElementById(`r${i}`);
  if (round === 0) {
    // The root (walked): an attribute; a new child of the walked <html>.
    document.documentElement.setAttribute('data-edited', 'yes');
    const aside = document.createElement('aside');
    aside.textContent = 'inserted into a walked parent';
    document.documentElement.appendChild(aside);
    // A row from the unwalked end moved to the body's start (already listed).
    body.insertBefore(row(16000), body.firstChild);
    // The first row (created, its children not walked) moved to the unwalked end.
    body.appendChild(row(0));
    // Removals: a created row, an unwalked one.
    row(1).remove();
    row(9000).remove();
    // Text of a node not walked yet, a new element at the body's start.
    row(2).firstChild.firstChild.data = 'early text edit';
    const p = document.createElement('p');
    p.textContent = 'new first paragraph';
    body.insertBefore(p, body.firstChild);
  } else {
    // The last rows (walked by now: the walk takes the body's rows from its end): text,
    // attribute, a child moved out to an unwalked row, a row moved to the unwalked start.
    row(16666).firstChild.firstChild.data = 'late text edit';
    row(16665).setAttribute('class', 'row late');
    row(3).appendChild(row(16664).querySelector('b'));
    body.insertBefore(row(16663), row(4));
    row(16662).remove();
    // An unwalked row's child moved into a walked row.
    row(16661).appendChild(row(5).querySelector('span'));
  }
  return { walking, frames: globalThis.__frames.length };
}

/** In the page: starts capture, then runs a task between the capture's slices (a
 * MessageChannel, like slices.ts) until the keyframe is done, and edits the page in the first
 * task that finds each of the engine's phases under way. Returns the phases seen, in order,
 * with the frames emitted when each edit was made. */
function editPhasesInPage() {
  globalThis.startInPage();
  const row = (i) => document.getElementById(`r${i}`);
  const edits = {
    // During the preparation: in the keyframe (late batch).
    prepare() {
      row(10).firstChild.firstChild.data = 'edited while prepared';
      const p = document.createElement('p');
      p.id = 'prepared';
      p.textContent = 'inserted while prepared';
      document.body.insertBefore(p, row(11));
      row(12).remove();
    },
    // During the encoding: the next delta.
    encode() {
      row(20).firstChild.firstChild.data = 'edited while encoded';
      row(21).setAttribute('class', 'row encoded');
      document.body.appendChild(row(22));
      row(23).remove();
    },
    // During the shadow's build: the next delta.
    settle() {
      row(30).firstChild.firstChild.data = 'edited while settled';
      const i = document.createElement('i');
      i.textContent = 'inserted while settled';
      row(31).appendChild(i);
      row(32).remove();
    },
  };
  const seen = [];
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      const phase = globalThis.__cap.stats().keyframePhase;
      if (phase === null) {
        ch.port1.close();
        resolve(seen);
        return;
      }
      if (edits[phase] !== undefined && !seen.some((s) => s.phase === phase)) {
        seen.push({ phase, frames: globalThis.__frames.length });
        edits[phase]();
      }
      ch.port2.postMessage(null);
    };
    ch.port2.postMessage(null);
  });
}

test('a 100,000-node page: edits between the engine phases after the walk reach the mirror', async () => {
  const s = await session();
  try {
    const seen = await s.customer.evaluate(() => globalThis.editPhasesInPage());
    // Each phase spans several tasks; the keyframe is emitted at the end of the encoding.
    assert.deepEqual(seen, [
      { phase: 'prepare', frames: 0 },
      { phase: 'encode', frames: 0 },
      { phase: 'settle', frames: 1 },
    ]);
    // The keyframe, then (the page's next animation frame may have come) the later batches.
    const frames = await takeFrames(s.customer, false);
    assert.ok(frames.length >= 1);
    assert.deepEqual(await applyFrames(s.agent, frames.slice(0, 1)), [{ ok: true }]);
    // The preparation's edits are in the keyframe, the later ones not yet.
    const seenByAgent = () => s.agent.evaluate(() => {
      const d = document.getElementById('mirror').contentDocument;
      const text = (id) => d.getElementById(id)?.textContent ?? null;
      return [text('r10'), text('prepared'), text('r12'), text('r20'), text('r23'), text('r31')];
    });
    assert.deepEqual(await seenByAgent(), [
      'edited while prepared text bold', 'inserted while prepared', null,
      'cell 20 text bold', 'cell 23 text bold', 'cell 31 text bold',
    ]);
    const more = frames.slice(1).concat(await takeFrames(s.customer));
    assert.ok(more.length >= 1, 'deltas with the edits made while encoded and settled');
    assert.deepEqual(await applyFrames(s.agent, more), more.map(() => ({ ok: true })));
    assert.deepEqual(await seenByAgent(), [
      'edited while prepared text bold', 'inserted while prepared', null,
      'edited while encoded text bold', null, 'cell 31 text boldinserted while settled',
    ]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the keyframe and the delta', { samePage: true });
    const stats = await s.customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.refusedBatches, 0);
    assert.equal(stats.fallbackKeyframes, 0);
    assert.equal(stats.pageHandles, stats.engineHandles);
  } finally {
    await s.close();
  }
});

test('a 100,000-node page: edits during the sliced walk are in its one keyframe, mirror == page', async () => {
  const s = await session();
  try {
    assert.equal(await s.customer.evaluate(startInPage), true, 'the walk continues after startCapture returns');
    assert.deepEqual(await s.customer.evaluate(editInPage, 0), { walking: true, frames: 0 });
    // Let a few slices run, then edit the part walked by now.
    await s.customer.evaluate(() => new Promise((r) => setTimeout(r, 60)));
    assert.deepEqual(await s.customer.evaluate(editInPage, 1), { walking: true, frames: 0 });
    await s.customer.evaluate(() => globalThis.__keyframe);
    const frames = await takeFrames(s.customer, false);
    assert.equal(frames.length, 1, 'one keyframe, no delta');
    assert.deepEqual(await applyFrames(s.agent, frames), [{ ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the keyframe', { samePage: true });
    const stats = await s.customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.walking, false);
    assert.equal(stats.refusedBatches, 0);
    // Removed nodes are freed on both sides: the page's handles are the engine's.
    assert.equal(stats.pageHandles, stats.engineHandles);
    // The next changes are a delta against that keyframe, also to the nodes moved during the
    // walk (each known to the page and the engine by one handle).
    await s.customer.evaluate(() => {
      const row = (i) => document.getElementById(`r${i}`);
      row(7).textContent = 'after';
      for (const i of [0, 16000, 16663, 3, 16661]) {
        row(i).setAttribute('data-after', 'x');
        for (const el of row(i).querySelectorAll('span, b')) el.firstChild.data += ' after';
      }
    });
    const more = await takeFrames(s.customer);
    assert.equal(more.length, 1);
    assert.deepEqual(await applyFrames(s.agent, more), [{ ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after a delta', { samePage: true });
  } finally {
    await s.close();
  }
});

test('flush() during the walk finishes it synchronously into one keyframe', async () => {
  const s = await session();
  try {
    const r = await s.customer.evaluate(() => {
      const walking = globalThis.startInPage();
      const edit = globalThis.editInPage(0);
      globalThis.__cap.flush();
      return { walking, edit, after: globalThis.__cap.stats().walking, frames: globalThis.__frames.length };
    });
    assert.deepEqual(r, { walking: true, edit: { walking: true, frames: 0 }, after: false, frames: 1 });
    const frames = await takeFrames(s.customer, false);
    assert.deepEqual(await applyFrames(s.agent, frames), [{ ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the flushed keyframe', { samePage: true });
  } finally {
    await s.close();
  }
});

/** In the page: counts the page's animation-frame requests from now on (`__rafCalls`). */
function countFramesInPage() {
  globalThis.__rafCalls = 0;
  const raf = window.requestAnimationFrame.bind(window);
  globalThis.__rafUncounted = raf;
  window.requestAnimationFrame = (cb) => {
    globalThis.__rafCalls++;
    return raf(cb);
  };
}

/** In the page: resolves once the capture's keyframe work is over and a few rendered frames
 * and tasks have passed (its own frame requests are not counted). */
function settledInPage() {
  const requestAnimationFrame = globalThis.__rafUncounted ?? window.requestAnimationFrame.bind(window);
  return new Promise((resolve) => {
    const wait = () => {
      if (globalThis.__cap.stats().walking) {
        setTimeout(wait, 0);
        return;
      }
      let n = 0;
      const tick = () => (++n < 4 ? requestAnimationFrame(() => setTimeout(tick, 20)) : resolve());
      tick();
    };
    wait();
  });
}

test('no batch is requested after the keyframe of a page that did not change meanwhile', async () => {
  const s = await session();
  try {
    await s.customer.evaluate(countFramesInPage);
    assert.equal(await s.customer.evaluate(startInPage), true, 'the walk continues after startCapture returns');
    await s.customer.evaluate(() => globalThis.settledInPage());
    const r = await s.customer.evaluate(() => ({ frames: globalThis.__frames.length, raf: globalThis.__rafCalls }));
    assert.deepEqual(r, { frames: 1, raf: 0 }, 'the keyframe alone, and no animation frame asked for');
  } finally {
    await s.close();
  }
});

test('a change made after the late batch comes as a delta of its own, without flush()', async () => {
  const s = await session();
  try {
    const seen = await s.customer.evaluate(() => globalThis.editPhasesInPage());
    assert.deepEqual(seen.map((x) => x.phase), ['prepare', 'encode', 'settle']);
    // maxDelayMs is 1e9: only the batch scheduled at the keyframe's end (an animation frame)
    // can send the edits made while encoded and settled.
    await s.customer.evaluate(() => globalThis.settledInPage());
    const frames = await takeFrames(s.customer, false);
    assert.equal(frames.length, 2, 'the keyframe and one delta');
    assert.deepEqual(await applyFrames(s.agent, frames), [{ ok: true }, { ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the keyframe and the delta', { samePage: true });
  } finally {
    await s.close();
  }
});

/** In the page: `startCapture(opts)` with `performance.now` replaced by `now` while it runs. */
function startUnderClock(now, opts) {
  performance.now = now;
  try {
    return globalThis.cobrowse.startCapture(opts);
  } finally {
    delete performance.now;
  }
}

/** In the page: a clock that stands still for its first `k` reads, then jumps 1 s (past every
 * deadline). */
function stallingClock(k) {
  const t0 = performance.now();
  let reads = 0;
  return () => (++reads <= k ? t0 : t0 + 1000);
}

/** A page of `cctx` at `path` with the helpers and the two clock functions above; page errors
 * go to `errors` when given. */
async function clockedPage(cctx, path, errors) {
  const page = await cctx.newPage();
  if (errors) page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.base}${path}`, { waitUntil: 'load' });
  await loadHelpers(page, server.base);
  await page.evaluate(`globalThis.startUnderClock = ${startUnderClock}; globalThis.stallingClock = ${stallingClock};`);
  return page;
}

test('a keyframe made in the task that began it collects no changes; one whose walk yielded collects them at the walk\'s end and in the late batch', async () => {
  const cctx = await localContext(browser);
  try {
    const counts = {};
    for (const name of ['small', 'large']) {
      const page = await clockedPage(cctx, `/t/${name}.html`);
      counts[name] = await page.evaluate(async () => {
        // Every collection of changes takes the observer's records first (`collect`); the
        // keyframe's start takes them once to drop what came before it.
        let takes = 0;
        const take = MutationObserver.prototype.takeRecords;
        MutationObserver.prototype.takeRecords = function () {
          takes++;
          return take.call(this);
        };
        // A clock that moves 1 ms at each read during the first task (as in the tests below),
        // so whether it ends the keyframe depends on the page alone, not on the machine's load.
        let t = performance.now();
        const cap = globalThis.startUnderClock(() => ++t, { maxDelayMs: 1e9, onFrame() {} });
        const inOneTask = !cap.stats().walking;
        while (cap.stats().walking) await new Promise((r) => setTimeout(r, 0));
        MutationObserver.prototype.takeRecords = take;
        cap.stop();
        return { inOneTask, takes };
      });
      await page.close();
    }
    assert.deepEqual(counts, { small: { inOneTask: true, takes: 1 }, large: { inOneTask: false, takes: 3 } });
  } finally {
    await cctx.close();
  }
});


test('a walk past the first slice\'s deadline ends in that task when the rest is projected to fit its longest extension (30 ms from the start), in slices when not', async () => {
  const cctx = await localContext(browser);
  try {
    const seen = {};
    for (const n of [450, 2000]) {
      const page = await clockedPage(cctx, `/t/p${n}.html`);
      seen[n] = await page.evaluate(async () => {
        // A clock that moves 1 ms at each read: the walk reads it every 64 nodes, so where the
        // deadlines fall depends on the page alone. At the first deadline (12 ms: about 800
        // nodes walked) 450 paragraphs are mostly walked (projected 13 ms x 454/400 x 1.3,
        // under 30), 2,000 are not (projected about 90 ms).
        let t = performance.now();
        const cap = globalThis.startUnderClock(() => ++t, { maxDelayMs: 1e9, onFrame() {} });
        const inOneTask = !cap.stats().walking;
        while (cap.stats().walking) await new Promise((r) => setTimeout(r, 0));
        cap.stop();
        return inOneTask;
      });
      await page.close();
    }
    assert.deepEqual(seen, { 450: true, 2000: false });
  } finally {
    await cctx.close();
  }
});

test('each step of the engine\'s phases (the late batch too) begins only before the slice\'s deadline', async () => {
  const cctx = await localContext(browser);
  try {
    const page = await clockedPage(cctx, '/t/small.html');
    const ended = await page.evaluate(async () => {
      // A clock that stands still for its first `k` reads, then jumps 1 s (past every
      // deadline): the first task ends at the first check of the clock after the jump. On the
      // small page (one step per phase, the walk reads no clock) the reads are: the keyframe's
      // start, the first slice's deadline, then one before each step: the preparation, the
      // late batch, the encoding, the shadow's build. Returns where the keyframe stood when
      // `startCapture` returned, for k = 2..6 (null: done).
      const out = [];
      for (let k = 2; k <= 6; k++) {
        const cap = globalThis.startUnderClock(globalThis.stallingClock(k), { maxDelayMs: 1e9, onFrame() {} });
        const s = cap.stats();
        out.push(s.walking ? s.keyframePhase : null);
        while (cap.stats().walking) await new Promise((r) => setTimeout(r, 0));
        cap.stop();
      }
      return out;
    });
    // k = 2: before the preparation; 3: before the late batch (the preparation done).
    assert.deepEqual(ended, ['prepare', 'prepare', 'encode', 'settle', null]);
  } finally {
    await cctx.close();
  }
});

test('onFrame may stop the capture: the keyframe\'s phases after its frame do not run on the freed engine', async () => {
  const cctx = await localContext(browser);
  try {
    const errors = [];
    const page = await clockedPage(cctx, '/t/small.html', errors);
    const r = await page.evaluate(async () => {
      // As in the test above: the first task ends before the encoding (k = 4), so the keyframe's
      // frame is emitted in a later task, where `cap` is set and `onFrame` can stop it.
      let frames = 0;
      const cap = globalThis.startUnderClock(globalThis.stallingClock(4), { maxDelayMs: 1e9, onFrame() { frames++; cap.stop(); } });
      const phase = cap.stats().keyframePhase;
      for (let i = 0; i < 50 && frames === 0; i++) await new Promise((res) => setTimeout(res, 10));
      await new Promise((res) => setTimeout(res, 50));
      return { phase, frames };
    });
    assert.deepEqual(r, { phase: 'encode', frames: 1 });
    assert.deepEqual(errors, [], 'no error once the capture is stopped');
  } finally {
    await cctx.close();
  }
});

test('a capture started after another stopped keeps its handles under the stopped one\'s property: no new property on every node at each start', async () => {
  const cctx = await localContext(browser);
  try {
    const page = await clockedPage(cctx, '/t/small.html');
    const counts = await page.evaluate(() => {
      const p = document.getElementById('a');
      // The node's symbol-keyed properties, and those holding a handle (a running capture's).
      const count = () => {
        const keys = Object.getOwnPropertySymbols(p);
        return [keys.length, keys.filter((k) => p[k] !== undefined).length];
      };
      const start = () => globalThis.cobrowse.startCapture({ maxDelayMs: 1e9, onFrame() {} });
      const out = [];
      const a = start();
      out.push(count());
      a.stop();
      const b = start();
      out.push(count());
      // Two at once: each its own property.
      const c = start();
      out.push(count());
      b.stop();
      c.stop();
      const d = start();
      const e = start();
      out.push(count());
      d.stop();
      e.stop();
      out.push(count());
      return out;
    });
    assert.deepEqual(counts, [[1, 1], [1, 1], [2, 2], [2, 2], [2, 0]]);
  } finally {
    await cctx.close();
  }
});
