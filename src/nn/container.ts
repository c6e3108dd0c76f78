// Containers: Sequential (a chain), ModuleList and ModuleDict (registered collections whose
// keys, '0', '1', ... or the given names, become state dict prefixes as in PyTorch).
import type { Tensor } from '../torch/index.js';
import { Module } from './module.js';

/** A module from tensor to tensor: what Sequential chains. */
export type TensorModule = Module<[Tensor], Tensor>;

/** What Sequential and ModuleList share: submodules registered in order as '0', '1', ... */
abstract class IndexedModules<M extends Module, In extends unknown[], Out> extends Module<In, Out> {
  private readonly items: M[] = [];

  protected constructor(modules: Iterable<M>) {
    super();
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    this.items.push(this.registerModule(String(this.items.length), module));
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    const m = this.items.at(index);
    if (m === undefined) throw new RangeError(`${this.constructor.name}: index ${index} is out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** Runs its modules in order, each on the previous one's output; they are named '0', '1', ... */
export class Sequential extends IndexedModules<TensorModule, [Tensor], Tensor> {
  constructor(...modules: TensorModule[]) {
    super(modules);
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (const m of this) out = m.call(out);
    return out;
  }
}

/** A list of registered submodules, named '0', '1', ...; iterate it in the owner's forward. */
export class ModuleList<M extends Module = Module> extends IndexedModules<M, [], never> {
  constructor(modules: Iterable<M> = []) {
    super(modules);
  }

  forward(): never {
    throw new TypeError('ModuleList has no forward: iterate it and call each module');
  }
}

/** Registered submodules by name, in insertion order. */
export class ModuleDict<M extends Module = Module> extends Module<[], never> {
  private readonly items = new Map<string, M>();

  constructor(modules: Iterable<readonly [string, M]> | Readonly<Record<string, M>> = []) {
    super();
    const entries = Symbol.iterator in modules ? modules : Object.entries(modules);
    for (const [name, m] of entries) this.set(name, m);
  }

  /** Adds or replaces the module under `name`. */
  set(name: string, module: M): this {
    this.items.set(name, this.registerModule(name, module));
    return this;
  }

  get(name: string): M {
    const m = this.items.get(name);
    if (m === undefined) throw new RangeError(`ModuleDict: no module '${name}' (have: ${[...this.items.keys()].join(', ')})`);
    return m;
  }

  has(name: string): boolean {
    return this.items.has(name);
  }

  get size(): number {
    return this.items.size;
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  entries(): [string, M][] {
    return [...this.items];
  }

  forward(): never {
    throw new TypeError('ModuleDict has no forward: get its modules by name and call them');
  }
}
