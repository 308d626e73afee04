// Agent actions replayed on the customer's real page. Only called after the engine's
// permission check (`checkAction`) allowed the action against the live DOM: this module does
// what the action says and nothing else.

import type { Msg } from '../session/protocol.js';

/** Sets a form control's value as typing would (the framework's setters see it). */
export function setValue(el: Element, value: string): void {
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
    const proto = el instanceof HTMLInputElement ? HTMLInputElement.prototype : HTMLTextAreaElement.prototype;
    const setter = Object.getOwnPropertyDescriptor(proto, 'value')?.set;
    if (setter !== undefined) setter.call(el, value);
    else el.value = value;
  } else if (el instanceof HTMLSelectElement) {
    el.value = value;
  } else if (el instanceof HTMLElement && el.isContentEditable) {
    el.textContent = value;
  } else {
    return;
  }
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

/** A click as a pointer would make it, at `x`,`y` inside `el`. */
export function click(el: Element, x: number, y: number): void {
  const r = el.getBoundingClientRect();
  const init = { bubbles: true, cancelable: true, composed: true, clientX: r.left + x, clientY: r.top + y, view: window };
  if (el instanceof HTMLElement) el.focus({ preventScroll: true });
  el.dispatchEvent(new PointerEvent('pointerdown', init));
  el.dispatchEvent(new MouseEvent('mousedown', init));
  el.dispatchEvent(new PointerEvent('pointerup', init));
  el.dispatchEvent(new MouseEvent('mouseup', init));
  if (el instanceof HTMLElement) el.click();
  else el.dispatchEvent(new MouseEvent('click', init));
}

/** Submits the form of `el` (a form or a submit button). */
export function submit(el: Element): void {
  const form = el instanceof HTMLFormElement ? el : (el as HTMLButtonElement).form ?? el.closest('form');
  if (form === null) return;
  const submitter = el instanceof HTMLButtonElement || el instanceof HTMLInputElement ? el : undefined;
  form.requestSubmit(submitter as HTMLElement | undefined);
}

/** Scrolls the document (`el` null) or an element. */
export function scroll(el: Element | null, x: number, y: number): void {
  if (el === null || el === document.documentElement || el === document.scrollingElement) window.scrollTo(x, y);
  else el.scrollTo(x, y);
}

/** Navigates as the agent asked (`{ Url }`, `"Back"`, `"Forward"`, `"Reload"`). */
export function navigate(to: Msg['to']): void {
  if (to === 'Back') history.back();
  else if (to === 'Forward') history.forward();
  else if (to === 'Reload') location.reload();
  else if (to !== null && typeof to === 'object' && 'Url' in to) location.assign(String((to as { Url: string }).Url));
}
