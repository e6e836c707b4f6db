/// <reference lib="dom" />
/**
 * DOM helpers of the dashboard's browser script. Every `*Kit` and `main` in this folder is one
 * self-contained function: the page embeds its compiled source (../script.ts), so it may use its
 * parameters and browser globals only, never a value import. Rendering uses DOM nodes and textContent,
 * never innerHTML, because task types, payloads and errors come from producers and must not become markup.
 */

/** A child of an element: nodes, text, lists of them, and null, undefined or false for nothing. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];
/** Attributes (`text` sets textContent; null, undefined and false leave it out) and `on…` listeners. */
export type Props = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function domKit() {
  const SVG_NS = 'http://www.w3.org/2000/svg';

  function byId<T extends HTMLElement = HTMLElement>(id: string): T {
    const el = document.getElementById(id);
    if (!el) throw new Error(`The dashboard page has no #${id}.`);
    return el as T;
  }

  const isList = (c: Child): c is readonly Child[] => Array.isArray(c);

  function add(el: Element, c: Child): void {
    if (c === null || c === undefined || c === false) return;
    if (isList(c)) {
      for (const x of c) add(el, x);
      return;
    }
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }

  function build<E extends Element>(el: E, props: Props | undefined, children: Child[]): E {
    for (const [k, v] of Object.entries(props ?? {})) {
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = String(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) add(el, c);
    return el;
  }

  function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props, ...children: Child[]) {
    return build(document.createElement(tag), props, children);
  }

  function svg<K extends keyof SVGElementTagNameMap>(tag: K, props?: Props, ...children: Child[]) {
    return build(document.createElementNS(SVG_NS, tag), props, children);
  }

  /** Replaces the element's children. */
  function fill(el: Element, ...children: Child[]): void {
    el.replaceChildren();
    for (const c of children) add(el, c);
  }

  function badge(name: string, extraClass?: string) {
    return h('span', { class: 'badge ' + (extraClass || 'st-' + name), text: name });
  }

  function toast(msg: string, ok: boolean): void {
    const t = h('div', { class: 'toast ' + (ok ? 'ok' : 'bad'), role: 'status', text: msg });
    byId('toasts').appendChild(t);
    setTimeout(() => t.remove(), 4000);
  }

  return { byId, add, h, svg, fill, badge, toast };
}
