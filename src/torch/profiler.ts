// libtorch's profiler (Kineto) from TS: profile() records the native ops a function runs,
// aggregates them per op name as PyTorch's key_averages() does, and writes a Chrome trace
// (chrome://tracing, https://ui.perfetto.dev). recordFunction() names a span of model code.
import { existsSync } from 'node:fs';
import { native, type NativeProfilerEvent } from './native.js';
import { cuda } from './runtime.js';

export interface ProfileOptions {
  /** Where to write the Chrome trace JSON; none is written when omitted. */
  readonly traceFile?: string;
  /** Record each op's input shapes (rows list the distinct shapes seen). */
  readonly recordShapes?: boolean;
  /** Record allocations; rows get the bytes allocated inside each op. */
  readonly profileMemory?: boolean;
  /** Record C++ call stacks into the trace (TS frames are not visible to libtorch). */
  readonly withStack?: boolean;
  /** Also trace CUDA kernels. Default: whether CUDA is available. */
  readonly cuda?: boolean;
}

/** One op or named range, placed in the call tree of its thread. */
export interface ProfileEvent {
  readonly name: string;
  readonly threadId: number;
  readonly device: string;
  readonly startUs: number;
  readonly durationUs: number;
  /** Duration minus that of the direct children on the same thread. */
  readonly selfUs: number;
  /** Index of the enclosing event in `events`, or null at the top. */
  readonly parent: number | null;
  readonly depth: number;
  readonly shapes: readonly (readonly number[])[];
  /** Bytes allocated minus freed while this event was the innermost one (profileMemory). */
  readonly selfMemoryBytes: number;
  /** The same, including everything nested inside. */
  readonly memoryBytes: number;
}

/** Per-name totals, as PyTorch's `prof.key_averages()`. */
export interface ProfileRow {
  readonly name: string;
  readonly calls: number;
  readonly selfCpuUs: number;
  readonly totalCpuUs: number;
  /** Kernel time, for device (e.g. CUDA kernel) rows; 0 for CPU ops. */
  readonly deviceUs: number;
  readonly selfCpuMemoryBytes: number;
  readonly cpuMemoryBytes: number;
  /** Distinct input-shape lists, e.g. "[[64, 32], [32, 16]]" (recordShapes). */
  readonly inputShapes: readonly string[];
}

export interface ProfileResult<T> {
  readonly value: T;
  readonly events: readonly ProfileEvent[];
  readonly rows: readonly ProfileRow[];
  readonly traceFile: string | null;
}

export type ProfileColumn = 'selfCpuUs' | 'totalCpuUs' | 'calls' | 'deviceUs' | 'selfCpuMemoryBytes' | 'cpuMemoryBytes' | 'name';

// Kineto logs every start and stop to stderr (levels 0-5); 6 silences it. A trace that cannot
// be written is caught below instead.
process.env.KINETO_LOG_LEVEL ??= '6';

const MEMORY_EVENT = '[memory]';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Runs `fn` (synchronous) under libtorch's profiler. Ops run by async ops on worker threads
 * are not recorded: the profiler follows the thread that started it.
 */
export function profile<T>(fn: () => T, options: ProfileOptions = {}): ProfileResult<T> {
  native.profilerStart({
    recordShapes: options.recordShapes ?? false,
    profileMemory: options.profileMemory ?? false,
    withStack: options.withStack ?? false,
    cuda: options.cuda ?? cuda.isAvailable(),
  });
  let value: T;
  try {
    value = fn();
  } catch (e) {
    native.profilerStop();
    throw e;
  }
  const raw = native.profilerStop(options.traceFile);
  if (value instanceof Promise) {
    throw new TypeError('torch.profile: the function returned a Promise; profile() records synchronous work only');
  }
  // libtorch logs, but does not throw, when the trace cannot be written.
  if (options.traceFile !== undefined && !existsSync(options.traceFile)) {
    throw new Error(`torch.profile: the trace file '${options.traceFile}' could not be written`);
  }
  const events = buildTree(raw);
  return { value, events, rows: aggregate(events), traceFile: options.traceFile ?? null };
}

/**
 * Names a span of work in the trace (a USER_SCOPE range around the native ops `fn` runs, as
 * `torch.profiler.record_function`). With the profiler off it costs one native call.
 */
export function recordFunction<T>(name: string, fn: () => T): T {
  const range = native.recordFunctionEnter(name);
  if (range === null) return fn();
  try {
    const value = fn();
    if (value instanceof Promise) throw new TypeError(`torch.recordFunction('${name}'): the function returned a Promise; ranges time synchronous work only`);
    return value;
  } finally {
    native.recordFunctionExit(range);
  }
}

/**
 * Places events in per-thread call trees by time nesting (an event encloses those that start
 * and end within it) and attributes memory events to the innermost open event.
 */
function buildTree(raw: readonly NativeProfilerEvent[]): ProfileEvent[] {
  const order = raw
    .map((_, i) => i)
    .sort((i, j) => raw[i]!.threadId - raw[j]!.threadId || raw[i]!.startNs - raw[j]!.startNs || raw[j]!.durationNs - raw[i]!.durationNs);
  const out: Mutable<ProfileEvent>[] = [];
  const endNs: number[] = [];
  let stack: number[] = [];
  let thread = Number.NaN;
  for (const i of order) {
    const e = raw[i]!;
    if (e.threadId !== thread) {
      stack = [];
      thread = e.threadId;
    }
    while (stack.length > 0 && endNs[stack.at(-1)!]! <= e.startNs) stack.pop();
    const parent = stack.at(-1) ?? null;
    if (e.name === MEMORY_EVENT) {
      if (parent !== null) {
        out[parent]!.selfMemoryBytes += e.nBytes;
        for (const k of stack) out[k]!.memoryBytes += e.nBytes;
      }
      continue;
    }
    const durationUs = e.durationNs / 1000;
    out.push({
      name: e.name,
      threadId: e.threadId,
      device: e.device,
      startUs: e.startNs / 1000,
      durationUs,
      selfUs: durationUs,
      parent,
      depth: stack.length,
      shapes: e.shapes,
      selfMemoryBytes: 0,
      memoryBytes: 0,
    });
    const k = out.length - 1;
    endNs[k] = e.startNs + e.durationNs;
    if (parent !== null) out[parent]!.selfUs -= durationUs;
    stack.push(k);
  }
  return out;
}

function aggregate(events: readonly ProfileEvent[]): ProfileRow[] {
  interface Acc {
    calls: number;
    selfUs: number;
    totalUs: number;
    deviceUs: number;
    selfMem: number;
    mem: number;
    shapes: Set<string>;
  }
  const byName = new Map<string, Acc>();
  for (const e of events) {
    let acc = byName.get(e.name);
    if (!acc) byName.set(e.name, (acc = { calls: 0, selfUs: 0, totalUs: 0, deviceUs: 0, selfMem: 0, mem: 0, shapes: new Set() }));
    acc.calls++;
    if (e.device === 'cpu') {
      acc.selfUs += e.selfUs;
      // A recursive op's nested calls are inside its outer call's total already.
      if (!hasAncestorNamed(events, e)) acc.totalUs += e.durationUs;
    } else {
      acc.deviceUs += e.durationUs;
    }
    acc.selfMem += e.selfMemoryBytes;
    acc.mem += e.memoryBytes;
    if (e.shapes.length > 0) acc.shapes.add(JSON.stringify(e.shapes).replace(/,/g, ', '));
  }
  return [...byName].map(([name, a]) => ({
    name,
    calls: a.calls,
    selfCpuUs: a.selfUs,
    totalCpuUs: a.totalUs,
    deviceUs: a.deviceUs,
    selfCpuMemoryBytes: a.selfMem,
    cpuMemoryBytes: a.mem,
    inputShapes: [...a.shapes],
  }));
}

function hasAncestorNamed(events: readonly ProfileEvent[], e: ProfileEvent): boolean {
  for (let p = e.parent; p !== null; p = events[p]!.parent) if (events[p]!.name === e.name) return true;
  return false;
}

export interface TableOptions {
  /** Descending, except 'name' (ascending). Default: 'selfCpuUs'. */
  readonly sortBy?: ProfileColumn;
  /** Rows shown. Default: 20. */
  readonly limit?: number;
}

/** A fixed-width table like PyTorch's `key_averages().table()`; empty columns are left out. */
export function formatProfileTable(rows: readonly ProfileRow[], options: TableOptions = {}): string {
  const sortBy = options.sortBy ?? 'selfCpuUs';
  const sorted = [...rows].sort((a, b) => (sortBy === 'name' ? a.name.localeCompare(b.name) : b[sortBy] - a[sortBy]));
  const shown = sorted.slice(0, options.limit ?? 20);
  const totalSelf = rows.reduce((s, r) => s + r.selfCpuUs, 0);
  const any = (f: (r: ProfileRow) => boolean): boolean => rows.some(f);
  const columns: [string, (r: ProfileRow) => string][] = [
    ['Name', (r) => (r.name.length > 48 ? `${r.name.slice(0, 45)}...` : r.name)],
    ['Self CPU %', (r) => `${totalSelf > 0 ? ((100 * r.selfCpuUs) / totalSelf).toFixed(2) : '0.00'}%`],
    ['Self CPU', (r) => formatUs(r.selfCpuUs)],
    ['CPU total', (r) => formatUs(r.totalCpuUs)],
    ['CPU time avg', (r) => formatUs(r.totalCpuUs / r.calls)],
  ];
  if (any((r) => r.deviceUs > 0)) columns.push(['Device total', (r) => formatUs(r.deviceUs)]);
  if (any((r) => r.cpuMemoryBytes !== 0)) {
    columns.push(['CPU Mem', (r) => formatBytes(r.cpuMemoryBytes)], ['Self CPU Mem', (r) => formatBytes(r.selfCpuMemoryBytes)]);
  }
  columns.push(['# of Calls', (r) => String(r.calls)]);
  if (any((r) => r.inputShapes.length > 0)) columns.push(['Input Shapes', (r) => r.inputShapes.slice(0, 2).join(' ') + (r.inputShapes.length > 2 ? ' ...' : '')]);
  const cells = shown.map((r) => columns.map(([, f]) => f(r)));
  const widths = columns.map(([title], c) => Math.max(title.length, ...cells.map((row) => row[c]!.length)));
  const line = (vals: readonly string[]): string => vals.map((v, c) => (c === 0 || c === vals.length - 1 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [rule, line(columns.map(([t]) => t)), rule, ...cells.map(line), rule, `Self CPU time total: ${formatUs(totalSelf)}`].join('\n');
}

function formatUs(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(3)}s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(3)}ms`;
  return `${us.toFixed(3)}us`;
}

function formatBytes(b: number): string {
  const abs = Math.abs(b);
  if (abs >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GB`;
  if (abs >= 2 ** 20) return `${(b / 2 ** 20).toFixed(2)} MB`;
  if (abs >= 2 ** 10) return `${(b / 2 ** 10).toFixed(2)} KB`;
  return `${b} B`;
}
