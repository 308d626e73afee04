// Form state without a poll: the capture reads the state of the controls that input, change
// and reset events, script writes (value/checked/selected/selectedIndex setters, stepUp,
// setRangeText) and attribute or child edits marked, with the controls that change with
// them (a radio group, a select's options). After each kind of change, the mirror equals the
// page, form state included (dom-dump.js writes it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, loadHelpers, startCapture, takeFrames, startReplayer,
  applyFrames, snapshotState, checkMirror,
} from './harness.mjs';

const PAGE = `<!DOCTYPE html><html><head><title>forms</title></head><body><form id="f">
<input id="t" value="start"><input id="n" type="number" value="1"><textarea id="ta">text</textarea>
<input id="c" type="checkbox"><input id="r1" type="radio" name="g" checked><input id="r2" type="radio" name="g">
<select id="s"><option id="o1">one</option><option id="o2" selected>two</option><option id="o3">three</option></select>
</form></body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/forms.html': PAGE });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


// Each step changes form state without a mutation; none dispatches an event but the last.
const STEPS = [
  ['value setter', `document.getElementById('t').value = 'typed'`],
  ['checked setter', `document.getElementById('c').checked = true`],
  ['a radio checked unchecks its group', `document.getElementById('r2').checked = true`],
  ['selectedIndex', `document.getElementById('s').selectedIndex = 0`],
  ['option.selected', `document.getElementById('o3').selected = true`],
  ['select.value', `document.getElementById('s').value = 'two'`],
  ['textarea value', `document.getElementById('ta').value = 'new text'`],
  ['stepUp', `document.getElementById('n').stepUp(5)`],
  ['setRangeText', `document.getElementById('t').setRangeText('XY', 0, 2)`],
  ['the value attribute of a clean control', `document.getElementById('n').setAttribute('value', '40')`],
  ['form.reset()', `document.getElementById('f').reset()`],
  ['typing (input events)', null],
];

test('form state changed by script, attributes, reset and typing reaches the mirror after each batch', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/t/forms.html`, { waitUntil: 'load' });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    await startCapture(customer);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    for (const [what, js] of STEPS) {
      if (js === null) await customer.type('#t', 'keys', { delay: 5 });
      else await customer.evaluate(js);
      const frames = await takeFrames(customer);
      // Typing with a delay lets animation-frame batches run between keys: a delta each.
      if (js === null) assert.ok(frames.length >= 1, `${what}: deltas`);
      else assert.equal(frames.length, 1, `${what}: one delta`);
      assert.deepEqual(await applyFrames(agent, frames), frames.map(() => ({ ok: true })), what);
      checkMirror(await snapshotState(customer, agent), what, { samePage: true });
    }
  } finally {
    await cctx.close();
    await actx.close();
  }
});
