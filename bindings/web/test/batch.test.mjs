// Batches in the browser: an explicit flush turns pending changes into one delta whose size
// is proportionate to what changed (not a keyframe, not a re-send of the page), and the
// engine never refuses the page's own batch encoding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  CORPUS, startServer, launch, localContext, loadHelpers, openPair, takeFrames, applyFrames, snapshotState, checkMirror,
} from './harness.mjs';

const MOVES = '<!DOCTYPE html><html><head><title>m</title></head><body><div id="a"><section id="x" class="s"><p title="t1">one <b>two</b></p><p title="t2">three</p></section><i>after</i></div><div id="b"><u>first</u></div></body></html>';
const PAGE = '<!DOCTYPE html><html><head><title>t</title></head><body><p id="a">one</p><ul><li>x</li><li>y</li></ul></body></html>';
// The page issue 9 named: appending 10 divs to its body made ~87 KB deltas.
const NAMED = 'a14c7ccf3ab81a919783275d9813aca084e1eeb8d9f73c3cb61f7e32956f5a69.html';

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/simple.html': PAGE, '/t/moves.html': MOVES });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Applies `frames` on the agent page of session `s` (each must apply), then checks the
 * mirror against the customer's page (`checkMirror`, with `opts`). */
async function replayAndCheck(s, frames, where, opts) {
  assert.deepEqual(await applyFrames(s.agent, frames), frames.map(() => ({ ok: true })));
  checkMirror(await snapshotState(s.customer, s.agent), where, opts);
}

/** Fixed cost of a delta (header, counts) plus a generous per-character cost of its content. */
const bound = (html) => 64 + 8 * html.length;


const session = (url) => openPair(browser, server.base, url);

const size = (b64) => Buffer.from(b64, 'base64').length;

test('appending one small element makes one small delta; a flush with nothing pending makes none', async () => {
  const s = await session(`${server.base}/t/simple.html`);
  try {
    // Nothing changed: no frame (the document's scroll offsets are re-read and unchanged).
    assert.deepEqual(await takeFrames(s.customer), []);
    const html = await s.customer.evaluate(() => {
      const i = document.createElement('i');
      i.textContent = 'x';
      document.body.appendChild(i);
      return i.outerHTML;
    });
    const frames = await takeFrames(s.customer);
    assert.equal(frames.length, 1);
    assert.ok(size(frames[0]) <= bound(html), `delta of ${size(frames[0])} B for ${html} (bound ${bound(html)})`);
    assert.deepEqual(await applyFrames(s.agent, frames), [{ ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the append');
    const stats = await s.customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.refusedBatches, 0);
    assert.equal(stats.fallbackKeyframes, 0);
  } finally {
    await s.close();
  }
});

test('nestings a script makes and the parser never does (a div in a p, an li in an li) reach the mirror as the page has them', async () => {
  const s = await session(`${server.base}/t/simple.html`);
  try {
    await s.customer.evaluate(() => {
      const div = document.createElement('div');
      div.id = 'moved';
      div.style.height = '3000px';
      div.textContent = 'tall';
      document.getElementById('a').appendChild(div);
      const [x, y] = document.querySelectorAll('li');
      x.appendChild(y);
    });
    assert.deepEqual(await applyFrames(s.agent, await takeFrames(s.customer)), [{ ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the moves', { samePage: true });
    // The tall div is there for the agent: the customer's scroll to its end is the mirror's.
    await s.customer.evaluate(() => window.scrollTo(0, 2000));
    await s.customer.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    assert.deepEqual(await applyFrames(s.agent, await takeFrames(s.customer)), [{ ok: true }]);
    const state = await snapshotState(s.customer, s.agent);
    checkMirror(state, 'after the scroll', { samePage: true });
    assert.equal(state.c.scroll[1], 2000);
    assert.deepEqual(state.a.scroll, state.c.scroll);
  } finally {
    await s.close();
  }
});

test('10 divs appended to a corpus page body, then replaced, make deltas proportionate to them', { skip: !existsSync(path.join(CORPUS, NAMED)) && 'corpus not fetched' }, async () => {
  const s = await session(`${server.base}/corpus/${NAMED}`);
  try {
    for (let batch = 0; batch < 3; batch++) {
      const html = await s.customer.evaluate((batch) => {
        for (const el of globalThis.__added ?? []) el.remove();
        globalThis.__added = [];
        let all = '';
        for (let k = 0; k < 10; k++) {
          const d = document.createElement('div');
          d.textContent = `batch ${batch} node ${k}`;
          document.body.appendChild(d);
          globalThis.__added.push(d);
          all += d.outerHTML;
        }
        return all;
      }, batch);
      const frames = await takeFrames(s.customer);
      assert.equal(frames.length, 1, `batch ${batch}`);
      assert.ok(size(frames[0]) <= bound(html), `batch ${batch}: delta of ${size(frames[0])} B (bound ${bound(html)})`);
      assert.deepEqual(await applyFrames(s.agent, frames), [{ ok: true }]);
      checkMirror(await snapshotState(s.customer, s.agent), `batch ${batch}`);
    }
    const stats = await s.customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.refusedBatches, 0);
  } finally {
    await s.close();
  }
});

test('without flush, changes and a scroll go out as one frame in a task after the next animation frame (not inside it)', async () => {
  const s = await session(`${server.base}/t/simple.html`);
  try {
    const seen = await s.customer.evaluate(async () => {
      const box = document.createElement('div');
      box.id = 'box';
      box.style.cssText = 'height:50px;overflow:auto';
      box.innerHTML = '<div style="height:500px">tall</div>';
      document.body.appendChild(box);
      // The first batch (the box) has to go out before the scroll can be seen as one.
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
      const before = globalThis.__frames.length;
      document.getElementById('a').textContent = 'two';
      box.scrollTop = 30;
      // The capture's MutationObserver callback runs first and schedules its batch: an
      // animation-frame callback registered after that sees no frame yet.
      await Promise.resolve();
      const inFrame = await new Promise((r) => requestAnimationFrame(() => r(globalThis.__frames.length - before)));
      for (let i = 0; i < 100 && globalThis.__frames.length === before + 0; i++) await new Promise((r) => setTimeout(r, 10));
      return { before, inFrame, after: globalThis.__frames.length - before };
    });
    assert.equal(seen.before, 1, 'the box went out in one frame of its own');
    assert.equal(seen.inFrame, 0, 'no frame inside the animation frame');
    assert.equal(seen.after, 1, 'one frame after it (the timer is 1e9 ms: the frame came from the animation frame)');
    const frames = await takeFrames(s.customer, false);
    assert.equal(frames.length, 2);
    assert.deepEqual(await applyFrames(s.agent, frames), [{ ok: true }, { ok: true }]);
    const state = await snapshotState(s.customer, s.agent);
    checkMirror(state, 'after the frames the animation frames made');
    const mirrorScroll = await s.agent.evaluate(() => document.getElementById('mirror').contentDocument.getElementById('box').scrollTop);
    assert.equal(mirrorScroll, 30);
  } finally {
    await s.close();
  }
});


/** Wraps the engine's `batch` in the customer page: every batch's op stream goes to `__ops`. */
async function recordBatches(page) {
  await page.evaluate(() => {
    globalThis.__ops = [];
    const engine = globalThis.__cap.engine;
    const batch = engine.batch.bind(engine);
    engine.batch = (ops, text) => {
      globalThis.__ops.push(Array.from(ops));
      return batch(ops, text);
    };
  });
}

test('a subtree moved in one task costs its two child lists, not a re-send of the subtree', async () => {
  const s = await session(`${server.base}/t/moves.html`);
  try {
    await recordBatches(s.customer);
    const expected = await s.customer.evaluate(() => {
      const x = document.getElementById('x');
      const b = document.getElementById('b');
      b.insertBefore(x, b.firstChild);
      // The handles the capture gave the nodes (its node-to-handle map).
      const handle = globalThis.__cap.ids;
      const list = (p) => [7, handle.get(p), p.childNodes.length, ...[...p.childNodes].map((c) => handle.get(c))];
      globalThis.__cap.flush();
      // flush() re-reads the document's scroll offsets (OP_SCROLL, unchanged: 0, 0), then the
      // child lists follow.
      return [13, handle.get(document.scrollingElement), 0, 0, 0, ...list(document.getElementById('a')), ...list(b)];
    });
    const frames = await takeFrames(s.customer, false);
    const ops = await s.customer.evaluate(() => globalThis.__ops);
    // OP_SET_CHILDREN of the old parent, then of the new one: no attributes, texts or child
    // lists of the moved subtree (it never left the observed page between two deliveries).
    assert.deepEqual(ops, [expected]);
    assert.equal(frames.length, 1);
    assert.deepEqual(await applyFrames(s.agent, frames), [{ ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the move', { samePage: true });
  } finally {
    await s.close();
  }
});

test('a subtree edited while out of the page (after its removal was delivered) comes back as the page has it', async () => {
  const s = await session(`${server.base}/t/moves.html`);
  try {
    // Out of the page across a delivery of the records, edited there (unobserved), put back.
    await s.customer.evaluate(async () => {
      const x = document.getElementById('x');
      x.remove();
      await new Promise((r) => setTimeout(r, 0));
      x.setAttribute('class', 'edited');
      x.firstChild.firstChild.data = 'ONE ';
      x.firstChild.setAttribute('title', 'T1');
      x.lastChild.appendChild(document.createElement('em')).textContent = 'new';
      document.getElementById('b').appendChild(x);
    });
    let frames = await takeFrames(s.customer);
    await replayAndCheck(s, frames, 'after the put-back', { samePage: true });
    // A node taken out of a subtree that is out of the page (no record of that) into the page.
    await s.customer.evaluate(async () => {
      const x = document.getElementById('x');
      x.remove();
      await new Promise((r) => setTimeout(r, 0));
      const p = x.firstChild;
      p.setAttribute('title', 'moved out');
      p.lastChild.textContent = 'TWO';
      document.body.appendChild(p);
    });
    frames = await takeFrames(s.customer);
    await replayAndCheck(s, frames, 'after the node from a detached subtree', { samePage: true });
  } finally {
    await s.close();
  }
});

test('adopted sheets are relisted only when the adopted list or one of its sheets changed, not at every batch', async () => {
  const s = await session(`${server.base}/t/simple.html`);
  try {
    await s.customer.evaluate(() => {
      const c = new CSSStyleSheet();
      c.replaceSync('.x { color: red }');
      document.adoptedStyleSheets = [c];
    });
    let frames = await takeFrames(s.customer);
    await recordBatches(s.customer);
    const expected = await s.customer.evaluate(() => {
      const t = document.getElementById('a').firstChild;
      t.data = 'ONE';
      globalThis.__cap.flush();
      const handle = globalThis.__cap.ids;
      // The text (OP_SET_TEXT, 3 UTF-16 units), the document's scroll offsets re-read by flush().
      return [9, handle.get(t), 3, 13, handle.get(document.scrollingElement), 0, 0, 0];
    });
    frames.push(...(await takeFrames(s.customer, false)));
    assert.deepEqual(await s.customer.evaluate(() => globalThis.__ops), [expected]);
    // Changed in place (no setter sees it) and through the CSSOM: relisted, mirrored.
    await s.customer.evaluate(() => {
      const d = new CSSStyleSheet();
      d.replaceSync('.y { color: blue }');
      document.adoptedStyleSheets.push(d);
    });
    frames.push(...(await takeFrames(s.customer)));
    await s.customer.evaluate(() => document.adoptedStyleSheets[0].insertRule('.z { color: green }'));
    frames.push(...(await takeFrames(s.customer)));
    await replayAndCheck(s, frames, 'after the adopted edits');
    const mirrored = await s.agent.evaluate(() => {
      const doc = document.getElementById('mirror').contentDocument;
      return doc.documentElement.lastElementChild.textContent;
    });
    assert.equal(mirrored, '.z { color: green; }\n.x { color: red; }\n.y { color: blue; }\n');
  } finally {
    await s.close();
  }
});

test('without animation frames (a tab in the background), each change goes out within maxDelayMs, by one timer', async () => {
  const context = await localContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(`${server.base}/t/simple.html`, { waitUntil: 'load' });
    await loadHelpers(page, server.base);
    const counts = await page.evaluate(async () => {
      // No animation frame ever comes.
      globalThis.requestAnimationFrame = () => 0;
      const frames = [];
      const cap = globalThis.cobrowse.startCapture({ maxDelayMs: 40, onFrame: (b) => frames.push(b.length) });
      const wait = (ms) => new Promise((r) => setTimeout(r, ms));
      // The keyframe (its phases may run in tasks of their own on a loaded machine).
      for (let i = 0; i < 300 && frames.length === 0; i++) await wait(10);
      const out = [frames.length];
      document.getElementById('a').textContent = 'one';
      await wait(20);
      // A second change before the first went out: the same batch.
      document.getElementById('a').title = 'x';
      await wait(400);
      out.push(frames.length);
      document.getElementById('a').textContent = 'two';
      await wait(400);
      out.push(frames.length);
      cap.stop();
      return out;
    });
    // The keyframe, then one delta per burst of changes.
    assert.deepEqual(counts, [1, 2, 3]);
  } finally {
    await context.close();
  }
});

test('a <style> moved in one task (its sheet parsed again from its text, CSSOM edits gone) is relisted as the page has it', async () => {
  const s = await session(`${server.base}/t/moves.html`);
  try {
    await s.customer.evaluate(() => {
      const st = document.createElement('style');
      st.textContent = 'p { color: red }';
      document.getElementById('x').appendChild(st);
    });
    const frames = await takeFrames(s.customer);
    await s.customer.evaluate(() => document.querySelector('#x style').sheet.insertRule('i { color: blue }', 1));
    frames.push(...(await takeFrames(s.customer)));
    // The section holding the style moved in one task: the style's sheet is new.
    await s.customer.evaluate(() => document.getElementById('b').appendChild(document.getElementById('x')));
    frames.push(...(await takeFrames(s.customer)));
    const rules = await s.customer.evaluate(() => Array.from(document.querySelector('#x style').sheet.cssRules, (r) => r.cssText));
    assert.deepEqual(rules, ['p { color: red; }']);
    const sent = frames.splice(0);
    await replayAndCheck(s, sent, 'after moving the style\'s section', { samePage: true });
    // Edited again, then the style itself moved in one task.
    await s.customer.evaluate(() => document.querySelector('#x style').sheet.insertRule('b { color: green }', 1));
    frames.push(...(await takeFrames(s.customer)));
    await s.customer.evaluate(() => document.getElementById('a').appendChild(document.querySelector('#x style')));
    frames.push(...(await takeFrames(s.customer)));
    await replayAndCheck(s, frames, 'after moving the style', { samePage: true });
  } finally {
    await s.close();
  }
});

test('a shadow host moved in one task: the <style>s of its shadow root, and of roots nested in it, are relisted as the page has them', async () => {
  const s = await session(`${server.base}/t/moves.html`);
  try {
    await s.customer.evaluate(() => {
      const host = document.createElement('div');
      host.id = 'host';
      document.getElementById('x').appendChild(host);
      const root = host.attachShadow({ mode: 'open' });
      root.innerHTML = '<style>p { color: red }</style><p>outer</p><span id="inner"></span>';
      const inner = root.getElementById('inner').attachShadow({ mode: 'closed' });
      inner.innerHTML = '<style>b { color: red }</style><b>inner</b>';
      globalThis.__innerRoot = inner;
    });
    const frames = await takeFrames(s.customer);
    await s.customer.evaluate(() => {
      document.getElementById('host').shadowRoot.querySelector('style').sheet.insertRule('i { color: blue }', 1);
      globalThis.__innerRoot.querySelector('style').sheet.insertRule('u { color: blue }', 1);
    });
    frames.push(...(await takeFrames(s.customer)));
    assert.deepEqual(await applyFrames(s.agent, frames.splice(0)), [{ ok: true }, { ok: true }]);
    checkMirror(await snapshotState(s.customer, s.agent), 'after the CSSOM edits in the shadow roots', { samePage: true });
    // The section holding the host moved in one task: both shadow roots' styles have new sheets.
    await s.customer.evaluate(() => document.getElementById('b').appendChild(document.getElementById('x')));
    frames.push(...(await takeFrames(s.customer)));
    const rules = await s.customer.evaluate(() => [
      Array.from(document.getElementById('host').shadowRoot.querySelector('style').sheet.cssRules, (r) => r.cssText),
      Array.from(globalThis.__innerRoot.querySelector('style').sheet.cssRules, (r) => r.cssText),
    ]);
    assert.deepEqual(rules, [['p { color: red; }'], ['b { color: red; }']]);
    await replayAndCheck(s, frames, 'after moving the shadow host\'s section', { samePage: true });
  } finally {
    await s.close();
  }
});
