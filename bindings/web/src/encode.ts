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

/** A `u32` op stream plus its string operands (each written as its UTF-16 length). */
export class OpWriter {
  ops: number[] = [];
  parts: string[] = [];

  u(v: number): void {
    this.ops.push(v >>> 0);
  }

  s(v: string | null): void {
    if (v === null) {
      this.ops.push(NULL_STR);
    } else {
      this.ops.push(v.length);
      if (v.length > 0) this.parts.push(v);
    }
  }

  get empty(): boolean {
    return this.ops.length === 0;
  }

  finish(): [Uint32Array, string] {
    return [Uint32Array.from(this.ops), this.parts.join('')];
  }
}
