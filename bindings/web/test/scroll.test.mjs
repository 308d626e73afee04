// Scroll offsets in the mirror are the customer's, as reported: the mirror never moves them by
// itself. Chromium's scroll anchoring moves a scroller when its layout changes above the
// viewport; on the customer's side that move is a scroll the capture reports, but the mirror's
// layout can change later than the customer's did (an image the customer had cached loads in
// the mirror a moment after the frame), and anchoring of its own then left the mirror scrolled
// elsewhere with nothing on the wire to put it back (corpus page 44b21071…, batch 4: 1903
// against 1885).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, openPair, takeFrames, applyFrames, snapshotState, checkMirror,
} from './harness.mjs';

const rows = Array.from({ length: 60 }, (_, i) => `<p style="height:40px;margin:0">row ${i}</p>`).join('');
const PAGE = `<!DOCTYPE html><html><head><title>t</title></head><body style="margin:0"><div id="top" style="height:100px"></div>${rows}</body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/rows.html': PAGE });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("the mirror keeps the customer's scroll offsets when its own layout changes above the viewport later", async () => {
  const { customer, agent, close } = await openPair(browser, server.base, `${server.base}/t/rows.html`);
  try {
    await customer.evaluate(() => window.scrollTo(0, 1000));
    await customer.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer)), [{ ok: true }]);
    let state = await snapshotState(customer, agent);
    checkMirror(state, 'after the scroll', { samePage: true });
    assert.deepEqual(state.c.scroll, [0, 1000]);
    assert.deepEqual(state.a.scroll, [0, 1000]);
    // What a late image load does in the mirror: a box above the viewport grows there (and
    // shrinks back, as the customer's has the size the mirror ends with), after the frame.
    const scrolled = await agent.evaluate(async () => {
      const doc = document.getElementById('mirror').contentDocument;
      const top = doc.getElementById('top');
      top.style.height = '300px';
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const y = doc.scrollingElement.scrollTop;
      top.style.height = '100px';
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return [y, doc.scrollingElement.scrollTop];
    });
    assert.deepEqual(scrolled, [1000, 1000], 'the mirror moved its own scroll offset (scroll anchoring)');
    state = await snapshotState(customer, agent);
    assert.deepEqual(state.a.scroll, state.c.scroll);
  } finally {
    await close();
  }
});
