// The demo bank's one script for co-browsing: the widget, with the bank's privacy rules.
import { startWidget } from '/dist/cobrowse-widget.js';

const here = location.hostname;
window.cobrowse = startWidget({
  relay: location.origin,
  rules: {
    mask: { selectors: ['#full-name', '#email', '#ssn', '#card-number', '.private'] },
    block: { selectors: ['iframe.third-party'] },
    disable: { submit_buttons: true, selectors: ['.agent-disabled'] },
  },
  allowedDomains: [here],
});

// The page "outside the allowed domains": the same files under the other loopback name.
const other = here === 'localhost' ? '127.0.0.1' : 'localhost';
for (const a of document.querySelectorAll('a.outside')) {
  a.href = `${location.protocol}//${other}:${location.port}/demo/partner.html`;
}

// Multi-page form: values stay in this tab (never in a URL), the form moves to `next`.
for (const form of document.querySelectorAll('form[data-next]')) {
  for (const el of form.elements) {
    const saved = sessionStorage.getItem(`bank.${el.name}`);
    if (el.name && saved !== null && el.type !== 'password') el.value = saved;
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const el of form.elements) {
      if (el.name && el.type !== 'password') sessionStorage.setItem(`bank.${el.name}`, el.value);
    }
    document.body.dataset.submitted = String(Number(document.body.dataset.submitted || 0) + 1);
    location.href = form.dataset.next;
  });
}
for (const out of document.querySelectorAll('[data-show]')) {
  out.textContent = sessionStorage.getItem(`bank.${out.dataset.show}`) ?? '';
}
