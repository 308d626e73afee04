// Side by side in one Chromium run: rrweb's `record` and `Replayer` (npm rrweb), rrweb-snapshot,
// and ours (bindings/web/dist), on the same seeded workload over corpus pages, interleaved.
//
//   bash scripts/build-web.sh
//   node benches/browser/bench.mjs [--pages N|all] [--seed S] [--batches B] [--ops K]
//   node benches/browser/bench.mjs --large 100000      # first keyframe of a 100,000-node page
//   node benches/browser/bench.mjs --memory 10000      # memory over 10,000 batches
//   node benches/browser/bench.mjs --profile --pages 3 # CPU profile: our JS / engine / GC
//   ... --before DIR                                   # also a copy of another build's dist/
//   node benches/browser/bench.mjs --keyframe-only --pages 8 [--runs R] [--before DIR]
//                                                      # first keyframe's CPU only, R traced runs
//   node benches/browser/bench.mjs --keyframe-cold --pages 8 [--runs R] [--before DIR]
//                                                      # the same, each in a fresh page (cold)
//   node benches/browser/bench.mjs --keyframe-profile --pages 8 [--runs R] [--top N] [--before DIR]
//                                                      # first keyframe's CPU by function (self and
//                                                      # inclusive), of DIR's build when given
//
// Main-thread CPU is Chromium's own TaskDuration metric (CDP Performance.getMetrics) around
// the workload, so asynchronous work (rrweb's mutation callbacks, our batches) is counted the
// same way for every recorder. Overhead per DOM op = (with recorder - without) / ops (the
// issue's definition), from TaskDuration and from the renderer's thread time (a trace).
// Beside it, in the same page runs: a CDP CPU profile of the workload in every mode gives the
// recorder's own time, attributed by script URL: ours is the self time of `cobrowse.js` and
// its `.wasm` (JS with the DOM reads it makes, and the engine), rrweb's the self time of its
// `record` bundle (served as `/rrweb-record.js`), each plus the garbage collector's time above
// the "none" run's on the same page; as the recorder's share of the profile's samples times the
// run's thread CPU (trace). That figure is not drowned by the workload's own noise.
import { gzipSync } from 'node:zlib';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  WEB, startServer, launch, localContext, corpusPages, seededSample, loadHelpers,
} from '../../bindings/web/test/harness.mjs';

const require = createRequire(path.join(WEB, 'package.json'));
const esbuild = require('esbuild');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1] ?? '']] : acc), []),
);
const SEED = Number(args.seed ?? 1);
const BATCHES = Number(args.batches ?? 20);
const OPS = Number(args.ops ?? 5);
/** Another build of ours to compare with in the same run (`--before DIR`: a copy of a dist/). */
const BEFORE = args.before ? path.resolve(args.before) : null;

/** The "before" build's files, served under /before/. */
async function beforeFiles() {
  if (!BEFORE) return {};
  return {
    '/before/cobrowse.js': await readFile(path.join(BEFORE, 'cobrowse.js')),
    '/before/cobrowse_bg.wasm': await readFile(path.join(BEFORE, 'cobrowse_bg.wasm')),
  };
}

async function bundle(contents, minify = true) {
  const r = await esbuild.build({
    stdin: { contents, resolveDir: WEB, loader: 'js' },
    bundle: true, format: 'iife', minify, write: false, target: 'es2020', legalComments: 'none',
  });
  return r.outputFiles[0].text;
}

const gz = (b) => gzipSync(b, { level: 9 }).length;

const RRWEB_RECORD = await bundle("import { record } from 'rrweb'; globalThis.rrwebRecord = record;");
const RRWEB_REPLAY = await bundle("import { Replayer } from 'rrweb'; globalThis.RrwebReplayer = Replayer;");
const RRWEB_SNAPSHOT = await bundle("import { snapshot } from 'rrweb-snapshot'; globalThis.rrwebSnapshot = snapshot;");
const oursJs = await readFile(path.join(WEB, 'dist/cobrowse.js'));
const oursWasm = await readFile(path.join(WEB, 'dist/cobrowse_bg.wasm'));

function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  return a.length === 0 ? NaN : a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Shares of a CDP CPU profile's samples by who ran them: ours (JS, wasm), rrweb's record
 * bundle, the garbage collector, the rest (idle samples left out); with the top functions of
 * the recorder. Samples, not their time deltas: on a loaded machine a delta includes the
 * time the thread waited for a core, which goes to whatever ran before. */
function attribute(profile) {
  const byNode = new Map();
  for (const id of profile.samples) byNode.set(id, (byNode.get(id) ?? 0) + 1);
  const out = { oursJs: 0, oursWasm: 0, rrweb: 0, gc: 0, rest: 0 };
  const fns = new Map();
  for (const nd of profile.nodes) {
    const n = byNode.get(nd.id) ?? 0;
    if (n === 0) continue;
    const { url, functionName } = nd.callFrame;
    let k;
    if (/\/(dist|before)\/cobrowse_bg\.wasm$/.test(url) || url.startsWith('wasm://')) k = 'oursWasm';
    else if (/\/(dist|before)\/cobrowse\.js$/.test(url)) k = 'oursJs';
    else if (url.endsWith('/rrweb-record.js')) k = 'rrweb';
    else if (functionName === '(garbage collector)') k = 'gc';
    else if (functionName === '(idle)') continue;
    else k = 'rest';
    out[k] += n;
    if (k !== 'gc' && k !== 'rest') fns.set(functionName || '(anonymous)', (fns.get(functionName || '(anonymous)') ?? 0) + n);
  }
  const total = Math.max(1, sum(Object.values(out)));
  if (args.inclusive !== undefined) {
    // Inclusive shares of the recorder's functions (each counted once per sample's stack).
    const parent = new Map();
    for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
    const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
    const incl = new Map();
    for (const [id, n] of byNode) {
      const names = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = byId.get(cur).callFrame;
        if (/cobrowse(_bg)?\.(js|wasm)$/.test(cf.url) || cf.url.startsWith('wasm://')) names.add(cf.functionName || '(anonymous)');
      }
      for (const f of names) incl.set(f, (incl.get(f) ?? 0) + n);
    }
    for (const [f, v] of incl) fns.set(`[incl] ${f}`, v);
  }
  const res = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v / total]));
  res.top = [...fns].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top ?? 5)).map(([f, v]) => `${f} ${(100 * v / total).toFixed(1)}%`);
  return res;
}

/** A profile's shares (`attribute`) as thread CPU ms of the run: shares of `threadMs`. */
function shareMs(p, threadMs) {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === 'number' ? v * threadMs : v]));
}

async function taskSeconds(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'TaskDuration').value;
}

/** Loads `name` fresh, starts `mode`'s recorder, runs the workload; returns its measurements. */
async function runMode(context, base, name, mode) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${base}/corpus/${name}`, { waitUntil: 'load' });
  await loadHelpers(page, base);
  await loadBefore(page, base);
  // From a URL, so that the profile can tell its functions from the page's.
  if (mode === 'rrweb') await page.addScriptTag({ url: `${base}/rrweb-record.js` });
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  const out = await page.evaluate(async (mode) => {
    globalThis.__events = [];
    globalThis.__frames = [];
    const t0 = performance.now();
    if (mode === 'rrweb') {
      globalThis.__stop = globalThis.rrwebRecord({ emit: (e) => globalThis.__events.push(e) });
    } else if (mode === 'ours' || mode === 'before') {
      const lib = mode === 'ours' ? globalThis.cobrowse : globalThis.cobrowseBefore;
      globalThis.__cap = lib.startCapture({ onFrame: (b) => globalThis.__frames.push(b.slice()) });
      // A large page's keyframe walk runs in slices: wait for it before measuring batches.
      while (globalThis.__cap.stats().walking) await new Promise((r) => setTimeout(r, 0));
    }
    return { startMs: performance.now() - t0 };
  }, mode);
  // Let start-up work settle before measuring.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  const before = await taskSeconds(cdp);
  await cdp.send('Profiler.start');
  const traced = await longestTask(page, async () => {
    for (let b = 0; b < BATCHES; b++) {
      await page.evaluate(([seed, n]) => {
        globalThis.cobrowseWorkload.run(seed, n);
        return new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      }, [SEED * 100003 + b, OPS]);
    }
    await page.evaluate((mode) => {
      if (mode === 'ours' || mode === 'before') globalThis.__cap.flush();
      return new Promise((r) => setTimeout(r, 0));
    }, mode);
  });
  const after = await taskSeconds(cdp);
  const profile = attribute((await cdp.send('Profiler.stop')).profile);
  const payload = await page.evaluate((mode) => {
    if (mode === 'rrweb') {
      globalThis.__stop?.();
      const ev = globalThis.__events;
      const firstIncr = ev.findIndex((e) => e.type === 3);
      const initial = firstIncr < 0 ? ev : ev.slice(0, firstIncr);
      const incr = firstIncr < 0 ? [] : ev.slice(firstIncr);
      return { initial: JSON.stringify(initial), incremental: incr.map((e) => JSON.stringify(e)), all: JSON.stringify(ev) };
    }
    if (mode === 'ours' || mode === 'before') {
      globalThis.__cap.stop();
      return { frames: globalThis.__frames.map((f) => Array.from(f)) };
    }
    return {};
  }, mode);
  await page.close();
  // cpuMs: wall time of the page's tasks (TaskDuration); threadMs: their CPU time (a trace's
  // thread durations), which a loaded machine does not inflate.
  return { mode, cpuMs: (after - before) * 1000, threadMs: traced.totalCpuMs, profile: shareMs(profile, traced.totalCpuMs), ...out, payload };
}

/** Agent side: applies a recorded stream, timing each batch by TaskDuration. */
async function agentApply(context, base, mode, payload) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${base}/agent.html`);
  await loadHelpers(page, base);
  if (mode === 'rrweb') {
    await page.evaluate(RRWEB_REPLAY);
    await page.evaluate((all) => {
      const events = JSON.parse(all);
      const firstIncr = events.findIndex((e) => e.type === 3);
      const initial = firstIncr < 0 ? events : events.slice(0, firstIncr);
      globalThis.__rest = firstIncr < 0 ? [] : events.slice(firstIncr);
      const root = document.createElement('div');
      document.body.appendChild(root);
      globalThis.__rr = new globalThis.RrwebReplayer([], { root, liveMode: true, mouseTail: false });
      globalThis.__rr.startLive(initial[0]?.timestamp ?? Date.now());
      for (const e of initial) globalThis.__rr.addEvent(e);
      return new Promise((r) => setTimeout(r, 100));
    }, payload.all);
  } else {
    await page.evaluate(async (first) => {
      globalThis.__rep = globalThis.cobrowse.createReplayer(document.getElementById('mirror'));
      await globalThis.__rep.ready;
      globalThis.__rep.apply(new Uint8Array(first));
    }, payload.frames[0]);
  }
  const before = await taskSeconds(cdp);
  let n;
  if (mode === 'rrweb') {
    n = await page.evaluate(async () => {
      for (const e of globalThis.__rest) globalThis.__rr.addEvent(e);
      await new Promise((r) => setTimeout(r, 200));
      return globalThis.__rest.length;
    });
  } else {
    n = await page.evaluate((frames) => {
      let ok = 0;
      for (const f of frames) ok += globalThis.__rep.apply(new Uint8Array(f)).ok ? 1 : 0;
      return ok === frames.length ? frames.length : -1;
    }, payload.frames.slice(1));
  }
  const after = await taskSeconds(cdp);
  await page.close();
  return { ms: (after - before) * 1000, n };
}

async function firstKeyframe(context, base, name, runs = 3) {
  const page = await context.newPage();
  await page.goto(`${base}/corpus/${name}`, { waitUntil: 'load' });
  await loadHelpers(page, base);
  await loadBefore(page, base);
  await page.evaluate(RRWEB_SNAPSHOT);
  await page.evaluate(`globalThis.keyframeMsInPage = ${keyframeMsInPage};`);
  // Warm-up (JIT, wasm instantiation) for each, then 3 interleaved runs; ms is wall time to
  // the keyframe, cpu the page's CPU time in tasks meanwhile (a trace). Our keyframe's bytes
  // are copied out in the warm-up (untraced): the copy (an array of every byte, returned
  // through CDP) is the harness's work, and in a traced run it was most of its longest task.
  const kf = (await page.evaluate(() => globalThis.keyframeMsInPage('cobrowse', true))).frame;
  await stopKeyframeCaptures(page);
  if (BEFORE) await page.evaluate(() => globalThis.keyframeMsInPage('cobrowseBefore'));
  await stopKeyframeCaptures(page);
  await page.evaluate(() => JSON.stringify(globalThis.rrwebSnapshot(document)).length);
  const res = { ours: [], before: [], rr: [], empty: [] };
  let json;
  for (let i = 0; i < runs; i++) {
    // The harness's own cost per timed run (an evaluate that does nothing, traced the same
    // way): in every side's figure alike.
    res.empty.push(await longestTask(page, () => page.evaluate(() => ({ ms: 0 }))));
    const o = await longestTask(page, () => page.evaluate(() => globalThis.keyframeMsInPage('cobrowse')));
    await stopKeyframeCaptures(page);
    res.ours.push(o);
    if (BEFORE) res.before.push(await longestTask(page, () => page.evaluate(() => globalThis.keyframeMsInPage('cobrowseBefore'))));
    await stopKeyframeCaptures(page);
    const r = await longestTask(page, () => page.evaluate(() => {
      const t = performance.now();
      const j = JSON.stringify(globalThis.rrwebSnapshot(document));
      return { ms: performance.now() - t, json: j };
    }));
    res.rr.push(r);
    json = r.result.json;
  }
  await page.close();
  // Wall time: the best of 3; CPU time: the median of the traced runs.
  const best = (xs, f) => (xs.length ? Math.min(...xs.map(f)) : null);
  const mid = (xs, f) => (xs.length ? median(xs.map(f).filter((x) => !Number.isNaN(x))) : null);
  return {
    oursMs: best(res.ours, (x) => x.result.ms),
    beforeMs: best(res.before, (x) => x.result.ms),
    rrMs: best(res.rr, (x) => x.result.ms),
    oursCpu: mid(res.ours, (x) => x.totalCpuMs),
    beforeCpu: mid(res.before, (x) => x.totalCpuMs),
    rrCpu: mid(res.rr, (x) => x.totalCpuMs),
    emptyCpu: mid(res.empty, (x) => x.totalCpuMs),
    oursLongestCpu: Math.max(...res.ours.map((x) => x.longestTaskCpuMs).filter((x) => !Number.isNaN(x))),
    oursLongestRuns: res.ours.map((x) => +x.longestTaskCpuMs.toFixed(1)),
    beforeLongestRuns: res.before.map((x) => +x.longestTaskCpuMs.toFixed(1)),
    oursBytes: kf,
    rrJson: json,
  };
}

/** The first keyframe only (`--keyframe-only`): per page, `--runs` (default 5) interleaved traced
 * runs of ours, the `--before` build and rrweb-snapshot, as in the corpus bench's keyframe
 * figures (median thread CPU per page; sums; net of the traced empty evaluate). */
async function keyframeOnlyBench() {
  const all = await corpusPages();
  const pages = args.pages === 'all' ? all : seededSample(all, Number(args.pages ?? 8), SEED);
  const runs = Number(args.runs ?? 5);
  const server = await startServer(await beforeFiles());
  const browser = await launch();
  const context = await localContext(browser);
  const rows = [];
  try {
    for (const name of pages) {
      const kf = await firstKeyframe(context, base(server), name, runs);
      const row = { page: name.slice(0, 12), ours: kf.oursCpu, before: kf.beforeCpu, rr: kf.rrCpu, empty: kf.emptyCpu, longestOurs: kf.oursLongestCpu, longestOursRuns: kf.oursLongestRuns, longestBeforeRuns: kf.beforeLongestRuns, bytesOurs: kf.oursBytes.length };
      rows.push(row);
      console.error(JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? +v.toFixed(2) : v]))));
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const total = (k) => sum(rows.map((r) => r[k]));
  const net = (k) => sum(rows.map((r) => r[k] - r.empty));
  console.log(JSON.stringify({
    pages: rows.length,
    runs,
    cpuMsSum: { ours: +total('ours').toFixed(1), before: BEFORE ? +total('before').toFixed(1) : null, rrwebSnapshot: +total('rr').toFixed(1), empty: +total('empty').toFixed(1) },
    totalCpuRatio: +(total('ours') / total('rr')).toFixed(3),
    totalCpuRatioBefore: BEFORE ? +(total('before') / total('rr')).toFixed(3) : null,
    totalNetCpuRatio: +(net('ours') / net('rr')).toFixed(3),
    totalNetCpuRatioBefore: BEFORE ? +(net('before') / net('rr')).toFixed(3) : null,
    medianCpuRatio: +median(rows.map((r) => r.ours / r.rr)).toFixed(3),
    medianCpuRatioBefore: BEFORE ? +median(rows.map((r) => r.before / r.rr)).toFixed(3) : null,
    longestTaskCpuOurs: Math.max(...rows.map((r) => r.longestOurs)),
    bytesOurs: total('bytesOurs'),
  }, null, 2));
}

/** The first keyframe cold (`--keyframe-cold`), as a customer's tab makes it: per page and
 * run, a fresh page for ours and one for the `--before` build (order alternated), the library
 * loaded, then one traced keyframe (no warm-up: the engine's code runs for the first time).
 * Longest task's CPU and the trace's CPU per keyframe. */
async function keyframeColdBench() {
  const all = await corpusPages();
  const pages = args.pages === 'all' ? all : seededSample(all, Number(args.pages ?? 8), SEED);
  const runs = Number(args.runs ?? 2);
  const server = await startServer(await beforeFiles());
  const browser = await launch();
  const context = await localContext(browser);
  const res = { ours: [], before: [] };
  try {
    for (let r = 0; r < runs; r++) {
      for (const name of pages) {
        const libs = BEFORE ? ['cobrowse', 'cobrowseBefore'] : ['cobrowse'];
        for (const lib of r % 2 === 0 ? libs : [...libs].reverse()) {
          const page = await context.newPage();
          await page.goto(`${base(server)}/corpus/${name}`, { waitUntil: 'load' });
          // Both builds loaded in every page (the same scripts and memory), one keyframe made.
          await loadHelpers(page, base(server));
          await loadBefore(page, base(server));
          await page.evaluate(`globalThis.keyframeMsInPage = ${keyframeMsInPage};`);
          const t = await longestTask(page, () => page.evaluate((l) => globalThis.keyframeMsInPage(l), lib));
          await stopKeyframeCaptures(page);
          await page.close();
          const row = { page: name.slice(0, 12), longestCpu: +t.longestTaskCpuMs.toFixed(1), cpu: +t.totalCpuMs.toFixed(1) };
          res[lib === 'cobrowse' ? 'ours' : 'before'].push(row);
          console.error(JSON.stringify({ lib, ...row }));
        }
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const figures = (rows) => {
    const longest = rows.map((x) => x.longestCpu).filter((x) => !Number.isNaN(x));
    return { keyframes: rows.length, longestTaskCpuMax: Math.max(...longest), longestTaskCpuMedian: median(longest), cpuMedian: +median(rows.map((x) => x.cpu).filter((x) => !Number.isNaN(x))).toFixed(1) };
  };
  console.log(JSON.stringify({ pages: pages.length, runs, ours: figures(res.ours), before: BEFORE ? figures(res.before) : null }, null, 2));
}

async function corpusBench() {
  const all = await corpusPages();
  const pages = args.pages === 'all' ? all : seededSample(all, Number(args.pages ?? 12), SEED);
  const server = await startServer({ ...(await beforeFiles()), '/rrweb-record.js': RRWEB_RECORD });
  const browser = await launch();
  const context = await localContext(browser);
  const rows = [];
  try {
    for (const [i, name] of pages.entries()) {
      const modes = BEFORE ? ['none', 'rrweb', 'ours', 'before'] : ['none', 'rrweb', 'ours'];
      const order = modes.map((_, k) => modes[(i + k) % modes.length]);
      const res = {};
      for (const m of order) res[m] = await runMode(context, base(server), name, m);
      const kf = await firstKeyframe(context, base(server), name);
      const oursDeltas = res.ours.payload.frames.slice(1).map((f) => Buffer.from(f));
      const rrIncr = res.rrweb.payload.incremental.map((s) => Buffer.from(s));
      const applyOurs = await agentApply(context, base(server), 'ours', res.ours.payload);
      const applyRr = await agentApply(context, base(server), 'rrweb', res.rrweb.payload);
      const ops = BATCHES * OPS;
      // The recorder's own thread CPU by the profile: its code's share of the samples plus the
      // collector's above the "none" run's, as shares of the run's thread CPU.
      const gcNone = res.none.profile.gc;
      const own = (m, p) => (m === 'rrweb' ? p.rrweb : p.oursJs + p.oursWasm) + Math.max(0, p.gc - gcNone);
      const row = {
        page: name.slice(0, 12),
        ops,
        cpuNone: res.none.cpuMs,
        cpuOurs: res.ours.cpuMs,
        cpuRr: res.rrweb.cpuMs,
        cpuBefore: res.before?.cpuMs ?? null,
        threadNone: res.none.threadMs,
        threadOurs: res.ours.threadMs,
        threadRr: res.rrweb.threadMs,
        threadBefore: res.before?.threadMs ?? null,
        profOurs: own('ours', res.ours.profile),
        profRr: own('rrweb', res.rrweb.profile),
        profBefore: res.before ? own('before', res.before.profile) : null,
        profOursParts: { js: res.ours.profile.oursJs, wasm: res.ours.profile.oursWasm, gcOver: Math.max(0, res.ours.profile.gc - gcNone), top: res.ours.profile.top },
        profBeforeParts: res.before ? { js: res.before.profile.oursJs, wasm: res.before.profile.oursWasm, gcOver: Math.max(0, res.before.profile.gc - gcNone), top: res.before.profile.top } : null,
        profRrParts: { js: res.rrweb.profile.rrweb, gcOver: Math.max(0, res.rrweb.profile.gc - gcNone), top: res.rrweb.profile.top },
        gcNone,
        bytesBefore: res.before ? sum(res.before.payload.frames.slice(1).map((f) => f.length)) : null,
        kfMsBefore: kf.beforeMs,
        kfCpuOurs: kf.oursCpu,
        kfCpuBefore: kf.beforeCpu,
        kfCpuRr: kf.rrCpu,
        kfCpuEmpty: kf.emptyCpu,
        kfLongestCpuOurs: kf.oursLongestCpu,
        bytesOurs: sum(oursDeltas.map((b) => b.length)),
        bytesRr: sum(rrIncr.map((b) => b.length)),
        gzOurs: oursDeltas.length ? gz(Buffer.concat(oursDeltas)) : 0,
        gzRr: rrIncr.length ? gz(Buffer.from(res.rrweb.payload.incremental.join('\n'))) : 0,
        kfMsOurs: kf.oursMs,
        kfMsRr: kf.rrMs,
        kfBytesOurs: kf.oursBytes.length,
        kfBytesRr: Buffer.byteLength(kf.rrJson),
        kfGzOurs: gz(Buffer.from(kf.oursBytes)),
        kfGzRr: gz(Buffer.from(kf.rrJson)),
        applyOursMs: applyOurs.ms,
        applyOursFrames: applyOurs.n,
        applyRrMs: applyRr.ms,
        applyRrEvents: applyRr.n,
      };
      rows.push(row);
      console.error(JSON.stringify(row));
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const ovOurs = rows.map((r) => (r.cpuOurs - r.cpuNone) / r.ops);
  const ovRr = rows.map((r) => (r.cpuRr - r.cpuNone) / r.ops);
  const report = {
    pages: rows.length,
    batches: BATCHES,
    opsPerBatch: OPS,
    threadCpuOverheadPerOpMs: {
      ours: median(rows.map((r) => (r.threadOurs - r.threadNone) / r.ops)),
      rrweb: median(rows.map((r) => (r.threadRr - r.threadNone) / r.ops)),
      before: BEFORE ? median(rows.map((r) => (r.threadBefore - r.threadNone) / r.ops)) : null,
      totalOursOverRrweb: (sum(rows.map((r) => r.threadOurs)) - sum(rows.map((r) => r.threadNone))) / (sum(rows.map((r) => r.threadRr)) - sum(rows.map((r) => r.threadNone))),
      totalBeforeOverRrweb: BEFORE ? (sum(rows.map((r) => r.threadBefore)) - sum(rows.map((r) => r.threadNone))) / (sum(rows.map((r) => r.threadRr)) - sum(rows.map((r) => r.threadNone))) : null,
    },
    // The recorder's own CPU by the profile (see the top of this file), per DOM op.
    profiledRecorderPerOpMs: {
      ours: median(rows.map((r) => r.profOurs / r.ops)),
      rrweb: median(rows.map((r) => r.profRr / r.ops)),
      before: BEFORE ? median(rows.map((r) => r.profBefore / r.ops)) : null,
      totalOursOverRrweb: sum(rows.map((r) => r.profOurs)) / sum(rows.map((r) => r.profRr)),
      totalBeforeOverRrweb: BEFORE ? sum(rows.map((r) => r.profBefore)) / sum(rows.map((r) => r.profRr)) : null,
      oursJsWasmGc: [sum(rows.map((r) => r.profOursParts.js)), sum(rows.map((r) => r.profOursParts.wasm)), sum(rows.map((r) => r.profOursParts.gcOver))].map((x) => +x.toFixed(1)),
      beforeJsWasmGc: BEFORE ? [sum(rows.map((r) => r.profBeforeParts.js)), sum(rows.map((r) => r.profBeforeParts.wasm)), sum(rows.map((r) => r.profBeforeParts.gcOver))].map((x) => +x.toFixed(1)) : null,
      rrwebJsGc: [sum(rows.map((r) => r.profRrParts.js)), sum(rows.map((r) => r.profRrParts.gcOver))].map((x) => +x.toFixed(1)),
    },
    cpuOverheadPerOpMs: { ours: median(ovOurs), rrweb: median(ovRr), before: BEFORE ? median(rows.map((r) => (r.cpuBefore - r.cpuNone) / r.ops)) : null, totalBeforeOverRrweb: BEFORE ? (sum(rows.map((r) => r.cpuBefore)) - sum(rows.map((r) => r.cpuNone))) / (sum(rows.map((r) => r.cpuRr)) - sum(rows.map((r) => r.cpuNone))) : null, totalOursOverRrweb: (sum(rows.map((r) => r.cpuOurs)) - sum(rows.map((r) => r.cpuNone))) / (sum(rows.map((r) => r.cpuRr)) - sum(rows.map((r) => r.cpuNone))) },
    bytesPerOp: {
      ours: sum(rows.map((r) => r.bytesOurs)) / sum(rows.map((r) => r.ops)),
      rrwebJson: sum(rows.map((r) => r.bytesRr)) / sum(rows.map((r) => r.ops)),
      oursGz: sum(rows.map((r) => r.gzOurs)) / sum(rows.map((r) => r.ops)),
      rrwebJsonGz: sum(rows.map((r) => r.gzRr)) / sum(rows.map((r) => r.ops)),
      before: BEFORE ? sum(rows.map((r) => r.bytesBefore)) / sum(rows.map((r) => r.ops)) : null,
    },
    firstKeyframe: {
      medianMsOurs: median(rows.map((r) => r.kfMsOurs)),
      medianMsRrwebSnapshot: median(rows.map((r) => r.kfMsRr)),
      medianRatioMs: median(rows.map((r) => r.kfMsOurs / r.kfMsRr)),
      medianCpuOurs: median(rows.map((r) => r.kfCpuOurs)),
      medianCpuRrweb: median(rows.map((r) => r.kfCpuRr)),
      medianCpuRatio: median(rows.map((r) => r.kfCpuOurs / r.kfCpuRr)),
      totalCpuRatio: sum(rows.map((r) => r.kfCpuOurs)) / sum(rows.map((r) => r.kfCpuRr)),
      // Net of the harness's own cost per timed run (`kfCpuEmpty`, an evaluate doing nothing).
      medianCpuEmpty: median(rows.map((r) => r.kfCpuEmpty)),
      totalNetCpuRatio: sum(rows.map((r) => r.kfCpuOurs - r.kfCpuEmpty)) / sum(rows.map((r) => r.kfCpuRr - r.kfCpuEmpty)),
      totalNetCpuRatioBefore: BEFORE ? sum(rows.map((r) => r.kfCpuBefore - r.kfCpuEmpty)) / sum(rows.map((r) => r.kfCpuRr - r.kfCpuEmpty)) : null,
      medianCpuRatioBefore: BEFORE ? median(rows.map((r) => r.kfCpuBefore / r.kfCpuRr)) : null,
      totalCpuRatioBefore: BEFORE ? sum(rows.map((r) => r.kfCpuBefore)) / sum(rows.map((r) => r.kfCpuRr)) : null,
      longestTaskCpuOurs: Math.max(...rows.map((r) => r.kfLongestCpuOurs)),
      medianMsBefore: BEFORE ? median(rows.map((r) => r.kfMsBefore)) : null,
      medianRatioMsBefore: BEFORE ? median(rows.map((r) => r.kfMsBefore / r.kfMsRr)) : null,
      bytesOurs: sum(rows.map((r) => r.kfBytesOurs)),
      bytesRrwebJson: sum(rows.map((r) => r.kfBytesRr)),
      gzOurs: sum(rows.map((r) => r.kfGzOurs)),
      gzRrwebJson: sum(rows.map((r) => r.kfGzRr)),
    },
    agentApply: {
      msPerBatchOurs: sum(rows.map((r) => r.applyOursMs)) / sum(rows.map((r) => Math.max(1, r.applyOursFrames))),
      msTotalOurs: sum(rows.map((r) => r.applyOursMs)),
      msTotalRrweb: sum(rows.map((r) => r.applyRrMs)),
      framesOurs: sum(rows.map((r) => r.applyOursFrames)),
      eventsRrweb: sum(rows.map((r) => r.applyRrEvents)),
    },
    bundleGz: {
      // What each side loads (the files scripts/build-web.sh sums; zlib's level 9 here comes out
      // about 1 % above its `gzip -9`); the bench itself
      // drives `cobrowse.js` with the full module.
      oursCustomerJsPlusWasm: gz(await readFile(path.join(WEB, 'dist/cobrowse-widget.js'))) + gz(await readFile(path.join(WEB, 'dist/cobrowse-widget_bg.wasm'))),
      oursAgentJsPlusWasm: gz(await readFile(path.join(WEB, 'dist/cobrowse-console.js'))) + gz(oursWasm),
      oursBenchedJsPlusWasm: gz(oursJs) + gz(oursWasm),
      rrwebRecord: gz(Buffer.from(RRWEB_RECORD)),
      rrwebReplayer: gz(Buffer.from(RRWEB_REPLAY)),
      rrwebSnapshot: gz(Buffer.from(RRWEB_SNAPSHOT)),
    },
  };
  console.log(JSON.stringify(report, null, 2));
}

function base(server) {
  return server.base;
}

/** The longest main-thread task of the page's renderer while `run()` runs (a CDP trace of
 * `RunTask` events on CrRendererMain), in ms, and the number of tasks of 50 ms or more. */
async function longestTask(page, run) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const complete = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
  const result = await run();
  await cdp.send('Tracing.end');
  await complete;
  await cdp.detach();
  const mains = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const runs = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && mains.has(`${e.pid}:${e.tid}`));
  const tasks = runs.map((e) => e.dur / 1000);
  // Thread time (CPU) of each task: on a loaded machine wall time includes waiting for a core.
  const cpu = runs.map((e) => (e.tdur ?? NaN) / 1000);
  // A trace now and then comes without the renderer's thread names (no task found): NaN, so
  // that no figure takes it for a free run.
  if (tasks.length === 0) return { result, longestTaskMs: NaN, longestTaskCpuMs: NaN, totalCpuMs: NaN, tasksOver50Ms: NaN, tasks: 0 };
  return {
    result,
    longestTaskMs: Math.max(0, ...tasks),
    longestTaskCpuMs: Math.max(0, ...cpu.filter((x) => !Number.isNaN(x))),
    totalCpuMs: cpu.filter((x) => !Number.isNaN(x)).reduce((a, b) => a + b, 0),
    tasksOver50Ms: tasks.filter((d) => d >= 50).length,
    tasks: tasks.length,
  };
}

/** In the page: starts `lib`'s capture and resolves with the ms until its first frame (the
 * keyframe; a large page's walk runs in slices, so the frame may come tasks later), once the
 * keyframe's work is all done (a sliced keyframe builds the engine's shadow after emitting
 * it: `stats().walking` stays true until then; `doneMs` is that time). */
function keyframeMsInPage(libName, keep = false) {
  return new Promise((resolve) => {
    const lib = globalThis[libName];
    const t = performance.now();
    let cap = null;
    let ms = null;
    let bytes = 0;
    let frame = null;
    const done = () => {
      if (cap.stats?.().walking) {
        setTimeout(done, 0);
        return;
      }
      const doneMs = performance.now() - t;
      // Stopped in a task of its own after the traced run (`stopKeyframeCapture`): tearing the
      // capture down is not part of making the keyframe (rrweb-snapshot's side has none).
      globalThis.__kfCaptures = [...(globalThis.__kfCaptures ?? []), cap];
      resolve({ ms, doneMs, bytes, frame });
    };
    cap = lib.startCapture({
      onFrame: (b) => {
        if (ms !== null) return;
        ms = performance.now() - t;
        bytes = b.length;
        if (keep) frame = Array.from(b);
        if (cap !== null) queueMicrotask(done);
      },
    });
    if (ms !== null) done();
  });
}

/** Stops the captures `keyframeMsInPage` left running (in a task of their own, untimed). */
async function stopKeyframeCaptures(page) {
  await page.evaluate(() => {
    for (const c of (globalThis.__kfCaptures ?? []).splice(0)) c.stop();
  });
}

/** Loads the "before" build (`--before DIR`, e.g. a copy of main's dist/) as `cobrowseBefore`. */
async function loadBefore(page, base) {
  if (!BEFORE) return;
  await page.evaluate(async (url) => {
    globalThis.cobrowseBefore = await import(url);
    await globalThis.cobrowseBefore.init();
  }, `${base}/before/cobrowse.js`);
}

/** A page of `n` nodes: first keyframe time (ours, the "before" build, rrweb-snapshot) and
 * the longest main-thread task while each makes it. */
async function largeBench(n) {
  const per = 5; // div > (span > text, text, b > text) = 6 nodes; 5 counted + the div itself
  const blocks = Math.ceil(n / (per + 1));
  const html = `<!DOCTYPE html><html><head><title>large</title></head><body>${'<div class="row"><span>cell</span> text <b>bold</b></div>'.repeat(blocks)}</body></html>`;
  const server = await startServer({ '/large.html': html, ...(await beforeFiles()) });
  const browser = await launch();
  const context = await localContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(`${server.base}/large.html`);
    await loadHelpers(page, server.base);
    await loadBefore(page, server.base);
    await page.evaluate(RRWEB_SNAPSHOT);
    const counts = await page.evaluate(() => {
      let count = 0;
      const w = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
      while (w.nextNode()) count++;
      return { elements: document.getElementsByTagName('*').length, nodes: count + 1 };
    });
    const runs = { ours: [], before: [], rrwebSnapshot: [] };
    for (let i = 0; i < 3; i++) {
      runs.ours.push(await longestTask(page, () => page.evaluate(keyframeMsInPage, 'cobrowse')));
      await stopKeyframeCaptures(page);
      if (BEFORE) runs.before.push(await longestTask(page, () => page.evaluate(keyframeMsInPage, 'cobrowseBefore')));
      await stopKeyframeCaptures(page);
      runs.rrwebSnapshot.push(await longestTask(page, () => page.evaluate(() => {
        const t = performance.now();
        const json = JSON.stringify(globalThis.rrwebSnapshot(document));
        return { ms: performance.now() - t, bytes: json.length };
      })));
    }
    const summary = Object.fromEntries(Object.entries(runs).filter(([, r]) => r.length > 0).map(([k, r]) => [k, {
      keyframeMs: r.map((x) => +x.result.ms.toFixed(1)),
      doneMs: r.map((x) => +(x.result.doneMs ?? x.result.ms).toFixed(1)),
      longestTaskMs: r.map((x) => +x.longestTaskMs.toFixed(1)),
      longestTaskCpuMs: r.map((x) => +x.longestTaskCpuMs.toFixed(1)),
      totalCpuMs: r.map((x) => +x.totalCpuMs.toFixed(1)),
      tasks: r.map((x) => x.tasks),
      tasksOver50Ms: r.map((x) => x.tasksOver50Ms),
      bytes: r[0].result.bytes,
    }]));
    console.log(JSON.stringify({ ...counts, ...summary }, null, 2));
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Memory over `n` batches, each inserting 20 nodes and removing the 20 of the batch before. */
async function memoryBench(n) {
  const all = await corpusPages();
  const name = seededSample(all, 1, SEED)[0];
  const server = await startServer();
  const browser = await launch();
  const context = await localContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(`${server.base}/corpus/${name}`);
    await loadHelpers(page, server.base);
    const r = await page.evaluate((n) => {
      let frames = 0;
      let bytes = 0;
      const cap = globalThis.cobrowse.startCapture({ onFrame: (b) => { frames++; bytes += b.length; } });
      const samples = [];
      let last = [];
      const body = document.body;
      for (let i = 0; i < n; i++) {
        for (const el of last) el.remove();
        last = [];
        for (let k = 0; k < 10; k++) {
          const d = document.createElement('div');
          d.textContent = `batch ${i} node ${k}`;
          body.appendChild(d);
          last.push(d);
        }
        cap.flush();
        if (i % (n / 10) === 0 || i === n - 1) samples.push({ batch: i + 1, ...cap.stats(), jsHeap: performance.memory?.usedJSHeapSize ?? null });
      }
      return { frames, bytes, samples };
    }, n);
    console.log(JSON.stringify({ page: name, ...r }, null, 2));
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Self time of a CDP CPU profile by where it ran: our package's JS (with the DOM reads it
 * makes), the engine (wasm), garbage collection, the rest; and our JS's top functions. */
function buckets(profile) {
  const byNode = new Map();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const out = { oursJs: 0, engineWasm: 0, gc: 0, other: 0 };
  const fns = new Map();
  for (const nd of profile.nodes) {
    const us = byNode.get(nd.id) ?? 0;
    const { url, functionName } = nd.callFrame;
    if (url.endsWith('.wasm') || url.startsWith('wasm://')) out.engineWasm += us;
    else if (url.endsWith('/cobrowse.js')) {
      out.oursJs += us;
      fns.set(functionName, (fns.get(functionName) ?? 0) + us);
    } else if (functionName === '(garbage collector)') out.gc += us;
    else if (functionName !== '(idle)') out.other += us;
  }
  const ms = (us) => +(us / 1000).toFixed(1);
  return {
    ...Object.fromEntries(Object.entries(out).map(([k, v]) => [k, ms(v)])),
    topJs: [...fns].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([f, v]) => `${f} ${ms(v)}`),
  };
}

/** Where our time goes: CPU profiles of the first keyframe (3 runs) and of the seeded
 * batches, per page (the package is bundled minified: function names are esbuild's). */
async function profileBench() {
  const all = await corpusPages();
  const pages = seededSample(all, Number(args.pages ?? 3), SEED);
  const server = await startServer();
  const browser = await launch();
  const context = await localContext(browser);
  try {
    for (const name of pages) {
      const page = await context.newPage();
      await page.goto(`${server.base}/corpus/${name}`, { waitUntil: 'load' });
      await loadHelpers(page, server.base);
      await page.evaluate(`globalThis.keyframeMsInPage = ${keyframeMsInPage};`);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await page.evaluate(() => globalThis.keyframeMsInPage('cobrowse'));
      await stopKeyframeCaptures(page);
      await cdp.send('Profiler.start');
      const kfMs = await page.evaluate(async () => {
        const ms = [];
        for (let i = 0; i < 3; i++) {
          ms.push((await globalThis.keyframeMsInPage('cobrowse')).ms);
          for (const c of globalThis.__kfCaptures.splice(0)) c.stop();
        }
        return ms;
      });
      const kf = (await cdp.send('Profiler.stop')).profile;
      await page.evaluate(async () => {
        globalThis.__cap = globalThis.cobrowse.startCapture({ onFrame() {} });
        while (globalThis.__cap.stats().walking) await new Promise((r) => setTimeout(r, 0));
      });
      await cdp.send('Profiler.start');
      for (let b = 0; b < BATCHES; b++) {
        await page.evaluate(([seed, n]) => {
          globalThis.cobrowseWorkload.run(seed, n);
          globalThis.__cap.flush();
        }, [SEED * 100003 + b, OPS]);
      }
      const batches = (await cdp.send('Profiler.stop')).profile;
      console.log(JSON.stringify({ page: name.slice(0, 12), keyframeMs: kfMs.map((x) => +x.toFixed(1)), keyframe: buckets(kf), batches: { n: BATCHES, ops: BATCHES * OPS, ...buckets(batches) } }));
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Where the first keyframe's CPU goes, per corpus page: R keyframes in a row under a CDP CPU
 * profile (50 µs sampling) and a trace; each function's self and inclusive share of the
 * non-idle samples, as ms of thread CPU per keyframe (share x the trace's thread CPU / R).
 * Every frame counts, the browser's own (DOM getters, style, layout, GC) included, so the
 * inclusive figure of a function of ours holds the DOM reads it makes. Profiles the `--before`
 * build when given (an unminified build for names), else `dist/`. rrweb-snapshot's keyframe
 * CPU in the same page is the reference. */
async function keyframeProfileBench() {
  const all = await corpusPages();
  const pages = seededSample(all, Number(args.pages ?? 8), SEED);
  const runs = Number(args.runs ?? 10);
  const lib = BEFORE ? 'cobrowseBefore' : 'cobrowse';
  const server = await startServer(await beforeFiles());
  const browser = await launch();
  const context = await localContext(browser);
  const totals = new Map();
  let cpuSum = 0;
  let rrSum = 0;
  try {
    for (const name of pages) {
      const page = await context.newPage();
      await page.goto(`${server.base}/corpus/${name}`, { waitUntil: 'load' });
      await loadHelpers(page, server.base);
      await loadBefore(page, server.base);
      await page.evaluate(RRWEB_SNAPSHOT);
      await page.evaluate(`globalThis.keyframeMsInPage = ${keyframeMsInPage};`);
      for (let i = 0; i < 2; i++) {
        await page.evaluate((l) => globalThis.keyframeMsInPage(l), lib);
        await stopKeyframeCaptures(page);
      }
      const rr = await longestTask(page, () => page.evaluate((r) => {
        for (let i = 0; i < r; i++) JSON.stringify(globalThis.rrwebSnapshot(document));
      }, runs));
      const cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
      // One profile and trace per keyframe; the capture is stopped after each (not profiled).
      const fns = new Map();
      let pageCpu = 0;
      for (let i = 0; i < runs; i++) {
        await cdp.send('Profiler.start');
        const traced = await longestTask(page, () => page.evaluate((l) => globalThis.keyframeMsInPage(l), lib));
        const shares = functionShares((await cdp.send('Profiler.stop')).profile);
        await stopKeyframeCaptures(page);
        pageCpu += traced.totalCpuMs;
        for (const [f, v] of shares) fns.set(f, (fns.get(f) ?? 0) + v * traced.totalCpuMs);
      }
      await cdp.detach();
      await page.close();
      const perKf = pageCpu / runs;
      for (const [f, v] of fns) fns.set(f, v / pageCpu);
      cpuSum += perKf;
      rrSum += rr.totalCpuMs / runs;
      for (const [f, v] of fns) totals.set(f, (totals.get(f) ?? 0) + v * perKf);
      const top = [...fns].filter(([f]) => !f.startsWith('[incl]')).sort((a, b) => b[1] - a[1]).slice(0, Number(args.top ?? 12));
      console.error(JSON.stringify({
        page: name.slice(0, 12), cpuMsPerKeyframe: +perKf.toFixed(2), rrwebSnapshotCpuMs: +(rr.totalCpuMs / runs).toFixed(2),
        topSelf: top.map(([f, v]) => `${f} ${(v * perKf).toFixed(2)}`),
      }));
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const sorted = (incl) => [...totals].filter(([f]) => f.startsWith('[incl]') === incl).sort((a, b) => b[1] - a[1])
    .slice(0, Number(args.top ?? 40)).map(([f, v]) => `${f} ${v.toFixed(2)} (${(100 * v / cpuSum).toFixed(1)}%)`);
  console.log(JSON.stringify({ pages: pages.length, runs, sumCpuMsPerKeyframe: +cpuSum.toFixed(1), sumRrwebSnapshotCpuMs: +rrSum.toFixed(1), self: sorted(false), inclusive: sorted(true) }, null, 2));
}

/** Self and inclusive (`[incl] name`) shares of a CPU profile's non-idle samples by function
 * (`name@file`; the page's and the browser's frames too). */
function functionShares(profile) {
  const byNode = new Map();
  for (const id of profile.samples) byNode.set(id, (byNode.get(id) ?? 0) + 1);
  const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
  const parent = new Map();
  for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const label = (cf) => `${cf.functionName || '(anonymous)'}${cf.url ? `@${path.basename(cf.url)}` : ''}`;
  const out = new Map();
  let total = 0;
  for (const [id, n] of byNode) {
    const nd = byId.get(id);
    if (nd.callFrame.functionName === '(idle)') continue;
    total += n;
    out.set(label(nd.callFrame), (out.get(label(nd.callFrame)) ?? 0) + n);
    const names = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) names.add(`[incl] ${label(byId.get(cur).callFrame)}`);
    for (const f of names) out.set(f, (out.get(f) ?? 0) + n);
  }
  for (const [f, v] of out) out.set(f, v / Math.max(1, total));
  return out;
}

if (args.large) await largeBench(Number(args.large));
else if (args['keyframe-profile'] !== undefined) await keyframeProfileBench();
else if (args['keyframe-only'] !== undefined) await keyframeOnlyBench();
else if (args['keyframe-cold'] !== undefined) await keyframeColdBench();
else if (args.profile !== undefined) await profileBench();
else if (args.memory) await memoryBench(Number(args.memory));
else await corpusBench();
