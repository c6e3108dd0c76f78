// Deterministic release of native memory: scopes, dispose(), `using`. The GC backstop (basic
// finalizers in the addon) frees whatever these miss, even inside a synchronous loop.
import type { Handle } from './handle.js';
import type { Tensor } from './tensor.js';

type TensorClass = new (h: Handle) => Tensor;
let TensorCtor: TensorClass | undefined;

/** Called once by tensor.ts: breaks the import cycle between the class and its factories. */
export function registerTensorClass(c: TensorClass): void {
  TensorCtor = c;
}

const scopes: Tensor[][] = [];
const kept = new WeakSet<Tensor>();

/** The innermost open scope. `at(-1)`, not `[length - 1]`: outside any scope the latter reads
 *  the property '-1', which V8 does through the runtime (~30 ns on every op result). */
function innermost(): Tensor[] | undefined {
  return scopes.at(-1);
}

export function wrap(handle: Handle): Tensor {
  const t = new TensorCtor!(handle);
  innermost()?.push(t);
  return t;
}

export function wrapList(handles: readonly (Handle | null)[]): Tensor[] {
  return handles.map((x) => (x === null ? (null as unknown as Tensor) : wrap(x)));
}

function collect(value: unknown, into: Set<Tensor>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (TensorCtor && value instanceof TensorCtor) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors it returns
 * (found in arrays, maps and plain objects) and those marked with {@link keep}. Returned
 * tensors move to the enclosing scope, so scopes nest. `fn` must be synchronous.
 */
export function scope<T>(fn: () => T): T {
  const mine: Tensor[] = [];
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw new TypeError('torch.scope: the function returned a Promise; scopes track synchronous work only (await outside the scope)');
  }
  const returned = new Set<Tensor>();
  collect(result, returned, 0);
  const parent = innermost();
  for (const t of mine) {
    if (returned.has(t)) parent?.push(t);
    else if (!kept.has(t)) t.dispose();
  }
  return result;
}

/** Exempts a tensor from disposal by the scopes it was made in (e.g. model parameters). */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  return t;
}

/** Disposes every tensor in a value (a tensor, or arrays/maps/plain objects holding tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collect(value, found, 0);
  for (const t of found) t.dispose();
}
