// Visual fidelity in Chromium (fidelity.mjs): the customer's viewport and the agent's mirror
// iframe at the same size, compared pixel by pixel.
//
// - The document mode: a page without a doctype (quirks), with a transitional doctype
//   (limited-quirks) and with `<!DOCTYPE html>` lay out and read CSS differently; the mirror
//   takes each page's mode, also when one replayer goes from one mode to another.
// - Content documents (same-origin iframes) take their own mode too, also when an iframe
//   navigates to a page of another mode, with their scroll offset.
// - A seeded subset of corpus pages (COBROWSE_FIDELITY_PAGES, default 6; COBROWSE_SEED picks
//   them, default 1): at least 99.5% identical pixels after the keyframe and after the seeded
//   workload, on each page. The screenshots and the diff image of a page below that stay in
//   bindings/web/test-artifacts/fidelity/. Every corpus page: `node test/fidelity-run.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_PAGE, startServer, launch, localContext, corpusPages, seededSample, loadHelpers, startCapture, takeFrames, startReplayer, applyFrames } from './harness.mjs';
import { measurePage, keepArtifacts, comparePngs, pct, PAGE_BAR, VIEWPORT, FIDELITY_ARGS } from './fidelity.mjs';

const SEED = Number(process.env.COBROWSE_SEED ?? 1);
const PAGES = Number(process.env.COBROWSE_FIDELITY_PAGES ?? 6);
const BATCHES = Number(process.env.COBROWSE_BATCHES ?? 12);

// A line box holding only an image is as tall as the image in quirks and limited-quirks modes
// (the line-height quirk) and as tall as the line in no-quirks mode; quirks mode alone reads a
// hashless colour.
const BODY = '<style>#hashless { color: ff0000 }</style><div id="probe"><img style="width:16px;height:16px;display:inline-block"></div><p id="hashless">text</p>';
const MODES = {
  quirks: { doctype: '', compat: 'BackCompat', probe: 16 },
  'limited-quirks': { doctype: '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">', compat: 'CSS1Compat', probe: 16 },
  'no-quirks': { doctype: '<!DOCTYPE html>', compat: 'CSS1Compat', probe: 20 },
};
const pages = Object.fromEntries(Object.entries(MODES).map(([m, { doctype }]) => [`/mode-${m}.html`, `${doctype}<html><head><title>${m}</title></head><body>${BODY}</body></html>`]));
// Canvases: without scripts (the mirror's sandbox) a canvas shows its fallback content.
pages['/canvas.html'] = '<!DOCTYPE html><html><head><title>canvas</title><style>.wide { width: 100px }</style></head><body><p>a<canvas id="c1"></canvas>b<canvas id="c2" width="40" height="10">fallback <b>text</b></canvas><canvas id="c3" class="wide"></canvas><span id="after">after</span></p></body></html>';
// A javascript: link: the customer sees a link (colour, underline).
pages['/jslink.html'] = '<!DOCTYPE html><html><head><title>js link</title></head><body><p><a id="js" href="javascript:void(0)">a javascript: link</a> and <a id="plain" href="/x">a plain one</a></p></body></html>';
// Same-origin iframes of each mode in a page of another, each content document taller than its
// iframe (it scrolls).
const TALL = '<div style="height:1200px;background:linear-gradient(#fff,#8af)">tall</div>';
for (const [m, { doctype }] of Object.entries(MODES)) pages[`/nested-${m}.html`] = `${doctype}<html><head><title>nested ${m}</title></head><body>${BODY}${TALL}</body></html>`;
const FRAME_IDS = ['quirks', 'limited-quirks', 'no-quirks'];
pages['/nested-top.html'] = `${MODES['limited-quirks'].doctype}<html><head><title>nested top</title></head><body>${FRAME_IDS.map((m) => `<iframe id="${m}" src="/nested-${m}.html" style="width:300px;height:200px;border:0"></iframe>`).join('')}</body></html>`;
pages['/nested-one.html'] = `<!DOCTYPE html><html><head><title>one iframe</title></head><body><iframe id="no-quirks" src="/nested-no-quirks.html"></iframe></body></html>`;
// An agent page whose CSP allows no blob: frames: the mirror of a quirks page stays no-quirks.
pages['/agent-strict.html'] = AGENT_PAGE.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="frame-src 'self'">`);

let server;
let browser;
before(async () => {
  server = await startServer(pages);
  browser = await launch(FIDELITY_ARGS);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** The document mode's marks in a document: compatMode, the probe's height, the colour. */
function marksInPage(mirror) {
  const doc = mirror ? document.getElementById('mirror').contentDocument : document;
  const view = doc.defaultView;
  return {
    compat: doc.compatMode,
    probe: doc.getElementById('probe').getBoundingClientRect().height,
    color: view.getComputedStyle(doc.getElementById('hashless')).color,
  };
}

test('the mirror takes the page\'s document mode (quirks, limited-quirks, no-quirks), also from one mode to another', async () => {
  const actx = await localContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 });
  const cctx = await localContext(browser, VIEWPORT);
  try {
    const agent = await actx.newPage();
    await agent.goto(`${server.base}/agent.html`);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    // One replayer, one customer tab navigating through the three pages (a new capture each).
    const customer = await cctx.newPage();
    for (const mode of ['quirks', 'no-quirks', 'limited-quirks', 'quirks']) {
      await customer.goto(`${server.base}/mode-${mode}.html`);
      await loadHelpers(customer, server.base);
      await startCapture(customer);
      const results = await applyFrames(agent, await takeFrames(customer, false));
      assert.deepEqual(results, [{ ok: true }], `${mode}: keyframe`);
      const page = await customer.evaluate(marksInPage, false);
      const want = MODES[mode];
      assert.deepEqual([page.compat, page.probe], [want.compat, want.probe], `${mode}: the page itself`);
      assert.equal(page.color === 'rgb(255, 0, 0)', mode === 'quirks', `${mode}: the page reads a hashless colour only in quirks mode`);
      assert.deepEqual(await agent.evaluate(marksInPage, true), page, `${mode}: the mirror's mode`);
      // The document of another mode is sandboxed too: a script put into it does not run.
      const ran = await agent.evaluate(async () => {
        const doc = document.getElementById('mirror').contentDocument;
        const script = doc.createElement('script');
        script.textContent = 'parent.__ranInMirror = true';
        doc.body.appendChild(script);
        await new Promise((r) => setTimeout(r, 50));
        script.remove();
        return globalThis.__ranInMirror === true;
      });
      assert.equal(ran, false, `${mode}: a script ran in the mirror`);
      await customer.evaluate(() => globalThis.__cap.stop());
    }
  } finally {
    await cctx.close();
    await actx.close();
  }
});

/** The document mode's marks, the viewport and the scroll offset of each iframe's document. */
function frameMarksInPage([mirror, ids]) {
  const top = mirror ? document.getElementById('mirror').contentDocument : document;
  return ids.map((id) => {
    const doc = top.getElementById(id).contentDocument;
    const view = doc.defaultView;
    const se = doc.scrollingElement;
    return {
      id,
      compat: doc.compatMode,
      probe: doc.getElementById('probe').getBoundingClientRect().height,
      color: view.getComputedStyle(doc.getElementById('hashless')).color,
      viewport: [se.clientWidth, se.clientHeight],
      scroll: [se.scrollLeft, se.scrollTop],
    };
  });
}

test('each content document shows in its own mode with its viewport and scroll, also after its iframe navigates', async () => {
  const actx = await localContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 });
  const cctx = await localContext(browser, VIEWPORT);
  try {
    const agent = await actx.newPage();
    await agent.goto(`${server.base}/agent.html`);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    const customer = await cctx.newPage();
    await customer.goto(`${server.base}/nested-top.html`, { waitUntil: 'load' });
    await customer.evaluate((ids) => ids.forEach((id, i) => document.getElementById(id).contentWindow.scrollTo(0, 30 + 10 * i)), FRAME_IDS);
    await loadHelpers(customer, server.base);
    await startCapture(customer);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const page = await customer.evaluate(frameMarksInPage, [false, FRAME_IDS]);
    assert.deepEqual(page.map((f) => [f.id, f.compat, f.probe, f.scroll]), [
      ['quirks', 'BackCompat', 16, [0, 30]],
      ['limited-quirks', 'CSS1Compat', 16, [0, 40]],
      ['no-quirks', 'CSS1Compat', 20, [0, 50]],
    ], 'the page itself');
    assert.deepEqual(await agent.evaluate(frameMarksInPage, [true, FRAME_IDS]), page, 'the mirror\'s content documents');
    const shots = await Promise.all([customer.screenshot(), agent.screenshot({ clip: { x: 0, y: 0, ...VIEWPORT } })]);
    assert.equal(comparePngs(shots[0], shots[1]).differing, 0, 'the page with its iframes looks the same in the mirror');
    // Each iframe navigates to the page of the next mode, then scrolls.
    await customer.evaluate((ids) => Promise.all(ids.map((id, i) => new Promise((r) => {
      const f = document.getElementById(id);
      f.addEventListener('load', () => {
        f.contentWindow.scrollTo(0, 60 + i);
        r();
      }, { once: true });
      f.contentWindow.location.replace(`/nested-${ids[(i + 1) % ids.length]}.html`);
    }))), FRAME_IDS);
    const frames = await takeFrames(customer);
    assert.ok((await applyFrames(agent, frames)).every((r) => r.ok), 'frames after the navigations');
    const after = await customer.evaluate(frameMarksInPage, [false, FRAME_IDS]);
    assert.deepEqual(after.map((f) => [f.compat, f.probe, f.scroll]), [['CSS1Compat', 16, [0, 60]], ['CSS1Compat', 20, [0, 61]], ['BackCompat', 16, [0, 62]]]);
    assert.deepEqual(await agent.evaluate(frameMarksInPage, [true, FRAME_IDS]), after, 'the mirror\'s content documents after the navigations');
  } finally {
    await cctx.close();
    await actx.close();
  }
});

test('a canvas keeps its size and shows no fallback content in the mirror', async () => {
  const actx = await localContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 });
  const cctx = await localContext(browser, VIEWPORT);
  try {
    const agent = await actx.newPage();
    await agent.goto(`${server.base}/agent.html`);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    const customer = await cctx.newPage();
    await customer.goto(`${server.base}/canvas.html`);
    await loadHelpers(customer, server.base);
    await startCapture(customer);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const boxes = (mirror) => {
      const doc = mirror ? document.getElementById('mirror').contentDocument : document;
      return ['c1', 'c2', 'c3', 'after'].map((id) => {
        const r = doc.getElementById(id).getBoundingClientRect();
        return [id, r.x, r.y, r.width, r.height];
      });
    };
    const page = await customer.evaluate(boxes, false);
    assert.deepEqual(page.map((b) => b.slice(3)), [[300, 150], [40, 10], [100, 50], page[3].slice(3)]);
    assert.deepEqual(await agent.evaluate(boxes, true), page);
    const shots = await Promise.all([customer.screenshot(), agent.screenshot({ clip: { x: 0, y: 0, ...VIEWPORT } })]);
    assert.equal(comparePngs(shots[0], shots[1]).differing, 0, 'the canvas page looks the same in the mirror');
  } finally {
    await cctx.close();
    await actx.close();
  }
});

test('a javascript: link stays a link in the mirror, pointing nowhere', async () => {
  const actx = await localContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 });
  const cctx = await localContext(browser, VIEWPORT);
  try {
    const agent = await actx.newPage();
    await agent.goto(`${server.base}/agent.html`);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    const customer = await cctx.newPage();
    await customer.goto(`${server.base}/jslink.html`);
    await loadHelpers(customer, server.base);
    await startCapture(customer);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const href = await agent.evaluate(() => document.getElementById('mirror').contentDocument.getElementById('js').getAttribute('href'));
    assert.equal(href, '#');
    const shots = await Promise.all([customer.screenshot(), agent.screenshot({ clip: { x: 0, y: 0, ...VIEWPORT } })]);
    assert.equal(comparePngs(shots[0], shots[1]).differing, 0, 'the link looks the same in the mirror');
  } finally {
    await cctx.close();
    await actx.close();
  }
});

test('an agent page that allows no blob: frames still shows the mirror (in no-quirks mode)', async () => {
  const actx = await localContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 });
  const cctx = await localContext(browser, VIEWPORT);
  try {
    const agent = await actx.newPage();
    await agent.goto(`${server.base}/agent-strict.html`);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    const customer = await cctx.newPage();
    await customer.goto(`${server.base}/mode-quirks.html`);
    await loadHelpers(customer, server.base);
    await startCapture(customer);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const page = await customer.evaluate(marksInPage, false);
    const mirror = await agent.evaluate(marksInPage, true);
    assert.equal(page.compat, 'BackCompat');
    assert.equal(mirror.compat, 'CSS1Compat');
    const fp = await agent.evaluate(() => globalThis.__rep.fingerprint());
    assert.equal(fp, await customer.evaluate(() => globalThis.__cap.fingerprint()));
    const text = await agent.evaluate(() => document.getElementById('mirror').contentDocument.getElementById('hashless')?.textContent);
    assert.equal(text, 'text');
  } finally {
    await cctx.close();
    await actx.close();
  }
});

test('an agent page that allows no blob: frames still shows a content document (in about:blank)', async () => {
  const actx = await localContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 });
  const cctx = await localContext(browser, VIEWPORT);
  try {
    const agent = await actx.newPage();
    await agent.goto(`${server.base}/agent-strict.html`);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    const customer = await cctx.newPage();
    await customer.goto(`${server.base}/nested-one.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await startCapture(customer);
    // The top document is no-quirks (its srcdoc shell); the content document's shell is refused.
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const shown = await agent.evaluate(() => {
      const doc = document.getElementById('mirror').contentDocument.getElementById('no-quirks').contentDocument;
      return [doc.URL, doc.compatMode, doc.getElementById('hashless')?.textContent];
    });
    assert.deepEqual(shown, ['about:blank', 'BackCompat', 'text']);
  } finally {
    await cctx.close();
    await actx.close();
  }
});

const all = await corpusPages();
const wanted = seededSample(all, PAGES, SEED);

for (const name of wanted) {
  test(`fidelity >= ${pct(PAGE_BAR)} identical pixels after the keyframe and after ${BATCHES} workload batches: ${name.slice(0, 16)}`, async (t) => {
    const m = await measurePage(browser, server, name, { seed: SEED, batches: BATCHES });
    t.diagnostic(`keyframe ${pct(m.keyframe.identical)}, workload ${pct(m.workload.identical)}`);
    for (const [stage, s] of [['keyframe', m.keyframe], ['workload', m.workload]]) {
      if (s.identical < PAGE_BAR) {
        const stem = await keepArtifacts(name, stage, s);
        assert.fail(`${stage}: ${pct(s.identical)} identical pixels (${s.differing} differ; ${s.withheld} elements withheld from agents); images: ${stem}-{customer,agent,diff}.png`);
      }
    }
  });
}
