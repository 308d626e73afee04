// Namespace codes shared with the engine (WireNs) and a growable op stream with its strings.

export const NS_URI: readonly (string | null)[] = [
  null,
  'http://www.w3.org/1999/xhtml',
  'http://www.w3.org/2000/svg',
  'http://www.w3.org/1998/Math/MathML',
  'http://www.w3.org/1999/xlink',
  'http://www.w3.org/XML/1998/namespace',
  'http://www.w3.org/2000/xmlns/',
];

export function nsCode(uri: string | null): number {
  switch (uri) {
    case 'http://www.w3.org/1999/xhtml':
      return 1;
    case 'http://www.w3.org/2000/svg':
      return 2;
    case 'http://www.w3.org/1998/Math/MathML':
      return 3;
    case 'http://www.w3.org/1999/xlink':
      return 4;
    case 'http://www.w3.org/XML/1998/namespace':
      return 5;
    case 'http://www.w3.org/2000/xmlns/':
      return 6;
    default:
      return 0;
  }
}

export const NULL_STR = 0xffffffff;

/** A local name operand may be this plus the name's index in the engine's table of common
 * names (`NAMES` in engine/src/capture/batch.rs) instead of a string. */
const NAME_CODE = 0xffff0000;
/** The engine's common names by their operand (`useNameCodes`; empty until then: every name
 * goes as a string). */
let nameCodes = new Map<string, number>();

/** Takes the engine's table of common names (`CaptureEngine.batch_names()`: space-separated),
 * asked for once: every capture's engine is this module's, with the one table. */
export function useNameCodes(names: () => string): void {
  if (nameCodes.size > 0) return;
  nameCodes = new Map(names().split(' ').map((n, i) => [n, NAME_CODE + i]));
}

/**
 * A `u32` op stream plus its string operands (each written as its UTF-16 length). The ops go
 * straight into a growable `Uint32Array` (no per-op boxing, no copy at the end): the
 * keyframe of a large page writes millions of them.
 */
export class OpWriter {
  private buf: Uint32Array;
  private n = 0;
  private parts: string[] = [];

  /** `capacity`: ops before the first growth (a writer reused for a whole keyframe starts
   * large: each growth allocates and copies). */
  constructor(capacity = 256) {
    this.buf = new Uint32Array(capacity);
  }

  u(v: number): void {
    if (this.n === this.buf.length) this.grow();
    // A Uint32Array stores ToUint32(v), the same as `v >>> 0`.
    this.buf[this.n++] = v;
  }

  /** Writes every value of `vs` (as `u` each), growing the buffer at most once. */
  all(vs: readonly number[]): void {
    const n = vs.length;
    while (this.n + n > this.buf.length) this.grow();
    const buf = this.buf;
    let at = this.n;
    for (let i = 0; i < n; i++) buf[at++] = vs[i]!;
    this.n = at;
  }

  s(v: string | null): void {
    this.room(1);
    this.str(v);
  }

  /** `a`, `b`, `c`, then the local name `v` (an element's head: op, handle, namespace, name),
   * with one capacity check: the keyframe writes one per element. */
  head(a: number, b: number, c: number, v: string): void {
    this.room(4);
    const buf = this.buf;
    buf[this.n] = a;
    buf[this.n + 1] = b;
    buf[this.n + 2] = c;
    this.n += 3;
    this.localName(v);
  }

  /** `a`, `b`, then the string `v` (character data's head and data: op, handle, text), with
   * one capacity check. */
  pairStr(a: number, b: number, v: string | null): void {
    this.room(3);
    this.buf[this.n] = a;
    this.buf[this.n + 1] = b;
    this.n += 2;
    this.str(v);
  }

  /** An attribute: its namespace code `ns`, its local name and its value, with one capacity
   * check. */
  attr(ns: number, name: string, value: string): void {
    this.room(3);
    this.buf[this.n++] = ns;
    this.localName(name);
    this.str(value);
  }

  /** Makes room for `k` more ops. */
  private room(k: number): void {
    while (this.n + k > this.buf.length) this.grow();
  }

  /** `s` after `room`. */
  private str(v: string | null): void {
    if (v === null) {
      this.buf[this.n++] = NULL_STR;
    } else {
      this.buf[this.n++] = v.length;
      if (v.length > 0) this.parts.push(v);
    }
  }

  /** A local name (an element's or an attribute's), after `room`: its code when the engine
   * has one. */
  private localName(v: string): void {
    const c = nameCodes.get(v);
    if (c === undefined) this.str(v);
    else this.buf[this.n++] = c;
  }

  /** Empties the writer for the next batch, keeping its buffer (no allocation per batch). */
  reset(): void {
    this.n = 0;
    this.parts.length = 0;
  }

  get empty(): boolean {
    return this.n === 0;
  }

  /** Ops written so far. */
  get length(): number {
    return this.n;
  }

  /** The ops (a view of the writer's buffer: write no more after this) and the strings. */
  finish(): [Uint32Array, string] {
    return [this.buf.subarray(0, this.n), this.parts.join('')];
  }

  private grow(): void {
    const next = new Uint32Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }
}
