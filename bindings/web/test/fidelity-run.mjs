// Visual fidelity over the corpus: every page (or a seeded subset) screenshotted on the
// customer's side and in the agent's mirror, after the keyframe and after the seeded workload
// (fidelity.mjs). Prints one line per page, keeps the screenshots and diff image of every
// page below the per-page bar in bindings/web/test-artifacts/fidelity/, writes the figures to
// test-artifacts/fidelity/summary.json and exits 1 when fewer than 98% of pages reach 99.5%
// identical pixels at both stages.
//
//   node test/fidelity-run.mjs                      # every corpus page (run in bindings/web)
//   node test/fidelity-run.mjs --pages 20 --seed 3  # a seeded subset
//   node test/fidelity-run.mjs --only 0a1b,77f0     # pages whose names start so
// Options: --batches N (workload batches, default 12), --ops N (operations per batch, 6),
// --keep all (keep the images of every page not 100% identical), --shapes all (the workload's
// every placement, also those the sanitizer withholds from agents; default: parser shapes),
// --third-party off (other hosts' iframes refused instead of served from a second 127.0.0.1
// port). Each stage has two figures (fidelity.mjs): every pixel (the bar), and the pixels
// outside the boxes of rule-replaced elements (blocked, masked, cross-origin iframes), with the
// share those boxes cover.
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startServer, launch, corpusPages, seededSample } from './harness.mjs';
import { measurePage, keepArtifacts, pct, startThirdParty, PAGE_BAR, CORPUS_BAR, ARTIFACTS, FIDELITY_ARGS } from './fidelity.mjs';

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const seed = Number(args.get('seed') ?? 1);
const batches = Number(args.get('batches') ?? 12);
const ops = Number(args.get('ops') ?? 6);
// --shapes all: the workload's every shape, also those the sanitizer withholds (fidelity.mjs).
const parserShapes = args.get('shapes') !== 'all';

const all = await corpusPages();
if (all.length === 0) {
  console.error('no corpus pages: run bash corpus/fetch.sh');
  process.exit(2);
}
const only = (args.get('only') ?? '').split(',').filter((p) => p !== '');
const pages = only.length > 0
  ? all.filter((n) => only.some((p) => n.startsWith(p)))
  : args.has('pages') ? seededSample(all, Number(args.get('pages')), seed) : all;

const server = await startServer();
const thirdParty = args.get('third-party') === 'off' ? null : await startThirdParty();
let browser = await launch(FIDELITY_ARGS);
const rows = [];
const started = Date.now();
try {
  for (const name of pages) {
    let row;
    try {
      const m = await measurePage(browser, server, name, { seed, batches, ops, parserShapes, thirdParty });
      row = {
        page: name,
        keyframe: m.keyframe.identical,
        workload: m.workload?.identical ?? null,
        keyframeOutside: m.keyframe.identicalOutside,
        workloadOutside: m.workload?.identicalOutside ?? null,
        excluded: [m.keyframe.excluded, m.workload?.excluded ?? null],
        withheld: [m.keyframe.withheld, m.workload?.withheld ?? null],
      };
      const stages = [['keyframe', m.keyframe], ['workload', m.workload]];
      for (const [stage, s] of stages) {
        if (s !== null && (s.identical < PAGE_BAR || (args.get('keep') === 'all' && s.identical < 1))) await keepArtifacts(name, stage, s);
      }
    } catch (e) {
      row = { page: name, keyframe: null, workload: null, keyframeOutside: null, workloadOutside: null, error: String(e?.message ?? e).split('\n')[0] };
      // A crashed browser takes every later page with it: start a new one.
      if (!browser.isConnected()) browser = await launch(FIDELITY_ARGS);
    }
    rows.push(row);
    const fmt = (x) => (x === null ? '   -   ' : pct(x).padStart(7));
    const outside = row.excluded ? `  outside rule boxes ${fmt(row.keyframeOutside)} ${fmt(row.workloadOutside)} (boxes ${row.excluded.map((x) => (x === null ? '-' : pct(x))).join('/')})` : '';
    console.log(`${name.slice(0, 16)}  keyframe ${fmt(row.keyframe)}  workload ${fmt(row.workload)}${outside}${row.withheld ? `  withheld ${row.withheld.join('/')}` : ''}${row.error ? `  ERROR ${row.error}` : ''}`);
  }
} finally {
  await browser.close();
  await server.close();
  await thirdParty?.close();
}

const passesOn = (k, w) => (r) => r[k] !== null && r[k] >= PAGE_BAR && (batches === 0 || (r[w] !== null && r[w] >= PAGE_BAR));
const passes = passesOn('keyframe', 'workload');
const passesOutside = passesOn('keyframeOutside', 'workloadOutside');
const passed = rows.filter(passes).length;
const passedOutside = rows.filter(passesOutside).length;
const share = passed / rows.length;
const below = rows.filter((r) => !passes(r) || !passesOutside(r));
const seconds = Math.round((Date.now() - started) / 1000);
const setting = `(seed ${seed}, ${parserShapes ? 'parser shapes' : 'every shape'}, other hosts' iframes ${thirdParty === null ? 'refused' : 'served from a second port'})`;
console.log(`\n${passed} of ${rows.length} pages (${pct(share)}) have >= ${pct(PAGE_BAR)} identical pixels after the keyframe and after ${batches} workload batches ${setting}; bar ${pct(CORPUS_BAR)} of pages; ${seconds} s`);
console.log(`${passedOutside} of ${rows.length} pages (${pct(passedOutside / rows.length)}) have >= ${pct(PAGE_BAR)} identical pixels outside the boxes of rule-replaced elements (blocked, masked, cross-origin iframes), at both stages`);
const f = (x) => (x === null || x === undefined ? '-' : pct(x));
for (const r of below) console.log(`  below: ${r.page.slice(0, 16)} keyframe ${f(r.keyframe)} workload ${f(r.workload)}; outside rule boxes ${f(r.keyframeOutside)} ${f(r.workloadOutside)} (boxes ${r.excluded ? r.excluded.map(f).join('/') : '-'})${r.error ? ` ${r.error}` : ''}`);
await mkdir(ARTIFACTS, { recursive: true });
await writeFile(path.join(ARTIFACTS, 'summary.json'), JSON.stringify({ seed, batches, ops, parserShapes, thirdParty: thirdParty !== null, passed, passedOutside, pages: rows.length, seconds, rows }, null, 1));
process.exit(share >= CORPUS_BAR ? 0 : 1);
