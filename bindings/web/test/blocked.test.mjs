// Blocked elements reach the agent as placeholders with the customer's rendered box (the
// engine writes their size into the placeholder; blocked.ts measures it): in the keyframe,
// when the element's own attributes change its size, and when only the layout around it does
// (the ResizeObserver path), the mirror's placeholder box follows the page's. The look: stripes
// for an element a rule blocks, an empty box with a thin dashed outline for a plugin element
// (sent as a span), which the customer's browser draws as nothing or as its own plain box.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import {
  startServer, launch, localContext, openPair, loadHelpers, startCapture, takeFrames, startReplayer,
  applyFrames, snapshotState, checkMirror,
} from './harness.mjs';

const PAGE = `<!DOCTYPE html><html><head><title>blocked</title><style>
body { margin: 0; font: 16px sans-serif }
#box { width: 600px }
.ad { width: 50%; height: 40px; margin: 12px auto 8px; padding: 3px; border: 2px solid red }
.secret { display: inline; }
</style></head><body>
<p>before</p>
<div id="box"><div id="ad" class="ad">secret ad text</div></div>
<p>text <span class="secret" id="inline">inline secret</span> after</p>
<p id="after">after</p>
</body></html>`;

const RULES = { block: { selectors: ['.ad', '.secret'] } };

// Plugin elements without a plugin: an object shows its fallback content (here an embed, 300 px
// tall, laid out on its line), an embed shows Chromium's own box; both blocked by default.
const PLUGINS = `<!DOCTYPE html><html><head><title>plugins</title><style>body { margin: 0; font: 16px serif }</style></head><body>
<p id="p1">before <object id="obj" width="480" height="300" classid="clsid:D27CDB6E-AE6D-11cf-96B8-444553540000"><param name="movie" value="/x.swf"><embed src="/x.swf" type="application/x-shockwave-flash" width="480" height="300"></object> after</p>
<p id="p2"><object id="empty" data="/none.swf" type="application/x-shockwave-flash" width="200" height="50"><param name="a" value="b"></object></p>
<p id="end">end</p>
</body></html>`;

// An object with no data and no fallback content but its params (a video player's embed code
// whose script never ran): the customer's browser draws nothing in its box.
const NOTHING = `<!DOCTYPE html><html><head><title>nothing</title><style>body { margin: 0; font: 16px serif; background: #fff }
.player { display: block; width: 320px; height: 180px; margin: 20px 30px }</style></head><body>
<p>before</p><object class="player" id="player"><param name="autoplay" value="true"></object><p>after</p>
</body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/blocked.html': PAGE, '/t/plugins.html': PLUGINS, '/t/nothing.html': NOTHING });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


/** Border boxes, in each page's own coordinates, of the blocked #ad and #inline (in the mirror:
 * the placeholders, which keep no id, in document order) and of #after. */
async function boxes(customer, agent) {
  const read = (doc, mirror) => {
    const blocked = mirror ? doc.querySelectorAll('[data-cobrowse-blocked]') : [doc.getElementById('ad'), doc.getElementById('inline')];
    const els = { ad: blocked[0], inline: blocked[1], after: doc.getElementById('after') };
    return Object.fromEntries(Object.entries(els).map(([k, el]) => {
      const r = el.getBoundingClientRect();
      return [k, [r.x, r.y, r.width, r.height].map((v) => Math.round(v * 100) / 100)];
    }));
  };
  const c = await customer.evaluate(`(${read})(document, false)`);
  const a = await agent.evaluate(`(${read})(document.getElementById('mirror').contentDocument, true)`);
  return { c, a };
}

function assertSameBoxes({ c, a }, where) {
  for (const id of Object.keys(c)) {
    const off = c[id].map((v, i) => Math.abs(v - a[id][i]));
    assert.ok(off.every((d) => d <= 1), `${where}: #${id} customer ${JSON.stringify(c[id])}, mirror ${JSON.stringify(a[id])}`);
  }
}

test('a blocked element keeps its box in the mirror, and the mirror follows its size changes', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/t/blocked.html`, { waitUntil: 'load' });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    await startCapture(customer, RULES);
    const kf = await takeFrames(customer, false);
    assert.equal(kf.length, 1, 'one keyframe');
    assert.deepEqual(await applyFrames(agent, kf), [{ ok: true }]);
    checkMirror(await snapshotState(customer, agent), 'keyframe');
    // The placeholder carries the engine's style: the ad's border box is 310 x 50 (content box 300 x 40) with its
    // margins resolved (auto centres it in #box), the inline span becomes an inline-block of
    // its bounding box, vertical margins dropped.
    const placeholders = await agent.evaluate(() => [...document.getElementById('mirror').contentDocument.querySelectorAll('[data-cobrowse-blocked]')].map((e) => [e.localName, e.getAttribute('style'), e.textContent]));
    assert.equal(placeholders.length, 2);
    assert.deepEqual(placeholders[0], ['div', 'display:block;box-sizing:border-box;width:310px;height:50px;margin:12px 145px 8px 145px', '']);
    assert.equal(placeholders[1][0], 'span');
    assert.match(placeholders[1][1], /^display:inline-block;vertical-align:text-bottom;box-sizing:border-box;width:[\d.]+px;height:[\d.]+px;margin:0px 0px 0px 0px$/);
    assertSameBoxes(await boxes(customer, agent), 'keyframe');
    // An element blocked by a rule (the div) is filled with stripes: the page shows content there.
    const looks = await agent.evaluate(() => [...document.getElementById('mirror').contentDocument.querySelectorAll('[data-cobrowse-blocked]')].map((e) => {
      const cs = getComputedStyle(e);
      return [e.localName, cs.backgroundImage.split('(')[0], cs.outlineStyle];
    }));
    assert.deepEqual(looks[0], ['div', 'repeating-linear-gradient', 'none']);

    // The element's own attribute makes it larger: one batch, one attribute change.
    await customer.evaluate(() => document.getElementById('ad').setAttribute('style', 'height: 90px'));
    const frames = await takeFrames(customer);
    assert.equal(frames.length, 1);
    assert.deepEqual(await applyFrames(agent, frames), [{ ok: true }]);
    checkMirror(await snapshotState(customer, agent), 'after the attribute change');
    assertSameBoxes(await boxes(customer, agent), 'after the attribute change');

    // Only the layout around it changes (its container narrows): the ResizeObserver reports
    // the new size and the next batch carries it.
    await customer.evaluate(() => document.getElementById('box').setAttribute('style', 'width: 420px'));
    const deadline = Date.now() + 10_000;
    let last;
    for (;;) {
      const f = await takeFrames(customer, false);
      if (f.length > 0) assert.deepEqual(await applyFrames(agent, f), f.map(() => ({ ok: true })));
      last = await boxes(customer, agent);
      if (last.a.ad[2] === 220) break;
      assert.ok(Date.now() < deadline, `the mirror never followed: ${JSON.stringify(last)}`);
      await customer.waitForTimeout(50);
    }
    assert.equal(last.c.ad[2], 220);
    checkMirror(await snapshotState(customer, agent), 'after the container resize');
    assertSameBoxes(last, 'after the container resize');
    const stats = await customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.refusedBatches, 0);
    assert.equal(stats.fallbackKeyframes, 0);
  } finally {
    await cctx.close();
    await actx.close();
  }
});

test('an object showing its fallback content takes the same room in the mirror as on the page', async () => {
  const { customer, agent, close } = await openPair(browser, server.base, `${server.base}/t/plugins.html`);
  try {
    checkMirror(await snapshotState(customer, agent), 'keyframe');
    const read = (mirror) => {
      const doc = mirror ? document.getElementById('mirror').contentDocument : document;
      return ['p1', 'p2', 'end'].map((id) => {
        const r = doc.getElementById(id).getBoundingClientRect();
        return [id, r.x, r.y, r.width, r.height];
      });
    };
    const page = await customer.evaluate(read, false);
    // The first paragraph is as tall as the embed's line.
    assert.ok(page[0][4] > 300, `the page's first paragraph: ${JSON.stringify(page[0])}`);
    assert.deepEqual(await agent.evaluate(read, true), page);
    const styles = await agent.evaluate(() => [...document.getElementById('mirror').contentDocument.querySelectorAll('[data-cobrowse-blocked]')].map((e) => e.getAttribute('style')));
    assert.equal(styles.length, 2);
    assert.match(styles[0], /^display:inline-block;vertical-align:text-bottom;box-sizing:border-box;width:480px;height:30\d(\.\d+)?px;margin:0px 0px 0px 0px$/);
  } finally {
    await close();
  }
});

test('a placeholder where the page draws nothing is empty in the mirror, with a thin withheld marker at its edge', async () => {
  const { customer, agent, close } = await openPair(browser, server.base, `${server.base}/t/nothing.html`);
  try {
    checkMirror(await snapshotState(customer, agent), 'keyframe');
    const rect = (el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    };
    const box = await customer.evaluate(`(${rect})(document.getElementById('player'))`);
    assert.deepEqual(box, { x: 30, y: 54, width: 320, height: 180 });
    // The mirror fills the agent page from its top left corner: the same coordinates.
    assert.deepEqual(await agent.evaluate(`(${rect})(document.getElementById('mirror').contentDocument.querySelector('[data-cobrowse-blocked]'))`), box);
    assert.deepEqual(await agent.evaluate(() => {
      const e = document.getElementById('mirror').contentDocument.querySelector('[data-cobrowse-blocked]');
      const cs = getComputedStyle(e);
      return [e.localName, cs.backgroundImage, cs.outlineStyle, cs.outlineWidth, cs.outlineOffset];
    }), ['span', 'none', 'dashed', '1px', '-1px']);
    const opts = { clip: box, animations: 'disabled', caret: 'hide', scale: 'css', type: 'png' };
    const c = PNG.sync.read(await customer.screenshot(opts));
    const a = PNG.sync.read(await agent.screenshot(opts));
    let edge = 0;
    let edgeMarked = 0;
    let inner = 0;
    let innerDiffering = 0;
    let pageDrawn = 0;
    for (let y = 0; y < box.height; y++) {
      for (let x = 0; x < box.width; x++) {
        const i = (y * box.width + x) * 4;
        const same = c.data[i] === a.data[i] && c.data[i + 1] === a.data[i + 1] && c.data[i + 2] === a.data[i + 2];
        if (c.data[i] !== 255 || c.data[i + 1] !== 255 || c.data[i + 2] !== 255) pageDrawn++;
        if (x === 0 || y === 0 || x === box.width - 1 || y === box.height - 1) {
          edge++;
          if (!same) edgeMarked++;
        } else {
          inner++;
          if (!same) innerDiffering++;
        }
      }
    }
    assert.equal(pageDrawn, 0, 'the page draws nothing in the object\'s box');
    assert.deepEqual({ inner, innerDiffering }, { inner: 318 * 178, innerDiffering: 0 }, 'inside its edge the placeholder is what the page shows');
    // A dashed line: about half of the edge's pixels.
    assert.ok(edgeMarked >= edge / 3 && edgeMarked < edge, `the withheld marker: ${edgeMarked} of ${edge} edge pixels`);
  } finally {
    await close();
  }
});
