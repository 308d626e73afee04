// Corpus pages in Chromium: capture in one page, replay in a second, and after every batch of
// a seeded workload check that (1) the engine's live tree equals the page's DOM, (2) the
// agent's mirror has the capture's fingerprint and equals what the capture says agents hold,
// and (3) the sandboxed iframe's DOM equals the agent's mirror (tree and attribute order).
//
// COBROWSE_PAGES=all runs every corpus page; otherwise a seeded subset of COBROWSE_PAGES pages
// (default 6). COBROWSE_SEED picks the subset and the workload (default 1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, corpusPages, seededSample, loadHelpers, startCapture,
  takeFrames, startReplayer, applyFrames, snapshotState, settledState, sheetRulesInPage, checkMirror,
} from './harness.mjs';

const SEED = Number(process.env.COBROWSE_SEED ?? 1);
const BATCHES = Number(process.env.COBROWSE_BATCHES ?? 12);
const OPS = 6;

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


const all = await corpusPages();
// COBROWSE_PAGE_PREFIX=ab12,cd34 runs the pages whose names start so (to rerun failures).
const prefixes = (process.env.COBROWSE_PAGE_PREFIX ?? '').split(',').filter((p) => p !== '');
const wanted = prefixes.length > 0
  ? all.filter((n) => prefixes.some((p) => n.startsWith(p)))
  : process.env.COBROWSE_PAGES === 'all' ? all : seededSample(all, Number(process.env.COBROWSE_PAGES ?? 6), SEED);

test('corpus pages are present (bash corpus/fetch.sh)', () => {
  assert.ok(all.length > 0, 'no corpus pages: run bash corpus/fetch.sh');
});

for (const name of wanted) {
  test(`capture -> replay stays equal under a seeded workload: ${name.slice(0, 16)}`, async (t) => {
    const cctx = await localContext(browser);
    const actx = await localContext(browser, { width: 1400, height: 1000 });
    try {
      const customer = await cctx.newPage();
      const agent = await actx.newPage();
      await customer.goto(`${server.base}/corpus/${name}`, { waitUntil: 'load' });
      await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
      await loadHelpers(customer, server.base);
      await loadHelpers(agent, server.base);
      await startReplayer(agent);
      await startCapture(customer);
      let frames = await takeFrames(customer, false);
      assert.equal(frames.length, 1, 'startCapture emits exactly the keyframe');
      let results = await applyFrames(agent, frames);
      assert.deepEqual(results, [{ ok: true }]);
      checkMirror(await snapshotState(customer, agent), 'keyframe');
      for (let b = 0; b < BATCHES; b++) {
        if (b % 5 === 4) {
          await customer.setViewportSize({ width: 800 + b * 10, height: 600 + b * 5 });
        }
        const kinds = await customer.evaluate(([seed, n]) => globalThis.cobrowseWorkload.run(seed, n), [SEED * 100003 + b, OPS]);
        // Let scroll and resize events arrive (the browser sends them with the next frame).
        await customer.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
        frames = await takeFrames(customer);
        results = await applyFrames(agent, frames);
        assert.ok(results.every((r) => r.ok), `batch ${b} (${kinds}): ${JSON.stringify(results)}`);
        const state = await settledState(customer, agent);
        checkMirror(state, `batch ${b} (${kinds})`);
        if (kinds.includes('scrollDoc')) {
          assert.deepEqual(state.a.scroll, state.c.scroll, `batch ${b}: document scroll`);
        }
        if (kinds.includes('scrollEl')) {
          const box = () => {
            const d = document.getElementById('mirror')?.contentDocument ?? document;
            const el = d.getElementById('cobrowse-scroll-box');
            return el === null ? null : [el.scrollLeft, el.scrollTop];
          };
          assert.deepEqual(await agent.evaluate(box), await customer.evaluate(box), `batch ${b}: element scroll`);
        }
        if (kinds.some((k) => k.startsWith('css') || k === 'adopt')) {
          const fn = sheetRulesInPage.toString();
          const c = await customer.evaluate((fn) => new Function(`return (${fn})`)()(document, false), fn);
          const a = await agent.evaluate((fn) => new Function(`return (${fn})`)()(document.getElementById('mirror').contentDocument, true), fn);
          assert.deepEqual(a, c, `batch ${b} (${kinds}): the mirror's stylesheet rules`);
        }
      }
      // Reported, not asserted: a batch the engine's diff could not verify goes out as a
      // keyframe (correct, but large); that is an engine diff defect to fix there.
      const stats = await customer.evaluate(() => globalThis.__cap.stats());
      t.diagnostic(`frames ${stats.frames}, fallback keyframes ${stats.fallbackKeyframes}`);
      assert.equal(stats.refusedBatches, 0, 'the engine refused a batch the page encoded');
      const vp = customer.viewportSize();
      const iframeSize = await agent.evaluate(() => {
        const f = document.getElementById('mirror');
        return { width: parseInt(f.style.width, 10), height: parseInt(f.style.height, 10) };
      });
      assert.deepEqual(iframeSize, vp, "the mirror shows the page at the customer's viewport size");
    } finally {
      await cctx.close();
      await actx.close();
    }
  });
}
