// Same-origin iframes: the capture nests each readable iframe's document under its iframe
// (frames.ts), observes it like the top document (mutations, form input, CSSOM, navigation,
// nested iframes, removal), and the replayer fills the mirror iframe's own about:blank document
// without loading the customer's URL. Checked after every batch: the mirror's DOM (nested
// documents included, attributes in order) equals the page, and the fingerprints agree.
// Privacy: canaries typed into a password and a masked field inside an iframe never appear in
// any frame. Hostile content inside an iframe runs nothing in the mirror.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, loadHelpers, startCapture, takeFrames, startReplayer,
  applyFrames, snapshotState, checkMirror,
} from './harness.mjs';

const TOP = `<!DOCTYPE html><html><head><title>top</title></head><body>
<p id="top">top text</p><iframe id="f1" src="/t/inner.html" title="one" style="width:300px;height:200px"></iframe>
</body></html>`;
const INNER = `<!DOCTYPE html><html><head><style id="s">p { color: rgb(1, 2, 3) }</style></head><body>
<p id="para" class="a">inner text</p><input id="name" value="start"><input id="pw" type="password">
<input id="card" class="secret"><iframe id="f2" src="/t/deep.html"></iframe>
</body></html>`;
const DEEP = `<!DOCTYPE html><html><head></head><body><b id="deep">deep text</b></body></html>`;
const OTHER = `<!DOCTYPE html><html><head></head><body><h1 id="nav">navigated</h1></body></html>`;
const HOSTILE = `<!DOCTYPE html><html><head></head><body>
<img src="/none.png" onerror="top.__hits && top.__hits.push('onerror')">
<a id="js" href="javascript:top.__hits.push('js-url')">x</a>
<svg><animate attributeName="href" to="javascript:top.__hits.push('smil')"/></svg>
<iframe id="deeper" srcdoc="&lt;script&gt;top.__hits.push('srcdoc')&lt;/script&gt;"></iframe>
<form><math><mtext><table><mglyph><style><img src=x onerror="top.__hits.push('mxss')"></style></mglyph></table></mtext></math></form>
</body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({
    '/t/top.html': TOP,
    '/t/inner.html': INNER,
    '/t/deep.html': DEEP,
    '/t/other.html': OTHER,
    '/t/hostile-top.html': TOP.replace('/t/inner.html', '/t/hostile.html'),
    '/t/hostile.html': HOSTILE,
    '/t/widget.html': `<!DOCTYPE html><html><head></head><body><div data-cobrowse-widget=""><iframe id="w" src="/t/deep.html"></iframe></div><iframe id="f" src="/t/deep.html"></iframe></body></html>`,
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


async function open(path, rules) {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  const customer = await cctx.newPage();
  const agent = await actx.newPage();
  await customer.goto(`${server.base}${path}`, { waitUntil: 'load' });
  await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
  await loadHelpers(customer, server.base);
  await loadHelpers(agent, server.base);
  await startReplayer(agent);
  await startCapture(customer, rules);
  return { customer, agent, close: async () => { await cctx.close(); await actx.close(); } };
}

test('same-origin iframes (and one inside) are captured, followed and replayed, after every batch', async () => {
  const { customer, agent, close } = await open('/t/top.html');
  try {
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    let state = await snapshotState(customer, agent);
    checkMirror(state, 'keyframe');
    assert.match(state.a.dom, /deep text/, 'the nested iframe document is in the mirror');
    assert.match(state.a.dom, /<iframe id="f1" src="http:\/\/127\.0\.0\.1:\d+\/t\/inner\.html" title="one"/);
    const inner = "document.getElementById('f1').contentDocument";
    const steps = [
      ['text inside the iframe', `${inner}.getElementById('para').firstChild.data = 'changed'`],
      ['attribute inside the iframe', `${inner}.getElementById('para').setAttribute('title', 't')`],
      ['insert inside the iframe', `${inner}.body.insertBefore(${inner}.createElement('hr'), ${inner}.body.firstChild)`],
      ['input value inside the iframe', `${inner}.getElementById('name').value = 'typed'`],
      ['CSSOM insertRule inside the iframe', `${inner}.getElementById('s').sheet.insertRule('b { color: rgb(4, 5, 6) }', 1)`],
      ['text in the nested iframe', `${inner}.getElementById('f2').contentDocument.getElementById('deep').textContent = 'deeper'`],
      ['scroll inside the iframe', `${inner}.body.style.height = '3000px'; ${inner}.scrollingElement.scrollTop = 40`],
      ['iframe navigated', `new Promise((r) => { const f = document.getElementById('f1'); f.addEventListener('load', r, { once: true }); f.src = '/t/other.html'; })`],
      ['change after navigation', `${inner}.getElementById('nav').textContent = 'after navigation'`],
      ['iframe inserted', `new Promise((r) => { const f = document.createElement('iframe'); f.id = 'f3'; f.addEventListener('load', r, { once: true }); f.src = '/t/deep.html'; document.body.appendChild(f); })`],
      // Moving an iframe reloads it: the batch after its load.
      ['iframe moved', `new Promise((r) => { const f = document.getElementById('f3'); f.addEventListener('load', r, { once: true }); document.body.insertBefore(f, document.body.firstChild); })`],
      ['iframe removed', `document.getElementById('f1').remove()`],
    ];
    for (const [what, js] of steps) {
      await customer.evaluate(js);
      const frames = await takeFrames(customer);
      assert.ok(frames.length > 0, `${what}: a frame`);
      assert.ok((await applyFrames(agent, frames)).every((r) => r.ok), what);
      state = await snapshotState(customer, agent);
      checkMirror(state, what);
      if (what === 'CSSOM insertRule inside the iframe') {
        const color = await agent.evaluate(() => {
          const d = document.getElementById('mirror').contentDocument.getElementById('f1')[Symbol.for('cobrowse.frameDocument')];
          const b = d.createElement('b');
          d.body.appendChild(b);
          const c = getComputedStyle(b).color;
          b.remove();
          return c;
        });
        assert.equal(color, 'rgb(4, 5, 6)', 'the inserted rule applies inside the mirror iframe');
      }
      if (what === 'scroll inside the iframe') {
        const y = await agent.evaluate(() => document.getElementById('mirror').contentDocument.getElementById('f1')[Symbol.for('cobrowse.frameDocument')].scrollingElement.scrollTop);
        assert.equal(y, 40, 'the iframe document scrolls in the mirror');
      }
    }
    assert.match(state.a.dom, /deep text/, 'the moved iframe shows its document');
    const stats = await customer.evaluate(() => ({ ...globalThis.__cap.stats(), watched: globalThis.__cap.frameWatch.size }));
    assert.equal(stats.refusedBatches, 0);
    assert.equal(stats.fallbackKeyframes, 0);
    assert.equal(stats.engineHandles, stats.pageHandles);
    assert.equal(stats.watched, 1, 'only the remaining iframe document is watched');
  } finally {
    await close();
  }
});

test('an iframe\'s controls are read when marked, not polled at every batch: script writes, stepUp and a reset reach the mirror', async () => {
  const { customer, agent, close } = await open('/t/top.html');
  try {
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const inner = "document.getElementById('f1').contentDocument";
    // Counts the iframe document's control lookups during a batch of an unrelated edit.
    const lookups = await customer.evaluate(`(() => {
      const d = ${inner};
      const orig = d.getElementsByTagName;
      let n = 0;
      d.getElementsByTagName = function (...a) { n++; return orig.apply(this, a); };
      try {
        document.getElementById('top').setAttribute('title', 'unrelated');
        globalThis.__cap.flush();
      } finally {
        delete d.getElementsByTagName;
      }
      return n;
    })()`);
    assert.equal(lookups, 0, 'no control of the iframe is looked up for an unrelated edit');
    assert.ok((await applyFrames(agent, await takeFrames(customer, false))).every((r) => r.ok));
    const value = (id) => agent.evaluate((id) => document.getElementById('mirror').contentDocument.getElementById('f1')[Symbol.for('cobrowse.frameDocument')].getElementById(id).value, id);
    for (const [what, js, id, expected] of [
      ['value set by script', `${inner}.getElementById('name').value = 'by script'`, 'name', 'by script'],
      ['input made a number and stepped up', `(() => { const i = ${inner}.createElement('input'); i.id = 'num'; i.type = 'number'; i.value = '4'; ${inner}.body.appendChild(i); })()`, 'num', '4'],
      ['stepUp', `${inner}.getElementById('num').stepUp()`, 'num', '5'],
      ['a form around the controls, then reset', `(() => { const d = ${inner}; const f = d.createElement('form'); f.id = 'form'; d.body.appendChild(f); f.append(d.getElementById('name'), d.getElementById('num')); f.reset(); })()`, 'name', 'start'],
    ]) {
      await customer.evaluate(js);
      const frames = await takeFrames(customer);
      assert.ok((await applyFrames(agent, frames)).every((r) => r.ok), what);
      checkMirror(await snapshotState(customer, agent), what);
      assert.equal(await value(id), expected, what);
    }
  } finally {
    await close();
  }
});

test('canaries typed into a password and a masked field inside an iframe never appear in a frame', async () => {
  const { customer, agent, close } = await open('/t/top.html', { mask: { selectors: ['.secret'] } });
  try {
    const all = [...(await takeFrames(customer, false))];
    const f = customer.frameLocator('#f1');
    await f.locator('#pw').pressSequentially('CANARYPW7731');
    all.push(...(await takeFrames(customer)));
    await f.locator('#card').pressSequentially('CANARYCARD4419');
    all.push(...(await takeFrames(customer)));
    const results = await applyFrames(agent, all);
    assert.ok(results.every((r) => r.ok));
    checkMirror(await snapshotState(customer, agent), 'after typing');
    const bytes = Buffer.concat(all.map((b) => Buffer.from(b, 'base64'))).toString('latin1');
    for (const canary of ['CANARYPW', 'CANARYCARD', '7731', '4419']) {
      assert.ok(!bytes.includes(canary), `${canary} in a frame`);
    }
    const shown = await agent.evaluate(() => {
      const d = document.getElementById('mirror').contentDocument.getElementById('f1')[Symbol.for('cobrowse.frameDocument')];
      return [d.getElementById('pw').value, d.getElementById('card').value];
    });
    assert.deepEqual(shown, ['************', '**************']);
  } finally {
    await close();
  }
});

test('hostile content inside an iframe runs nothing in the mirror and the mirror loads no customer URL', async () => {
  const { customer, agent, close } = await open('/t/hostile-top.html');
  try {
    const msgs = [];
    agent.on('console', (m) => msgs.push(m.text()));
    agent.on('dialog', (d) => { msgs.push(`dialog ${d.message()}`); d.dismiss(); });
    await agent.evaluate(() => {
      globalThis.__hits = [];
      globalThis.alert = () => globalThis.__hits.push('alert');
    });
    const seen = server.requests.length;
    assert.ok((await applyFrames(agent, await takeFrames(customer, false))).every((r) => r.ok));
    checkMirror(await snapshotState(customer, agent), 'keyframe');
    // Clicks on what is left of the payloads.
    await agent.evaluate(() => {
      const d = document.getElementById('mirror').contentDocument.getElementById('f1')[Symbol.for('cobrowse.frameDocument')];
      for (const el of d.querySelectorAll('a, img, svg')) el.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await agent.evaluate(() => globalThis.__hits), []);
    assert.deepEqual(msgs.filter((m) => /dialog|__hits|alert/.test(m)), []);
    const later = server.requests.slice(seen);
    assert.deepEqual(later.filter((p) => p.startsWith('/t/')), [], 'the mirror loaded a customer page');
    const srcs = await agent.evaluate(() => {
      const f = document.getElementById('mirror').contentDocument.getElementById('f1');
      // A no-quirks content document shows in the replayer's shell of that mode: a blob URL of
      // the agent page's origin (the browser's about:blank is in quirks mode).
      const url = f[Symbol.for('cobrowse.frameDocument')].URL;
      return [f.getAttribute('src'), f.hasAttribute('data-cobrowse-src'), url.startsWith(`blob:${location.origin}/`)];
    });
    assert.deepEqual(srcs, [null, true, true]);
  } finally {
    await close();
  }
});

test("an iframe inside the widget is never captured; a page's own one is", async () => {
  const { customer, agent, close } = await open('/t/widget.html');
  try {
    const frames = await takeFrames(customer, false);
    assert.ok((await applyFrames(agent, frames)).every((r) => r.ok));
    const state = await snapshotState(customer, agent);
    checkMirror(state, 'keyframe');
    const docs = await customer.evaluate(() => globalThis.__cap.frameWatch.documents().map((d) => d === document.getElementById('f').contentDocument));
    assert.deepEqual(docs, [true], "only the page's own iframe document is watched");
    const own = /<iframe id="f"[^\n]*\n\s*#document/.test(state.c.dom);
    const widget = /<iframe id="w"[^\n]*\n\s*#document/.test(state.c.dom);
    assert.deepEqual([own, widget], [true, false]);
  } finally {
    await close();
  }
});

test("an iframe's URL keeps its place; a loading or cross-origin iframe's about:blank is no content document", async () => {
  const { customer, agent, close } = await open('/t/widget.html');
  // The mirror's iframe `x` as the page has it: whether it shows a document, and its attributes
  // in order as the agent's DOM holds them (a hosted iframe's URL is renamed, not moved).
  const mirrorFrame = () => agent.evaluate(() => {
    const x = document.getElementById('mirror').contentDocument.getElementById('x');
    return x === null ? null : { attrs: [...x.attributes].map((a) => a.name), hosted: x[Symbol.for('cobrowse.frameDocument')] !== undefined };
  });
  // `before load`: the change and the flush run in one task, so the frame shows the iframe
  // before it loads; the page moves on once it has loaded, so only the mirror's iframe is checked.
  const step = async (what, js, expected, beforeLoad = false) => {
    let frames;
    if (beforeLoad) {
      frames = await customer.evaluate((js) => {
        new Function(js)();
        globalThis.__cap.flush();
        const f = globalThis.__frames;
        globalThis.__frames = [];
        return f;
      }, js);
    } else {
      await customer.evaluate(js);
      frames = await takeFrames(customer);
    }
    assert.ok((await applyFrames(agent, frames)).every((r) => r.ok), what);
    if (!beforeLoad) checkMirror(await snapshotState(customer, agent), what);
    assert.deepEqual(await mirrorFrame(), expected, what);
  };
  try {
    assert.ok((await applyFrames(agent, await takeFrames(customer, false))).every((r) => r.ok));
    // Inserted and flushed before it loads: its initial about:blank is not its document.
    await step(
      'inserted, not loaded yet',
      `{ const x = document.createElement('iframe'); x.setAttribute('src', '/t/deep.html'); x.id = 'x'; x.title = 't'; document.body.appendChild(x); }`,
      { attrs: ['src', 'id', 'title'], hosted: false },
      true,
    );
    // Loaded: the same-origin document arrives; `src` keeps its place under its hosted name.
    await step(
      'loaded',
      `new Promise((r) => { const x = document.getElementById('x'); if (x.contentDocument?.getElementById('deep')) r(); else x.addEventListener('load', r, { once: true }); })`,
      { attrs: ['data-cobrowse-src', 'id', 'title'], hosted: true },
    );
    // Navigated to another origin (a refused port): the document leaves, the URL is `src` again,
    // in its place.
    await step(
      'navigated to another origin',
      `new Promise((r) => { const x = document.getElementById('x'); x.addEventListener('load', r, { once: true }); x.src = 'http://127.0.0.1:1/'; })`,
      { attrs: ['src', 'id', 'title'], hosted: false },
    );
    // Moved: a cross-origin iframe shows a same-origin about:blank while it reloads; not captured.
    await step(
      'cross-origin iframe moved, not reloaded yet',
      `document.body.insertBefore(document.getElementById('x'), document.body.firstChild)`,
      { attrs: ['src', 'id', 'title'], hosted: false },
      true,
    );
    // Reloaded (the refused port's error page): still no content document, mirror equal.
    await step(
      'cross-origin iframe reloaded after the move',
      `new Promise((r) => { const x = document.getElementById('x'); if (x.contentDocument === null) r(); else x.addEventListener('load', r, { once: true }); })`,
      { attrs: ['src', 'id', 'title'], hosted: false },
    );
  } finally {
    await close();
  }
});
