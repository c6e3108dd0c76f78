// The opaque native handle behind a Tensor and the argument helpers generated code uses.

declare const handleBrand: unique symbol;
/** A native tensor handle (a Node-API external). Only the binding creates and reads them. */
export type Handle = { readonly [handleBrand]: true };

interface HasHandle {
  readonly _h: Handle;
}

/** A tensor's handle, or the value itself (numbers, null) for the native side to check. */
export function h(x: HasHandle | number | boolean | null | undefined): unknown {
  return (x as HasHandle | null | undefined)?._h ?? x;
}

export function hs(xs: readonly (HasHandle | null)[]): unknown {
  return Array.isArray(xs) ? xs.map(h) : xs;
}

/** Sizes as rest arguments or one list, optionally followed by an options object. */
export type SizeArgs<O = never> = number[] | [readonly number[]] | [readonly number[], O] | [...number[], O];

export function splitSizeArgs<O>(args: readonly unknown[]): [unknown, O | undefined] {
  let opts: O | undefined;
  let sizes = args;
  const last = args[args.length - 1];
  if (last !== null && typeof last === 'object' && !Array.isArray(last)) {
    opts = last as O;
    sizes = args.slice(0, -1);
  }
  if (sizes.length === 1 && Array.isArray(sizes[0])) return [sizes[0], opts];
  return [sizes, opts];
}

/**
 * Keyword options arrive as one object: anything else (a stray positional number, a typo'd
 * key) would otherwise be ignored silently, so it is rejected with the op's name.
 */
export function checkOptions(op: string, options: unknown, allowed: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${op}: expected an options object {${allowed.join(', ')}} as the last argument, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${op}: unknown option '${key}' (expected one of ${allowed.join(', ')})`);
  }
}
