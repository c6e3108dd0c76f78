// The Module base class: parameters, buffers and submodules registered explicitly by name, so
// the dotted names (`layer1.0.conv1.weight`, `bn1.running_mean`) are PyTorch's state_dict keys
// for the same structure.
//
// Calling convention: `forward(...)` is the plain computation; `call(...)` is PyTorch's
// `module(...)`: it runs `forward` and then the forward hooks. Modules call their children
// with `call`, so hooks fire anywhere in a model; `module.forward(x)` still works and skips
// only that module's own hooks.
import type { DType, DeviceLike, FloatDType, RemovableHandle } from '../torch/index.js';
import { Tensor, empty, isDType, isFloatingDType, keep, noGrad, scope } from '../torch/index.js';

/** An ordered map of dotted names to tensors, as PyTorch's state_dict (an OrderedDict). */
export type StateDict = Map<string, Tensor>;

/** Where a layer creates its parameters and buffers (PyTorch's `device=` and `dtype=` factory kwargs). */
export interface FactoryOptions {
  dtype?: FloatDType;
  device?: DeviceLike;
}

export interface RegisterParameterOptions {
  /** False registers a frozen parameter (PyTorch's `Parameter(t, requires_grad=False)`). */
  requiresGrad?: boolean;
}

export interface RegisterBufferOptions {
  /** Non-persistent buffers are left out of the state dict. */
  persistent?: boolean;
}

export interface TraversalOptions {
  /** Include the descendants' tensors (default), not just this module's own. */
  recurse?: boolean;
}

export interface LoadStateDictOptions {
  /** Strict: missing and unexpected keys are errors too (shape mismatches always are). */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Runs after `forward` in {@link Module.call}; a non-undefined return replaces the output. */
export type ForwardHook<M, In extends unknown[], Out> = (module: M, inputs: In, output: Out) => Out | void;

/** A stored hook. Method syntax (bivariant parameters) keeps every `Module<In, Out>` assignable to `Module`. */
interface HookEntry<M, In extends unknown[], Out> {
  run(module: M, inputs: In, output: Out): Out | void;
}

/** A target for {@link Module.to}: a dtype (floating tensors only, as PyTorch), a device, or both. */
export type ModuleTarget = FloatDType | DeviceLike | { dtype?: FloatDType; device?: DeviceLike };

type MemberKind = 'parameter' | 'buffer' | 'submodule';

function checkName(owner: Module, kind: MemberKind, name: string): void {
  if (name === '' || name.includes('.')) {
    throw new TypeError(`${owner.constructor.name}: ${kind} name must be non-empty and contain no '.', got '${name}'`);
  }
}

/**
 * Base class of every layer. `In` and `Out` type `forward` (and `call`): a subclass declares
 * them, e.g. `class Linear extends Module<[Tensor], Tensor>`.
 */
export abstract class Module<In extends unknown[] = unknown[], Out = unknown> {
  /** Train mode (dropout active, batch norm uses batch statistics); see {@link train}. */
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly bufs = new Map<string, Tensor | null>();
  private readonly nonPersistent = new Set<string>();
  private readonly submodules = new Map<string, Module | null>();
  private readonly forwardHooks = new Set<HookEntry<this, In, Out>>();

  abstract forward(...inputs: In): Out;

  /** PyTorch's `module(...)`: `forward`, then the forward hooks in registration order. */
  call(...inputs: In): Out {
    let output = this.forward(...inputs);
    // A copy: a hook may remove itself while running.
    for (const hook of [...this.forwardHooks]) {
      const replaced = hook.run(this, inputs, output);
      if (replaced !== undefined) output = replaced;
    }
    return output;
  }

  /** `hook(module, inputs, output)` after every {@link call}, e.g. to capture attention maps. */
  registerForwardHook(hook: ForwardHook<this, In, Out>): RemovableHandle {
    const entry = { run: hook };
    this.forwardHooks.add(entry);
    return { remove: () => void this.forwardHooks.delete(entry) };
  }

  // ---- registration -----------------------------------------------------------------------

  /** The kind under which `name` is registered here, if any. */
  private registeredAs(name: string): MemberKind | null {
    if (this.params.has(name)) return 'parameter';
    if (this.bufs.has(name)) return 'buffer';
    if (this.submodules.has(name)) return 'submodule';
    return null;
  }

  private claim(kind: MemberKind, name: string): void {
    checkName(this, kind, name);
    const existing = this.registeredAs(name);
    if (existing !== null && existing !== kind) {
      throw new TypeError(`${this.constructor.name}: cannot register ${kind} '${name}': a ${existing} has that name`);
    }
  }

  /**
   * Registers a trainable tensor under `name` and returns it. It becomes a leaf that requires
   * grad (unless `requiresGrad: false`) and is exempt from scopes ({@link dispose} frees it).
   * `null` registers the name without a tensor (an absent bias), as PyTorch's `None`.
   */
  registerParameter<T extends Tensor | null>(name: string, tensor: T, { requiresGrad = true }: RegisterParameterOptions = {}): T {
    this.claim('parameter', name);
    if (tensor !== null) {
      if (!tensor.isLeaf) throw new TypeError(`${this.constructor.name}: parameter '${name}' must be a leaf tensor (detach() it first)`);
      keep(tensor).requiresGrad_(requiresGrad);
    }
    this.params.set(name, tensor);
    return tensor;
  }

  /** Registers non-trainable state (running statistics) under `name` and returns it. */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, { persistent = true }: RegisterBufferOptions = {}): T {
    this.claim('buffer', name);
    if (tensor !== null) keep(tensor);
    this.bufs.set(name, tensor);
    if (persistent) this.nonPersistent.delete(name);
    else this.nonPersistent.add(name);
    return tensor;
  }

  /** Registers a child module under `name` (its state dict keys get the prefix `name.`) and returns it. */
  registerModule<M extends Module | null>(name: string, module: M): M {
    this.claim('submodule', name);
    if ((module as Module | null) === this) throw new TypeError(`${this.constructor.name}: a module cannot be its own submodule ('${name}')`);
    this.submodules.set(name, module);
    return module;
  }

  // ---- traversal ------------------------------------------------------------------------

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    return [...this.submodules].filter((e): e is [string, Module] => e[1] !== null);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, depth-first, each once, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [child, sub] of m.namedChildren()) visit(sub, name ? `${name}.${child}` : child);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Own (or, with `recurse`, all) tensors of one kind, each tensor once, with dotted names. */
  private namedTensors(kind: 'params' | 'bufs', recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const owners: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of owners) {
      for (const [name, t] of m[kind]) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([prefix ? `${prefix}.${name}` : name, t]);
      }
    }
    return out;
  }

  /** Parameters with their state dict names (shared tensors once). */
  namedParameters({ recurse = true }: TraversalOptions = {}): [string, Tensor][] {
    return this.namedTensors('params', recurse);
  }

  /** Every parameter once, in registration order: what an optimizer takes. */
  parameters(options: TraversalOptions = {}): Tensor[] {
    return this.namedParameters(options).map(([, t]) => t);
  }

  namedBuffers({ recurse = true }: TraversalOptions = {}): [string, Tensor][] {
    return this.namedTensors('bufs', recurse);
  }

  buffers(options: TraversalOptions = {}): Tensor[] {
    return this.namedBuffers(options).map(([, t]) => t);
  }

  /** Calls `fn` on every submodule, then on this module (PyTorch's order); returns this. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and gradients ----------------------------------------------------------------

  /** Sets train mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Turns gradient tracking of every parameter on or off (`requiresGrad_(false)` freezes). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * Moves or casts every parameter and buffer in place (PyTorch's `module.to`): each tensor
   * keeps its identity, registration and requiresGrad, so fields and optimizer references stay
   * valid; its gradient moves with it. A dtype applies to floating tensors only
   * (`num_batches_tracked` stays int64).
   */
  to(target: ModuleTarget): this {
    const { dtype, device }: { dtype?: DType; device?: DeviceLike } =
      typeof target === 'string' ? (isDType(target) ? { dtype: target } : { device: target }) : target;
    const convert = (t: Tensor): Tensor | null => {
      const wantDtype = dtype !== undefined && isFloatingDType(t.dtype) && t.dtype !== dtype;
      const wantDevice = device !== undefined && t.device !== device;
      if (!wantDtype && !wantDevice) return null;
      return t.to({ ...(wantDtype ? { dtype } : {}), ...(wantDevice ? { device } : {}) });
    };
    scope(() =>
      noGrad(() => {
        for (const t of [...this.parameters(), ...this.buffers()]) {
          const moved = convert(t);
          if (moved === null) continue;
          const grad = t.grad;
          t.setData(moved);
          if (grad !== null) grad.setData(grad.to({ dtype: t.dtype, device: t.device as DeviceLike }));
        }
      }),
    );
    return this;
  }

  // ---- state dict -----------------------------------------------------------------------

  /** The live tensors behind the state dict keys, in PyTorch's order (own parameters, own buffers, then children). */
  private stateTensors(prefix: string, into: StateDict): StateDict {
    for (const [name, t] of this.params) if (t !== null) into.set(prefix + name, t);
    for (const [name, t] of this.bufs) if (t !== null && !this.nonPersistent.has(name)) into.set(prefix + name, t);
    for (const [name, m] of this.submodules) m?.stateTensors(`${prefix}${name}.`, into);
    return into;
  }

  /**
   * Parameters and persistent buffers by dotted name, as detached tensors sharing storage with
   * the module's (PyTorch's `state_dict()`).
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [key, t] of this.stateTensors('', new Map())) out.set(key, t.detach());
    return out;
  }

  /**
   * Copies `stateDict` into this module's tensors (converting dtype and device). Every problem
   * is reported in one error: missing and unexpected keys (when strict), shape mismatches
   * (always), non-tensor values. Nothing is copied unless all checks pass.
   */
  loadStateDict(stateDict: StateDict | Readonly<Record<string, Tensor>>, { strict = true }: LoadStateDictOptions = {}): LoadStateDictResult {
    const given: Map<string, unknown> = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const own = this.stateTensors('', new Map());
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    const pairs: [Tensor, Tensor][] = [];
    for (const [key, target] of own) {
      const value = given.get(key);
      if (value === undefined) continue;
      if (!(value instanceof Tensor)) {
        problems.push(`${key}: expected a Tensor, got ${value === null ? 'null' : typeof value}`);
      } else if (value.shape.join() !== target.shape.join()) {
        problems.push(`${key}: shape [${value.shape.join(', ')}] in the state dict, [${target.shape.join(', ')}] in the model`);
      } else {
        pairs.push([target, value]);
      }
    }
    if (problems.length > 0) {
      throw new Error(`${this.constructor.name}.loadStateDict: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    }
    noGrad(() => {
      for (const [target, value] of pairs) target.copy_(value);
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter and buffer of this module and its descendants now. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of [...m.params.values(), ...m.bufs.values()]) t?.dispose();
    }
  }

  // ---- printing -------------------------------------------------------------------------

  /** The constructor arguments shown by {@link toString} (PyTorch's `extra_repr`). */
  protected extraRepr(): string {
    return '';
  }

  /** PyTorch's module repr: `Name(extra)` with children indented below. */
  toString(): string {
    const children = this.namedChildren().map(([name, m]) => `  (${name}): ${m.toString().replaceAll('\n', '\n  ')}`);
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    return children.length === 0 ? `${head})` : `${head}\n${children.join('\n')}\n)`;
  }
}

/** An uninitialised tensor for a layer to fill (PyTorch's `torch.empty(..., **factory_kwargs)`). */
export function emptyTensor(shape: readonly number[], { dtype, device }: FactoryOptions): Tensor {
  return empty(...shape, { ...(dtype ? { dtype } : {}), ...(device ? { device } : {}) });
}
