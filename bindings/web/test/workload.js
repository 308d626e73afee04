// A seeded workload of DOM changes, run inside the customer page (evaluated as a plain script:
// defines globalThis.cobrowseWorkload). Every kind the issue lists: text, attributes, inserts,
// removes, moves, reorders, input values, checkboxes and selects, element and document scroll,
// an insert removed again in the same batch, CSSOM insertRule/deleteRule on <style> sheets,
// adopted constructed sheets, open shadow-root content and same-origin iframe content (the
// page's first readable iframe, or one the workload adds: text inserts, attributes, input
// values, CSSOM rules and removes inside its document). Viewport resizes come from the driver.
globalThis.cobrowseWorkload = (function () {
  const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr', 'script', 'style', 'textarea', 'title', 'template', 'select', 'option', 'iframe', 'noscript', 'svg', 'math', 'object']);
  function mulberry32(seed) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const KINDS = ['text', 'attr', 'removeAttr', 'insert', 'remove', 'move', 'reorder', 'input', 'checkbox', 'select', 'scrollDoc', 'scrollEl', 'insertRemove', 'cssInsert', 'cssDelete', 'adopt', 'shadow', 'frame'];

  /**
   * Whether the HTML parser, reading the page's markup, could have put `el` where it is: its
   * ancestors' start tags (with the page's doctype, so in the page's mode) followed by its
   * markup parse back to the same path and the same markup. Moves into a `p`, an `a` in an `a`,
   * a `div` in a `table` fail (the parser closes or fosters them; the engine's sanitizer
   * withholds such shapes from agents, see engine/src/rules/sanitize.rs).
   */
  function parserCouldPlace(el) {
    const chain = [];
    for (let a = el.parentElement; a !== null && a !== document.documentElement; a = a.parentElement) chain.unshift(a.localName);
    const dt = document.doctype;
    const ids = dt === null ? '' : dt.publicId ? ` PUBLIC "${dt.publicId}"${dt.systemId ? ` "${dt.systemId}"` : ''}` : dt.systemId ? ` SYSTEM "${dt.systemId}"` : '';
    const doctype = dt === null ? '' : `<!DOCTYPE ${dt.name}${ids}>`;
    const html = `${doctype}<html>${chain.map((n) => `<${n}>`).join('')}${el.outerHTML}`;
    const parsed = new DOMParser().parseFromString(html, 'text/html');
    let n = parsed.documentElement;
    for (const name of chain) {
      n = n.lastElementChild;
      if (n === null || n.localName !== name) return false;
    }
    const last = n.lastElementChild;
    return last !== null && last.namespaceURI === el.namespaceURI && last.outerHTML === el.outerHTML;
  }

  /**
   * Runs `opsPerBatch` seeded operations. With `parserShapes`, a move or insert that leaves an
   * element where the HTML parser could not have put it is undone (in the same batch, so the
   * page's net change is none): pages as a parser and scripts keeping to the content model make
   * them (the visual fidelity check runs this; the DOM-equality check runs every shape).
   */
  function run(seed, opsPerBatch, { parserShapes = false } = {}) {
    const keep = (el) => !parserShapes || parserCouldPlace(el);
    const rng = mulberry32(seed);
    const pick = (a) => a[Math.floor(rng() * a.length)];
    const body = document.body ?? document.documentElement;
    const all = () => Array.from(body.getElementsByTagName('*'));
    const containers = () => [body, ...all().filter((e) => !VOID.has(e.localName) && e.namespaceURI === 'http://www.w3.org/1999/xhtml')];
    const done = [];
    for (let i = 0; i < opsPerBatch; i++) {
      const kind = pick(KINDS);
      done.push(kind);
      switch (kind) {
        case 'text': {
          const w = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
          const texts = [];
          for (let n = w.nextNode(); n !== null && texts.length < 2000; n = w.nextNode()) texts.push(n);
          if (texts.length > 0) pick(texts).data = `text ${Math.floor(rng() * 1e6)}`;
          break;
        }
        case 'attr': {
          const els = all();
          if (els.length > 0) pick(els).setAttribute(pick(['data-w', 'title', 'class', 'aria-label']), `v${Math.floor(rng() * 1e6)}`);
          break;
        }
        case 'removeAttr': {
          const els = all().filter((e) => e.attributes.length > 0);
          if (els.length > 0) {
            const e = pick(els);
            e.removeAttribute(pick(Array.from(e.attributes)).name);
          }
          break;
        }
        case 'insert': {
          const p = pick(containers());
          const el = document.createElement(pick(['div', 'span', 'p', 'em', 'section']));
          el.setAttribute('class', `ins${Math.floor(rng() * 100)}`);
          el.appendChild(document.createTextNode(`inserted ${Math.floor(rng() * 1e6)}`));
          if (rng() < 0.3) {
            const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
            const c = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
            c.setAttribute('r', '3');
            c.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', '#x');
            svg.appendChild(c);
            el.appendChild(svg);
          }
          p.insertBefore(el, p.childNodes.length > 0 ? pick(Array.from(p.childNodes)) : null);
          if (!keep(el)) el.remove();
          break;
        }
        case 'remove': {
          const els = all();
          if (els.length > 5) pick(els).remove();
          break;
        }
        case 'move': {
          const els = all();
          if (els.length < 2) break;
          const x = pick(els);
          const targets = containers().filter((t) => !x.contains(t));
          if (targets.length === 0) break;
          const t = pick(targets);
          const [from, next] = [x.parentNode, x.nextSibling];
          t.insertBefore(x, t.childNodes.length > 0 ? pick(Array.from(t.childNodes)) : null);
          if (!keep(x)) from.insertBefore(x, next);
          break;
        }
        case 'reorder': {
          const ps = containers().filter((e) => e.childNodes.length >= 2);
          if (ps.length > 0) {
            const p = pick(ps);
            p.insertBefore(p.lastChild, p.firstChild);
          }
          break;
        }
        case 'input': {
          let inputs = Array.from(document.querySelectorAll('input:not([type]),input[type=text],input[type=search],input[type=email],textarea'));
          if (inputs.length === 0) {
            const el = document.createElement('input');
            body.appendChild(el);
            inputs = [el];
          }
          const el = pick(inputs);
          el.value = `typed ${Math.floor(rng() * 1e6)}`;
          el.dispatchEvent(new Event('input', { bubbles: true }));
          break;
        }
        case 'checkbox': {
          let boxes = Array.from(document.querySelectorAll('input[type=checkbox],input[type=radio]'));
          if (boxes.length === 0) {
            const el = document.createElement('input');
            el.type = 'checkbox';
            body.appendChild(el);
            boxes = [el];
          }
          const el = pick(boxes);
          el.checked = !el.checked;
          el.dispatchEvent(new Event('change', { bubbles: true }));
          break;
        }
        case 'select': {
          let selects = Array.from(document.querySelectorAll('select')).filter((s) => s.options.length > 0);
          if (selects.length === 0) {
            const s = document.createElement('select');
            for (const v of ['a', 'b', 'c']) {
              const o = document.createElement('option');
              o.textContent = v;
              s.appendChild(o);
            }
            body.appendChild(s);
            selects = [s];
          }
          const s = pick(selects);
          s.selectedIndex = Math.floor(rng() * s.options.length);
          s.dispatchEvent(new Event('change', { bubbles: true }));
          break;
        }
        case 'scrollDoc': {
          const se = document.scrollingElement;
          if (se) se.scrollTop = Math.floor(rng() * Math.max(0, se.scrollHeight - se.clientHeight));
          break;
        }
        case 'scrollEl': {
          let box = document.getElementById('cobrowse-scroll-box');
          if (box === null) {
            box = document.createElement('div');
            box.id = 'cobrowse-scroll-box';
            box.setAttribute('style', 'height:40px;overflow:auto');
            for (let k = 0; k < 20; k++) {
              const line = document.createElement('div');
              line.textContent = `line ${k}`;
              box.appendChild(line);
            }
            body.appendChild(box);
          } else {
            box.scrollTop = Math.floor(rng() * 200);
          }
          break;
        }
        case 'cssInsert': {
          let styles = Array.from(document.querySelectorAll('style')).filter((st) => st.sheet !== null);
          if (styles.length === 0) {
            const st = document.createElement('style');
            document.head?.appendChild(st) ?? body.appendChild(st);
            styles = [st];
          }
          const sheet = pick(styles).sheet;
          const n = Math.floor(rng() * 1e6);
          // A style rule cannot go before @import, @namespace (or @charset) rules.
          let first = 0;
          Array.from(sheet.cssRules).forEach((r, i) => {
            if (/^@(import|namespace|charset)\b/i.test(r.cssText)) first = i + 1;
          });
          sheet.insertRule(`.ins${n % 100} { outline-offset: ${n % 7}px }`, first + Math.floor(rng() * (sheet.cssRules.length - first + 1)));
          break;
        }
        case 'cssDelete': {
          const sheets = Array.from(document.querySelectorAll('style')).map((st) => st.sheet).filter((sh) => sh !== null && sh.cssRules.length > 0);
          if (sheets.length > 0) {
            const sheet = pick(sheets);
            sheet.deleteRule(Math.floor(rng() * sheet.cssRules.length));
          }
          break;
        }
        case 'adopt': {
          const sheet = new CSSStyleSheet();
          sheet.replaceSync(`.adopted${Math.floor(rng() * 100)} { text-indent: ${Math.floor(rng() * 9)}px }`);
          const list = document.adoptedStyleSheets;
          document.adoptedStyleSheets = list.length >= 3 ? [sheet] : [...list, sheet];
          break;
        }
        case 'shadow': {
          const host = document.getElementById('cobrowse-shadow-host');
          if (host === null) {
            const h = document.createElement('div');
            h.id = 'cobrowse-shadow-host';
            h.attachShadow({ mode: 'open' }).innerHTML = '<style>p { margin: 0 }</style><p>shadow</p><slot></slot>';
            h.textContent = 'light';
            pick(containers()).appendChild(h);
            if (!keep(h)) h.remove();
          } else if (host.shadowRoot !== null) {
            const r = host.shadowRoot;
            if (rng() < 0.5) {
              const p = document.createElement('p');
              p.textContent = `shadow ${Math.floor(rng() * 1e6)}`;
              r.insertBefore(p, r.childNodes.length > 0 ? pick(Array.from(r.childNodes)) : null);
            } else if (r.lastElementChild !== null) {
              r.lastElementChild.setAttribute('title', `s${Math.floor(rng() * 1e6)}`);
            }
          }
          break;
        }
        case 'frame': {
          let doc = null;
          for (const f of document.getElementsByTagName('iframe')) {
            try {
              if (f.contentDocument?.body) {
                doc = f.contentDocument;
                break;
              }
            } catch {
              // Cross-origin: not the workload's business.
            }
          }
          if (doc === null) {
            const f = document.createElement('iframe');
            f.id = 'cobrowse-frame';
            pick(containers()).appendChild(f);
            doc = f.contentDocument;
            if (doc?.body) doc.body.innerHTML = '<p>frame text</p><input value="frame">';
            break;
          }
          const b = doc.body;
          const n = Math.floor(rng() * 1e6);
          const r = rng();
          if (r < 0.3) {
            const p = doc.createElement(pick(['p', 'div', 'em']));
            p.textContent = `frame ${n}`;
            b.insertBefore(p, b.childNodes.length > 0 ? pick(Array.from(b.childNodes)) : null);
          } else if (r < 0.5) {
            const els = Array.from(b.getElementsByTagName('*'));
            if (els.length > 0) pick(els).setAttribute('title', `f${n}`);
          } else if (r < 0.7) {
            let input = doc.querySelector('input:not([type]),input[type=text]');
            if (input === null) {
              input = doc.createElement('input');
              b.appendChild(input);
            }
            input.value = `frame typed ${n}`;
          } else if (r < 0.85) {
            let st = doc.querySelector('style');
            if (st === null) {
              st = doc.createElement('style');
              (doc.head ?? b).appendChild(st);
            }
            if (st.sheet) st.sheet.insertRule(`.f${n % 100} { outline-offset: ${n % 5}px }`, 0);
          } else {
            const els = Array.from(b.children);
            if (els.length > 1) pick(els).remove();
          }
          break;
        }
        case 'insertRemove': {
          const p = pick(containers());
          const el = document.createElement('b');
          el.textContent = 'gone';
          p.appendChild(el);
          el.remove();
          break;
        }
      }
    }
    return done;
  }
  return { run, KINDS };
})();
