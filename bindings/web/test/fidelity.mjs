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
//
// Two figures per comparison: `identical` over every pixel (the raw figure, what the bar is
// about), and `identicalOutsideRules` over the pixels outside the boxes of elements the rules
// replace on purpose (blocked placeholders, masked elements, cross-origin iframes, whose content
// nobody may read), those boxes taken on both sides and left out of both screenshots; `excluded`
// is their share of the viewport. Nothing else is ever left out.
//
// Cross-origin iframes: every iframe navigation to a host other than 127.0.0.1 (the corpus pages
// name facebook.com, youtube.com and so on) is redirected to a second server on another
// 127.0.0.1 port, which serves one fixed document: a real cross-origin frame on the customer's
// side, as in production, which the capture cannot read and the mirror loads from the same URL.
import { createServer } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { localContext, loadHelpers, startCapture, takeFrames, startReplayer, applyFrames, WEB } from './harness.mjs';

/**
 * Chromium flags for the comparison. Composited scrolling for every scroller, which Chromium
 * turns on by itself on high-density screens: without it the customer's root scroller is
 * composited and the mirror iframe's is not, and Skia's ordered dither of CSS gradients lands
 * with another phase once the page is scrolled (one colour level off on gradient pixels;
 * measured, see benches/JOURNAL.md, "Visual fidelity").
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

/** The document every cross-origin iframe gets (from the second server). */
export const THIRD_PARTY_PAGE = '<!DOCTYPE html><html><head><title>third party</title></head><body style="margin:0;background:#e9eef5;font:12px sans-serif;color:#345"><p style="margin:4px">a third-party frame</p></body></html>';

/**
 * Starts the server standing in for every other host's iframes (another 127.0.0.1 port: another
 * origin than the corpus server's). Returns `{ base, close }`.
 */
export async function startThirdParty() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(THIRD_PARTY_PAGE);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/**
 * A context of `localContext` whose iframe navigations to other hosts are redirected to
 * `thirdParty` (null: refused, as every other request to another host).
 */
async function fidelityContext(browser, viewport, thirdParty) {
  const context = await localContext(browser, viewport);
  if (thirdParty === null) return context;
  // Registered last, so asked first; everything else falls back to localContext's routing.
  await context.route('**/*', (route) => {
    const req = route.request();
    const u = new URL(req.url());
    const frame = req.isNavigationRequest() ? req.frame() : null;
    if (frame !== null && frame.parentFrame() !== null && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '127.0.0.1') {
      return route.fulfill({ status: 302, headers: { location: `${thirdParty.base}/frame?host=${encodeURIComponent(u.hostname)}` } });
    }
    return route.fallback();
  });
  return context;
}

/**
 * Counts identical pixels of two PNG screenshots of the same size. Returns the share and a
 * diff image (PNG bytes): identical pixels greyed and faded, differing ones red. With `exclude`
 * (rectangles `[x, y, width, height]` in CSS px = screenshot px), also the share among the
 * pixels outside them (`identicalOutside`) and their share of the image (`excluded`); the diff
 * image shows excluded pixels blue.
 */
export function comparePngs(a, b, exclude = []) {
  const x = PNG.sync.read(a);
  const y = PNG.sync.read(b);
  if (x.width !== y.width || x.height !== y.height) {
    throw new Error(`screenshot sizes differ: ${x.width}x${x.height} and ${y.width}x${y.height}`);
  }
  const total = x.width * x.height;
  const out = new Uint8Array(total);
  for (const [rx, ry, rw, rh] of exclude) {
    const x0 = Math.max(0, Math.floor(rx));
    const y0 = Math.max(0, Math.floor(ry));
    const x1 = Math.min(x.width, Math.ceil(rx + rw));
    const y1 = Math.min(x.height, Math.ceil(ry + rh));
    for (let yy = y0; yy < y1; yy++) out.fill(1, yy * x.width + x0, Math.max(yy * x.width + x0, yy * x.width + x1));
  }
  const diff = new PNG({ width: x.width, height: x.height });
  let same = 0;
  let sameOutside = 0;
  let excluded = 0;
  for (let i = 0; i < total * 4; i += 4) {
    const eq = x.data[i] === y.data[i] && x.data[i + 1] === y.data[i + 1] && x.data[i + 2] === y.data[i + 2] && x.data[i + 3] === y.data[i + 3];
    const off = out[i / 4] === 1;
    if (off) excluded++;
    else if (eq) sameOutside++;
    if (eq) same++;
    if (off) {
      diff.data[i] = eq ? 160 : 0;
      diff.data[i + 1] = eq ? 190 : 0;
      diff.data[i + 2] = 255;
    } else if (eq) {
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
  const kept = total - excluded;
  return {
    identical: same / total,
    differing: total - same,
    total,
    identicalOutside: kept === 0 ? 1 : sameOutside / kept,
    excluded: excluded / total,
    diff: PNG.sync.write(diff),
  };
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
 * The boxes of what the rules replace on purpose, on both sides, in viewport px: the mirror's
 * blocked placeholders and masked elements and the page's elements they stand for; the page's
 * cross-origin iframes (their document is not readable) and the mirror's iframes of the same
 * ids. Boxes inside same-origin iframes are offset by, and clipped to, their iframes.
 */
async function ruleBoxes(customer, agent) {
  // Evaluated in a page: the rectangle of `el` in the top viewport, clipped by its iframes.
  const inViewport = `(el) => {
    const r = el.getBoundingClientRect();
    let [x0, y0, x1, y1] = [r.left, r.top, r.right, r.bottom];
    let w = el.ownerDocument.defaultView;
    while (w !== null && w !== window && w.frameElement !== null) {
      const f = w.frameElement;
      const fr = f.getBoundingClientRect();
      const ox = fr.left + f.clientLeft;
      const oy = fr.top + f.clientTop;
      [x0, y0, x1, y1] = [Math.max(x0 + ox, ox), Math.max(y0 + oy, oy), Math.min(x1 + ox, ox + f.clientWidth), Math.min(y1 + oy, oy + f.clientHeight)];
      w = f.ownerDocument.defaultView;
    }
    return x1 > x0 && y1 > y0 ? [x0, y0, x1 - x0, y1 - y0] : null;
  }`;
  const agentSide = await agent.evaluate(`(() => {
    const inViewport = ${inViewport};
    const mirror = document.getElementById('mirror');
    const ids = [];
    const boxes = [];
    const visit = (doc) => {
      for (const el of doc.querySelectorAll('[data-cobrowse-blocked], [data-cobrowse-masked]')) {
        const id = globalThis.__rep.idOfNode(el);
        if (id !== null) ids.push(id);
        const b = inViewport(el);
        if (b !== null) boxes.push(b);
      }
      for (const f of doc.querySelectorAll('iframe')) {
        let d = null;
        try { d = f.contentDocument; } catch { d = null; }
        if (d !== null && globalThis.__rep.idOfNode(d) !== null) visit(d);
      }
    };
    visit(mirror.contentDocument);
    // Offsets so far are relative to the agent page: make them relative to the mirror's box.
    const m = mirror.getBoundingClientRect();
    return { ids, boxes: boxes.map(([x, y, w, h]) => [x - m.left, y - m.top, w, h]) };
  })()`);
  const customerSide = await customer.evaluate(`((ids) => {
    const inViewport = ${inViewport};
    const boxes = [];
    const crossOrigin = [];
    for (const id of ids) {
      const n = globalThis.__cap.nodeById(id);
      if (n !== null && n.nodeType === 1) {
        const b = inViewport(n);
        if (b !== null) boxes.push(b);
      }
    }
    const visit = (doc) => {
      for (const f of doc.querySelectorAll('iframe')) {
        let d = null;
        try { d = f.contentDocument; } catch { d = null; }
        if (d === null) {
          const b = inViewport(f);
          if (b !== null) boxes.push(b);
          const id = globalThis.__cap.idOfNode(f);
          if (id !== null) crossOrigin.push(id);
        } else {
          visit(d);
        }
      }
    };
    visit(document);
    return { boxes, crossOrigin };
  })(${JSON.stringify(agentSide.ids)})`);
  const frameBoxes = await agent.evaluate(`((ids) => {
    const inViewport = ${inViewport};
    const m = document.getElementById('mirror').getBoundingClientRect();
    const boxes = [];
    for (const id of ids) {
      const n = globalThis.__rep.nodeById(id);
      if (n !== null && n.nodeType === 1) {
        const b = inViewport(n);
        if (b !== null) boxes.push([b[0] - m.left, b[1] - m.top, b[2], b[3]]);
      }
    }
    return boxes;
  })(${JSON.stringify(customerSide.crossOrigin)})`);
  return [...agentSide.boxes, ...customerSide.boxes, ...frameBoxes];
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
 * every shape (the DOM-equality test's workload) and shows what that withholding costs. `thirdParty`
 * (`startThirdParty()`) serves other hosts' iframes; null refuses them. Returns `{ keyframe, workload }`, each
 * `{ identical, identicalOutside, excluded, ruleBoxes, differing, total, withheld, shots, diff }` (PNG bytes),
 * `workload` null without batches.
 */
export async function measurePage(browser, server, name, { seed = 1, batches = 0, ops = 6, parserShapes = true, settleMs = 3000, thirdParty = null } = {}) {
  const cctx = await fidelityContext(browser, VIEWPORT, thirdParty);
  const actx = await fidelityContext(browser, { width: VIEWPORT.width + 200, height: VIEWPORT.height + 200 }, thirdParty);
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
      const ruled = await ruleBoxes(customer, agent);
      return { ...comparePngs(shots.customer, shots.agent, ruled), withheld: await withheldElements(customer), ruleBoxes: ruled.length, shots };
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
