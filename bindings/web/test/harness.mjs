// Shared by the browser tests and benches: a static server on 127.0.0.1 (the built package,
// corpus pages with their scripts removed, test pages) and Debian's Chromium driven by
// playwright-core.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const WEB = path.join(ROOT, 'bindings/web');
export const CORPUS = path.join(ROOT, 'corpus/cache/htmlparser-benchmark');

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html; charset=utf-8', '.map': 'application/json' };

/** Removes script elements (and their contents) and refresh metas (they navigate away). */
export function stripScripts(html) {
  return html
    .replace(/<script\b[\s\S]*?<\/script\s*>/gi, '')
    .replace(/<script\b[^>]*\/>/gi, '')
    .replace(/<meta\b[^>]*http-equiv\s*=\s*["']?refresh[^>]*>/gi, '');
}

export const AGENT_PAGE = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>agent</title></head><body style="margin:0"><iframe id="mirror" style="border:0;display:block"></iframe></body></html>';

/**
 * Starts the server. `pages` maps extra paths to HTML. Every request path is recorded in
 * `requests` (hostile tests look for beacons).
 */
export async function startServer(pages = {}) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(url.pathname + url.search);
    try {
      let body;
      let type = 'text/html; charset=utf-8';
      let csp = null;
      if (url.pathname in pages) {
        body = pages[url.pathname];
        if (url.pathname.endsWith('.css')) type = 'text/css; charset=utf-8';
        else type = TYPES[path.extname(url.pathname)] ?? type;
      } else if (url.pathname === '/agent.html') {
        body = AGENT_PAGE;
      } else if (url.pathname.startsWith('/dist/')) {
        const file = path.join(WEB, 'dist', path.basename(url.pathname));
        body = await readFile(file);
        type = TYPES[path.extname(file)] ?? 'application/octet-stream';
      } else if (url.pathname.startsWith('/test/')) {
        const file = path.join(WEB, 'test', path.basename(url.pathname));
        body = await readFile(file);
        type = TYPES[path.extname(file)] ?? 'application/octet-stream';
      } else if (url.pathname.startsWith('/corpus/')) {
        const file = path.join(CORPUS, path.basename(url.pathname));
        body = stripScripts(await readFile(file, 'utf8'));
        // Inline handlers and javascript: URLs are scripts too: the CSP stops them (the
        // package itself loads from this origin).
        csp = "script-src 'self' 'wasm-unsafe-eval'";
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      const headers = { 'content-type': type, 'cache-control': 'no-store' };
      if (csp !== null) headers['content-security-policy'] = csp;
      res.writeHead(200, headers);
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { base: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(r)) };
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function launch(extraArgs = []) {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}

/** A context that only reaches 127.0.0.1 (corpus pages name resources all over the web). */
export async function localContext(browser, viewport = { width: 1024, height: 768 }) {
  const context = await browser.newContext({ viewport });
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1' || u.protocol === 'data:' || u.protocol === 'blob:') return route.continue();
    return route.abort();
  });
  return context;
}

export async function corpusPages() {
  if (!existsSync(CORPUS)) return [];
  return (await readdir(CORPUS)).filter((f) => f.endsWith('.html')).sort();
}

/** A seeded choice of `n` items (mulberry32), stable across runs. */
export function seededSample(items, n, seed) {
  const rng = mulberry32(seed);
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Loads the dump helper and the package into a page (no DOM change). */
export async function loadHelpers(page, base) {
  await page.evaluate(await readFile(path.join(WEB, 'test/dom-dump.js'), 'utf8'));
  await page.evaluate(await readFile(path.join(WEB, 'test/workload.js'), 'utf8'));
  await page.evaluate(async (url) => {
    globalThis.cobrowse = await import(url);
    await globalThis.cobrowse.init();
    await globalThis.cobrowse.init();
  }, `${base}/dist/cobrowse.js`);
}

/** Starts capture in the customer page; frames collect as base64 in `__frames`. Resolves once
 * the keyframe is made (a large page's walk runs in slices, after startCapture returns). */
export async function startCapture(page, rules) {
  await page.evaluate(async (rules) => {
    globalThis.__frames = [];
    globalThis.__cap = globalThis.cobrowse.startCapture({
      rules: rules ?? undefined,
      maxDelayMs: 1e9,
      onFrame(bytes) {
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        globalThis.__frames.push(btoa(s));
      },
    });
    while (globalThis.__cap.stats().walking) await new Promise((r) => setTimeout(r, 0));
  }, rules ?? null);
}

/** Flushes the capture and returns its frames (base64), emptying the queue. */
export async function takeFrames(page, flush = true) {
  return page.evaluate((flush) => {
    if (flush) globalThis.__cap.flush();
    const f = globalThis.__frames;
    globalThis.__frames = [];
    return f;
  }, flush);
}

export async function startReplayer(agent) {
  await agent.evaluate(async () => {
    globalThis.__rep = globalThis.cobrowse.createReplayer(document.getElementById('mirror'));
    await globalThis.__rep.ready;
  });
}

/** Applies base64 frames in the agent page; returns each result once the mirror is ready (a
 * keyframe in another document mode loads a new shell). */
export async function applyFrames(agent, frames) {
  return agent.evaluate(async (frames) => {
    const results = frames.map((b64) => {
      const s = atob(b64);
      const bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
      return globalThis.__rep.apply(bytes);
    });
    await globalThis.__rep.ready;
    return results;
  }, frames);
}

/**
 * A customer page at `url` and an agent page with a replayer, each in its own context, capture
 * started and its keyframe applied (asserted ok). `agentViewport` sizes the agent's window.
 * `close()` ends both contexts.
 */
export async function openPair(browser, base, url, { agentViewport } = {}) {
  const cctx = await localContext(browser);
  const actx = await localContext(browser, agentViewport);
  const close = async () => {
    await cctx.close();
    await actx.close();
  };
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(url, { waitUntil: 'load' });
    await agent.goto(`${base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, base);
    await loadHelpers(agent, base);
    await startReplayer(agent);
    await startCapture(customer);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    return { customer, agent, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Asserts what every browser test checks after a batch (`state` from `snapshotState`): the
 * engine's live tree equals the page as the capture reads it, the fingerprints agree, the
 * agent's mirror equals what the capture says agents hold, and the mirror iframe's DOM (nested
 * documents and attribute order included) equals that mirror. `samePage`: the mirror's DOM
 * also equals the page itself (for pages the rules change nothing on).
 */
export function checkMirror({ c, a }, where, { samePage = false } = {}) {
  assert.equal(firstDiff(c.dom, c.live), null, `${where}: engine live tree differs from the page as captured`);
  assert.equal(a.fingerprint, c.fingerprint, `${where}: fingerprints`);
  assert.equal(firstDiff(a.engine, c.shadow), null, `${where}: agent mirror differs from the capture's shadow`);
  assert.equal(firstDiff(a.dom, a.engine), null, `${where}: iframe DOM differs from the agent's mirror`);
  if (samePage) assert.equal(firstDiff(a.dom, c.dom), null, `${where}: iframe DOM differs from the page`);
}

/** The first line where two dumps differ, for messages. */
export function firstDiff(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}:\n  ${JSON.stringify(x[i])}\n  ${JSON.stringify(y[i])}`;
  }
  return null;
}

/** Everything the checks compare after a batch. */
export async function snapshotState(customer, agent) {
  const c = await customer.evaluate(() => ({
    dom: globalThis.domDump(document, false, globalThis.__cap.debugPageView()),
    live: globalThis.__cap.debugDumpLive(),
    shadow: globalThis.__cap.debugDumpShadow(),
    fingerprint: globalThis.__cap.fingerprint(),
    scroll: [Math.round(document.scrollingElement.scrollLeft), Math.round(document.scrollingElement.scrollTop)],
  }));
  const a = await agent.evaluate(() => {
    const doc = document.getElementById('mirror').contentDocument;
    return {
      dom: globalThis.domDump(doc, true),
      engine: globalThis.__rep.debugDump(),
      fingerprint: globalThis.__rep.fingerprint(),
      scroll: doc.scrollingElement ? [Math.round(doc.scrollingElement.scrollLeft), Math.round(doc.scrollingElement.scrollTop)] : [0, 0],
    };
  });
  return { c, a };
}

/**
 * `snapshotState` once every frame the capture made by itself since the last `takeFrames` is
 * applied in the agent (an iframe whose document finished loading after the flush sends it
 * then): the state after all the frames a batch led to, without racing such events. Fails if
 * frames keep coming.
 */
export async function settledState(customer, agent) {
  for (let round = 0; ; round++) {
    const state = await snapshotState(customer, agent);
    const late = await takeFrames(customer, false);
    if (late.length === 0) return state;
    if (round === 10) throw new Error('the capture kept making frames after the batch');
    const results = await applyFrames(agent, late);
    if (!results.every((r) => r.ok)) throw new Error(`a late frame failed: ${JSON.stringify(results)}`);
  }
}

/** The CSS rules of every readable stylesheet of `doc` in cascade order (document sheets, then
 * adopted ones), one string per sheet; `skipAdopted` leaves out the document's adopted sheets
 * (the replayer's own). Evaluated in a page. */
export function sheetRulesInPage(doc, skipAdopted) {
  // Serialized rules write every URL as url("..."): resolve relative ones against the sheet.
  const abs = (t, base) => t.replace(/url\("([^"]*)"\)/g, (m, u) => (u === '' || u.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(u) ? m : `url("${new URL(u, base).href}")`));
  const text = (s) => {
    try {
      return Array.from(s.cssRules, (r) => abs(r.cssText, s.href ?? doc.baseURI)).join('\n');
    } catch {
      return null;
    }
  };
  const out = [];
  for (const s of doc.styleSheets) {
    const t = text(s);
    if (t !== null) out.push(t);
  }
  if (!skipAdopted) {
    const adopted = doc.adoptedStyleSheets.map(text);
    if (adopted.length > 0) out.push(adopted.join('\n'));
  }
  return out;
}
