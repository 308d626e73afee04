// Visual fidelity: what the customer sees against what the agent's mirror shows, pixel by
// pixel, at the same viewport. Shared by the seeded browser test (fidelity.test.mjs) and the
// full-corpus comparison script (fidelity-run.mjs).
//
// One measurement: load a corpus page (the customer, scripts removed, only 127.0.0.1
// reachable), start capture, replay the keyframe into the mirror iframe of an agent page whose
// iframe takes the customer's viewport size, let both sides settle (fonts loaded, images
// loaded or failed, two animation frames), screenshot the customer's viewport and the
// iframe's box, and count the pixels whose RGBA bytes are equal. Then the seeded workload
// (workload.js, the one the DOM-equality test runs) changes the page batch by batch, every
// frame goes to the mirror, and both sides are compared again.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { localContext, loadHelpers, startCapture, takeFrames, startReplayer, applyFrames, WEB } from './harness.mjs';

/**
 * Chromium flags for the comparison. Composited scrolling for every scroller, which Chromium
 * turns on by itself on high-density screens: without it the customer's root scroller is
 * composited and the mirror iframe's is not, and Skia's ordered dither of CSS gradients lands
 * with another phase once the page is scrolled (one colour level off on gradient pixels;
 * measured, see BENCHMARKS.md).
 */
export const FIDELITY_ARGS = ['--enable-prefer-compositing-to-lcd-text'];
/** The customer's viewport in every comparison (the corpus test's default). */
export const VIEWPORT = { width: 1024, height: 768 };
/** The per-page bar: the share of identical pixels a page must reach. */
export const PAGE_BAR = 0.995;
/** The corpus bar: the share of pages that must reach PAGE_BAR. */
export const CORPUS_BAR = 0.98;
/** Where the diff images of pages below the bar go. */
export const ARTIFACTS = path.join(WEB, 'test-artifacts/fidelity');

/**
 * Counts identical pixels of two PNG screenshots of the same size. Returns the share and a
 * diff image (PNG bytes): identical pixels greyed and faded, differing ones red.
 */
export function comparePngs(a, b) {
  const x = PNG.sync.read(a);
  const y = PNG.sync.read(b);
  if (x.width !== y.width || x.height !== y.height) {
    throw new Error(`screenshot sizes differ: ${x.width}x${x.height} and ${y.width}x${y.height}`);
  }
  const total = x.width * x.height;
  const diff = new PNG({ width: x.width, height: x.height });
  let same = 0;
  for (let i = 0; i < total * 4; i += 4) {
    const eq = x.data[i] === y.data[i] && x.data[i + 1] === y.data[i + 1] && x.data[i + 2] === y.data[i + 2] && x.data[i + 3] === y.data[i + 3];
    if (eq) {
      same++;
      const g = 191 + Math.floor((x.data[i] * 0.3 + x.data[i + 1] * 0.59 + x.data[i + 2] * 0.11) / 4);
      diff.data[i] = g;
      diff.data[i + 1] = g;
      diff.data[i + 2] = g;
    } else {
      diff.data[i] = 255;
      diff.data[i + 1] = 0;
      diff.data[i + 2] = 0;
    }
    diff.data[i + 3] = 255;
  }
  return { identical: same / total, differing: total - same, total, diff: PNG.sync.write(diff) };
}

/**
 * Waits until `doc` (evaluated in a page: the customer's document or the mirror's) has its
 * fonts loaded and every image loaded or failed (at most `ms`), then two animation frames.
 */
function settleInPage([which, ms]) {
  const doc = which === 'mirror' ? document.getElementById('mirror').contentDocument : document;
  const deadline = performance.now() + ms;
  const imagesDone = () => Array.from(doc.images).every((img) => img.complete);
  return (async () => {
    await doc.fonts.ready;
    while (!imagesDone() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) await new Promise((r) => requestAnimationFrame(() => r()));
    return imagesDone();
  })();
}

/**
 * Lets both sides settle, then sends what changed on the customer's side meanwhile (a scroll
 * the browser clamped after content shrank, a resize) to the mirror, until nothing does.
 */
async function settle(customer, agent, ms) {
  for (let round = 0; round < 4; round++) {
    await Promise.all([customer.evaluate(settleInPage, ['page', ms]), agent.evaluate(settleInPage, ['mirror', ms])]);
    const frames = await takeFrames(customer);
    if (frames.length === 0) return;
    const results = await applyFrames(agent, frames);
    if (!results.every((r) => r.ok)) throw new Error(`a frame sent while settling was refused: ${JSON.stringify(results)}`);
  }
}

/** Screenshots of both sides: the customer's viewport and the mirror iframe's box. */
async function shoot(customer, agent) {
  const vp = customer.viewportSize();
  const box = await agent.evaluate(() => {
    const r = document.getElementById('mirror').getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  });
  if (box.width !== vp.width || box.height !== vp.height) {
    throw new Error(`the mirror iframe is ${box.width}x${box.height}, the customer's viewport ${vp.width}x${vp.height}`);
  }
  const opts = { animations: 'disabled', caret: 'hide', scale: 'css', type: 'png' };
  const [c, a] = await Promise.all([customer.screenshot(opts), agent.screenshot({ ...opts, clip: box })]);
  return { customer: c, agent: a };
}

/**
 * How many elements of the page the agents do not hold (the engine's live tree against what
 * the capture says agents hold): what the rules and the sanitizer withheld. A diagnostic for
 * pages below the bar, not a measure of fidelity.
 */
async function withheldElements(customer) {
  return customer.evaluate(() => {
    const count = (dump) => dump.split('\n').filter((l) => /^\s*<[a-z]/i.test(l) && !/^\s*<!/.test(l)).length;
    return count(globalThis.__cap.debugDumpLive()) - count(globalThis.__cap.debugDumpShadow());
  });
}

/**
 * Measures one corpus page: after the keyframe and, when `batches` > 0, after that many
 * batches of the seeded workload (`seed`). With `parserShapes` (the default) the workload
 * keeps to placements the HTML parser could make: the engine's sanitizer withholds the others
 * from agents by design (re-parse safety), which no rendering can make up for; `false` runs
 * every shape (the DOM-equality test's workload) and shows what that withholding costs. Returns `{ keyframe, workload }`, each
 * `{ identical, differing, total, withheld, shots, diff }` (PNG bytes), `workload` null without batches.
 */
export async function measurePage(browser, server, name, { seed = 1, batches = 0, ops = 6, parserShapes = true, settleMs = 3000 } = {}) {
  const cctx = await localContext(browser, VIEWPORT);
  const actx = await localContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 });
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/corpus/${name}`, { waitUntil: 'load' });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    await startCapture(customer);
    const key = await applyFrames(agent, await takeFrames(customer, false));
    if (!key.every((r) => r.ok)) throw new Error(`keyframe refused: ${JSON.stringify(key)}`);
    await settle(customer, agent, settleMs);
    const measure = async () => {
      const shots = await shoot(customer, agent);
      return { ...comparePngs(shots.customer, shots.agent), withheld: await withheldElements(customer), shots };
    };
    const keyframe = await measure();
    let workload = null;
    if (batches > 0) {
      for (let b = 0; b < batches; b++) {
        await customer.evaluate(([s, n, parserShapes]) => globalThis.cobrowseWorkload.run(s, n, { parserShapes }), [seed * 100003 + b, ops, parserShapes]);
        await customer.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
        const results = await applyFrames(agent, await takeFrames(customer));
        if (!results.every((r) => r.ok)) throw new Error(`batch ${b} refused: ${JSON.stringify(results)}`);
      }
      await settle(customer, agent, settleMs);
      workload = await measure();
    }
    return { keyframe, workload };
  } finally {
    await cctx.close();
    await actx.close();
  }
}

/** Writes both screenshots and the diff image of a measurement under ARTIFACTS. */
export async function keepArtifacts(name, stage, m) {
  await mkdir(ARTIFACTS, { recursive: true });
  const stem = path.join(ARTIFACTS, `${name.replace(/\.html$/, '').slice(0, 24)}-${stage}`);
  await writeFile(`${stem}-customer.png`, m.shots.customer);
  await writeFile(`${stem}-agent.png`, m.shots.agent);
  await writeFile(`${stem}-diff.png`, m.diff);
  return stem;
}

/** A share as a percentage with two decimals. */
export function pct(x) {
  return `${(x * 100).toFixed(2)}%`;
}
