// Batches in the browser: an explicit flush turns pending changes into one delta whose size
// is proportionate to what changed (not a keyframe, not a re-send of the page), and the
// engine never refuses the page's own batch encoding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  CORPUS, startServer, launch, openPair, takeFrames, applyFrames, snapshotState, checkMirror,
} from './harness.mjs';

const PAGE = '<!DOCTYPE html><html><head><title>t</title></head><body><p id="a">one</p><ul><li>x</li><li>y</li></ul></body></html>';
// The page issue 9 named: appending 10 divs to its body made ~87 KB deltas.
const NAMED = 'a14c7ccf3ab81a919783275d9813aca084e1eeb8d9f73c3cb61f7e32956f5a69.html';

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/simple.html': PAGE });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

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
