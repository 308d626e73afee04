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
  localContext, loadHelpers, startReplayer, startCapture,
} from './harness.mjs';

const rows = Array.from({ length: 60 }, (_, i) => `<p style="height:40px;margin:0">row ${i}</p>`).join('');
const PAGE = `<!DOCTYPE html><html><head><title>t</title></head><body style="margin:0"><div id="top" style="height:100px"></div>${rows}</body></html>`;

// Scroll containers of several kinds (one scrolled through generated content only), elements
// that cannot be scrolled (`overflow: clip`, `visible`), and the viewport.
const tall = '<div style="height:400px;width:400px">x</div>';
const CONTAINERS = `<!DOCTYPE html><html><head><title>s</title><style>#ps::before{content:"";display:block;height:300px}</style></head><body>
<div id="auto" style="overflow:auto;height:40px;width:60px">${tall}</div>
<div id="hidden" style="overflow:hidden;height:40px">${tall}</div>
<div id="xonly" style="overflow-x:scroll;width:60px">${tall}</div>
<div id="yonly" style="overflow-y:auto;height:40px">${tall}</div>
<textarea id="ta" style="height:30px">${'line\n'.repeat(30)}</textarea>
<select id="sel" multiple size="2">${'<option>o</option>'.repeat(20)}</select>
<div id="ps" style="overflow:auto;height:40px;width:40px"></div>
<div id="clip" style="overflow:clip;height:40px">${tall}</div>
<p id="plain">text <span id="inner">in</span></p>
<div id="spacer" style="height:3000px"></div>
</body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/rows.html': PAGE, '/t/containers.html': CONTAINERS });
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

test('the keyframe reads the scroll offsets of scroll containers only (and the viewport), and every scrolled element reaches the mirror scrolled', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/t/containers.html`, { waitUntil: 'load' });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    const expected = { auto: [25, 30], hidden: [0, 20], xonly: [50, 0], yonly: [0, 45], ta: [0, 15], sel: [0, 10], ps: [0, 35], clip: [0, 0], plain: [0, 0] };
    await customer.evaluate((expected) => {
      for (const [id, [x, y]] of Object.entries(expected)) {
        const el = document.getElementById(id);
        el.scrollLeft = x;
        el.scrollTop = y;
      }
      window.scrollTo(0, 200);
      // Every element whose offsets the capture reads, in the order of the first read.
      globalThis.__scrollReads = [];
      for (const prop of ['scrollLeft', 'scrollTop']) {
        const desc = Object.getOwnPropertyDescriptor(Element.prototype, prop);
        Object.defineProperty(Element.prototype, prop, {
          ...desc,
          get() {
            const name = this.id || this.localName;
            if (!globalThis.__scrollReads.includes(name)) globalThis.__scrollReads.push(name);
            return desc.get.call(this);
          },
        });
      }
    }, expected);
    await startCapture(customer);
    const reads = await customer.evaluate(() => globalThis.__scrollReads);
    // The root element and body report the viewport's offsets (body in quirks mode): always read.
    assert.deepEqual(reads, ['html', 'body', 'auto', 'hidden', 'xonly', 'yonly', 'ta', 'sel', 'ps']);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const mirror = await agent.evaluate((ids) => {
      const doc = document.getElementById('mirror').contentDocument;
      const out = {};
      for (const id of ids) {
        const el = doc.getElementById(id);
        out[id] = [Math.round(el.scrollLeft), Math.round(el.scrollTop)];
      }
      return { out, viewport: [Math.round(doc.scrollingElement.scrollLeft), Math.round(doc.scrollingElement.scrollTop)] };
    }, Object.keys(expected));
    assert.deepEqual(mirror.out, expected);
    assert.deepEqual(mirror.viewport, [0, 200]);
  } finally {
    await cctx.close();
    await actx.close();
  }
});
