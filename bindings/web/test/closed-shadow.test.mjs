// Closed shadow roots (top level and inside a same-origin iframe), adopted sheets of an iframe's
// document and of a shadow root inside it, and CSSOM edits there (shadows.ts, sheets.ts,
// frames.ts). The page keeps its own references to its closed roots (`__roots`, host ->
// root, as a component would): the expected content is read through them, independently of the
// capture. Checked after every step: the engine's trees, the fingerprints and the mirror's DOM
// agree (attributes in order), every shadow root of the page (closed ones included) has the
// same content in the mirror, every adopter's adopted rules are the mirror's, and the adopted
// rules apply there (computed colours). Canaries typed into a password field inside a closed
// root (top level and in the iframe) never appear in any frame.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, loadHelpers, startCapture, takeFrames, startReplayer,
  applyFrames, snapshotState, firstDiff, checkMirror,
} from './harness.mjs';

const TOP = `<!DOCTYPE html><html><head><title>closed</title></head><body>
<div id="top-host">light</div><p id="after">after</p>
<iframe id="f" src="/t/closed-inner.html" style="width:400px;height:300px"></iframe>
</body></html>`;
const INNER = `<!DOCTYPE html><html><head><style id="s">p { color: rgb(1, 2, 3) }</style></head><body>
<p id="para">inner</p><div id="in-host">inner light</div>
</body></html>`;
const OTHER = `<!DOCTYPE html><html><head></head><body><h1 id="nav">navigated</h1><div id="nav-host"></div></body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/closed-top.html': TOP, '/t/closed-inner.html': INNER, '/t/closed-other.html': OTHER });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


/**
 * The shadow roots of a document and of its nested iframe documents, as lines: the path of the
 * host, then its root's tree (tag, attributes in order, text, form values), then the rules of
 * its own sheets and of its adopted ones (the same for each document); the capture's stand-ins (shadow templates, adopted-sheet styles) are left out and the
 * adopted rules are read from them in the mirror. `rootOf(host)` gives a host's root (the
 * page's own references for closed ones). Evaluated in a page.
 */
function shadowView(doc, mirror) {
  const out = [];
  const frameDoc = (el) => {
    if (mirror) return el[Symbol.for('cobrowse.frameDocument')] ?? null;
    try {
      return el.contentDocument;
    } catch {
      return null;
    }
  };
  const rootOf = (el) => el.shadowRoot ?? (mirror ? null : el.ownerDocument.defaultView.__roots?.get(el)) ?? null;
  const isStandIn = (n) => n.nodeType === 1 && (n.hasAttribute('data-cobrowse-shadow') || n.hasAttribute('data-cobrowse-adopted'));
  const rules = (sheets) => sheets.flatMap((s) => Array.from(s.cssRules, (r) => r.cssText));
  // The rules of the sheets of a document's or a root's own style elements and links (the
  // mirror's adopted-sheets stand-ins are read by `adopted`).
  const own = (r) => rules(Array.from(r.styleSheets).filter((sh) => !sh.ownerNode?.hasAttribute?.('data-cobrowse-adopted')));
  const adopted = (adopter) => {
    if (!mirror) return rules(adopter.adoptedStyleSheets);
    const parent = adopter.nodeType === 9 ? adopter.documentElement : adopter;
    const last = parent?.lastElementChild;
    return last && last.hasAttribute('data-cobrowse-adopted') ? rules([last.sheet]) : [];
  };
  const tree = (root, depth, lines) => {
    for (let c = root.firstChild; c !== null; c = c.nextSibling) {
      if (isStandIn(c)) continue;
      if (c.nodeType === 3) lines.push(`${'  '.repeat(depth)}"${c.data}"`);
      if (c.nodeType !== 1) continue;
      // The replayer's view flags (replay.ts FLAG_ATTRS) are not the page's.
      const attrs = Array.from(c.attributes).filter((a) => !(mirror && /^data-cobrowse-(masked|blocked|disabled)$/.test(a.name))).map((a) => ` ${a.name}="${a.value}"`).join('');
      const value = c.localName === 'input' && c.value !== c.defaultValue ? ` :value="${c.value}"` : '';
      lines.push(`${'  '.repeat(depth)}<${c.localName}${attrs}${value}>`);
      tree(c, depth + 1, lines);
    }
  };
  const walkDoc = (d, path) => {
    out.push(`${path} document sheets ${JSON.stringify(own(d))} adopted ${JSON.stringify(adopted(d))}`);
    const walk = (root, where) => {
      for (const el of root.querySelectorAll('*')) {
        const id = `${where}/${el.id || el.localName}`;
        const r = rootOf(el);
        if (r !== null) {
          const lines = [];
          tree(r, 1, lines);
          out.push(`${id} root`, ...lines, `${id} sheets ${JSON.stringify(own(r))} adopted ${JSON.stringify(adopted(r))}`);
          walk(r, id);
        }
        if (el.localName === 'iframe') {
          const fd = frameDoc(el);
          if (fd) walkDoc(fd, id);
        }
      }
    };
    walk(d, path);
  };
  walkDoc(doc, '');
  return out.join('\n');
}

/** Computed colours of the probes (elements with a `data-probe` attribute) in every root and
 * document, in order. Evaluated in a page. */
function probeColors(doc, mirror) {
  const out = [];
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.hasAttribute('data-probe')) out.push(`${el.getAttribute('data-probe')}=${el.ownerDocument.defaultView.getComputedStyle(el).color}`);
      const r = el.shadowRoot ?? (mirror ? null : el.ownerDocument.defaultView.__roots?.get(el)) ?? null;
      if (r) visit(r);
      if (el.localName === 'iframe') {
        const fd = mirror ? el[Symbol.for('cobrowse.frameDocument')] : el.contentDocument;
        if (fd) visit(fd);
      }
    }
  };
  visit(doc);
  return out;
}

const MIRROR = "document.getElementById('mirror').contentDocument";

test('closed shadow roots, adopted sheets and CSSOM edits inside a same-origin iframe are mirrored, after every step', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/t/closed-top.html`, { waitUntil: 'load' });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    // After the package loaded (its hook): a closed root the page keeps for itself.
    await customer.evaluate(() => {
      globalThis.__roots = new Map();
      const host = document.getElementById('top-host');
      const root = host.attachShadow({ mode: 'closed' });
      __roots.set(host, root);
      root.innerHTML = '<style>b { color: rgb(7, 8, 9) }</style><b id="in" data-probe="top-b">closed content</b><input id="pw" type="password"><slot></slot>';
    });
    assert.equal(await customer.evaluate(() => document.getElementById('top-host').shadowRoot), null, 'the page still sees no root');
    await startReplayer(agent);
    await startCapture(customer);
    const all = [];
    const step = async (what) => {
      const frames = await takeFrames(customer);
      all.push(...frames);
      assert.ok((await applyFrames(agent, frames)).every((r) => r.ok), what);
      checkMirror(await snapshotState(customer, agent), what);
      const c = await customer.evaluate(`(${shadowView.toString()})(document, false)`);
      const a = await agent.evaluate(`(${shadowView.toString()})(${MIRROR}, true)`);
      assert.equal(firstDiff(a, c), null, `${what}: shadow roots and adopted rules (mirror vs page)`);
      const cc = await customer.evaluate(`(${probeColors.toString()})(document, false)`);
      const ac = await agent.evaluate(`(${probeColors.toString()})(${MIRROR}, true)`);
      assert.deepEqual(ac, cc, `${what}: computed colours`);
      return { c, cc };
    };
    let seen = await step('keyframe');
    assert.match(seen.c, /\/top-host root\n {2}<style>\n {4}"b \{ color: rgb\(7, 8, 9\) \}"\n {2}<b id="in" data-probe="top-b">/);
    assert.deepEqual(seen.cc, ['top-b=rgb(7, 8, 9)']);

    const inner = "document.getElementById('f').contentDocument";
    const steps = [
      ['text inside a closed root', () => { __roots.get(document.getElementById('top-host')).getElementById('in').firstChild.data = 'changed'; }],
      ['closed root attached after the keyframe, nested in the closed one', () => {
        const r = __roots.get(document.getElementById('top-host'));
        const host = document.createElement('span');
        host.id = 'nested';
        r.appendChild(host);
        const nr = host.attachShadow({ mode: 'closed' });
        __roots.set(host, nr);
        nr.innerHTML = '<u>nested closed</u>';
      }],
      ['closed root in the iframe', () => {
        const d = document.getElementById('f').contentDocument;
        const w = d.defaultView;
        w.__roots = new Map();
        const host = d.getElementById('in-host');
        const r = host.attachShadow({ mode: 'closed' });
        w.__roots.set(host, r);
        r.innerHTML = '<i id="ii" data-probe="frame-i">in frame closed</i><input id="fpw" type="password"><p data-probe="frame-root-p">p in root</p>';
      }],
      ['attribute inside the iframe closed root', () => {
        const d = document.getElementById('f').contentDocument;
        d.defaultView.__roots.get(d.getElementById('in-host')).getElementById('ii').setAttribute('title', 't');
      }],
      ['adopted sheet on the iframe document', () => {
        const d = document.getElementById('f').contentDocument;
        const s = new d.defaultView.CSSStyleSheet();
        s.replaceSync('#para { color: rgb(4, 5, 6) }');
        d.defaultView.__docSheet = s;
        d.getElementById('para').setAttribute('data-probe', 'frame-para');
        d.adoptedStyleSheets = [s];
      }],
      ['adopted sheet on the closed root inside the iframe', () => {
        const d = document.getElementById('f').contentDocument;
        const s = new d.defaultView.CSSStyleSheet();
        s.replaceSync('i { color: rgb(10, 20, 30) }');
        d.defaultView.__rootSheet = s;
        d.defaultView.__roots.get(d.getElementById('in-host')).adoptedStyleSheets = [s];
      }],
      ['insertRule on the iframe document adopted sheet', () => {
        document.getElementById('f').contentDocument.defaultView.__docSheet.insertRule('#para { color: rgb(40, 50, 60) }', 1);
      }],
      ['insertRule on the shadow root adopted sheet', () => {
        document.getElementById('f').contentDocument.defaultView.__rootSheet.insertRule('p { color: rgb(11, 22, 33) }', 0);
      }],
      ['deleteRule on the shadow root adopted sheet', () => {
        document.getElementById('f').contentDocument.defaultView.__rootSheet.deleteRule(1);
      }],
      ['replaceSync on the iframe document adopted sheet', () => {
        document.getElementById('f').contentDocument.defaultView.__docSheet.replaceSync('#para { color: rgb(70, 80, 90) }');
      }],
      ['insertRule and deleteRule on the iframe style element', () => {
        const d = document.getElementById('f').contentDocument;
        const sheet = d.getElementById('s').sheet;
        sheet.insertRule('#para { background-color: rgb(1, 1, 1) }', 1);
        sheet.insertRule('h2 { color: red }', 0);
        sheet.deleteRule(0);
      }],
      ['a sheet pushed in place onto the shadow root list (no setter)', () => {
        const d = document.getElementById('f').contentDocument;
        const s = new d.defaultView.CSSStyleSheet();
        s.replaceSync('i { color: rgb(99, 98, 97) }');
        d.defaultView.__roots.get(d.getElementById('in-host')).adoptedStyleSheets.push(s);
      }],
      ['the iframe document adopted list emptied', () => { document.getElementById('f').contentDocument.adoptedStyleSheets = []; }],
      ['closed host in the top document removed', () => document.getElementById('top-host').remove()],
    ];
    for (const [what, fn] of steps) {
      await customer.evaluate(`(${fn.toString()})()`);
      await step(what);
    }
    seen = await step('after the steps');
    assert.match(seen.c, /\/f\/in-host root\n {2}<i id="ii" data-probe="frame-i" title="t">/);
    assert.deepEqual(seen.cc, ['frame-para=rgb(1, 2, 3)', 'frame-i=rgb(99, 98, 97)', 'frame-root-p=rgb(11, 22, 33)']);

    // Navigation: the new document's window is hooked when it is watched.
    await customer.evaluate(() => { document.getElementById('f').src = '/t/closed-other.html'; });
    await customer.waitForFunction(() => document.getElementById('f').contentDocument?.getElementById('nav') != null);
    await step('iframe navigated');
    await customer.evaluate(() => {
      const d = document.getElementById('f').contentDocument;
      const w = d.defaultView;
      w.__roots = new Map();
      const host = d.getElementById('nav-host');
      const r = host.attachShadow({ mode: 'closed' });
      w.__roots.set(host, r);
      r.innerHTML = '<b data-probe="nav-b">after navigation</b>';
      const s = new w.CSSStyleSheet();
      s.replaceSync('b { color: rgb(5, 5, 5) }');
      r.adoptedStyleSheets = [s];
    });
    seen = await step('closed root and adopted sheet in the navigated document');
    assert.deepEqual(seen.cc, ['nav-b=rgb(5, 5, 5)']);
    const stats = await customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.refusedBatches, 0);
    assert.equal(stats.fallbackKeyframes, 0);
    assert.equal(stats.engineHandles, stats.pageHandles);
  } finally {
    await cctx.close();
    await actx.close();
  }
});

test('canaries typed into password fields inside closed roots (top level and in an iframe) never appear in a frame', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/t/closed-top.html`, { waitUntil: 'load' });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await customer.evaluate(() => {
      globalThis.__roots = new Map();
      const host = document.getElementById('top-host');
      const root = host.attachShadow({ mode: 'closed' });
      __roots.set(host, root);
      root.innerHTML = '<input id="pw" type="password"><input id="plain">';
    });
    await startReplayer(agent);
    await startCapture(customer);
    const all = [...(await takeFrames(customer, false))];
    await customer.evaluate(() => {
      const d = document.getElementById('f').contentDocument;
      d.defaultView.__roots = new Map();
      const host = d.getElementById('in-host');
      const r = host.attachShadow({ mode: 'closed' });
      d.defaultView.__roots.set(host, r);
      r.innerHTML = '<input id="fpw" type="password">';
    });
    all.push(...(await takeFrames(customer)));
    const type = async (focus, text) => {
      await customer.evaluate(focus);
      await customer.keyboard.type(text);
      all.push(...(await takeFrames(customer)));
    };
    await type(() => __roots.get(document.getElementById('top-host')).getElementById('pw').focus(), 'CANARYTOP5521');
    await type(() => __roots.get(document.getElementById('top-host')).getElementById('plain').focus(), 'visible');
    await type(() => {
      const d = document.getElementById('f').contentDocument;
      d.defaultView.__roots.get(d.getElementById('in-host')).getElementById('fpw').focus();
    }, 'CANARYFRAME8832');
    assert.ok((await applyFrames(agent, all)).every((r) => r.ok));
    checkMirror(await snapshotState(customer, agent), 'after typing');
    const bytes = Buffer.concat(all.map((b) => Buffer.from(b, 'base64'))).toString('latin1');
    for (const canary of ['CANARYTOP', 'CANARYFRAME', '5521', '8832']) assert.ok(!bytes.includes(canary), `${canary} in a frame`);
    const shown = await agent.evaluate(() => {
      const d = document.getElementById('mirror').contentDocument;
      const top = d.getElementById('top-host').shadowRoot;
      const fd = d.getElementById('f')[Symbol.for('cobrowse.frameDocument')];
      return [top.getElementById('pw').value, top.getElementById('plain').value, fd.getElementById('in-host').shadowRoot.getElementById('fpw').value];
    });
    assert.deepEqual(shown, ['*************', 'visible', '***************']);
  } finally {
    await cctx.close();
    await actx.close();
  }
});
