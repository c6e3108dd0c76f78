// torch.profile / recordFunction / formatProfileTable: the profiler sees libtorch's own op
// names (aten::*), named ranges nest around them, the trace is Chrome-trace JSON, and the
// self times add up (each microsecond of a thread's top-level spans is some event's self time).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import type { ProfileEvent, ProfileRow } from '../../src/torch/index.js';

function workload(): torch.Tensor {
  const x = torch.randn(32, 16);
  const w = torch.randn(16, 8, { requiresGrad: true });
  const loss = torch.recordFunction('stage3/spg_loss', () => x.matmul(w).add(1).relu().sum());
  loss.backward();
  return w.grad!;
}

const names = (rows: readonly ProfileRow[]) => rows.map((r) => r.name);

function ancestors(events: readonly ProfileEvent[], e: ProfileEvent): string[] {
  const out: string[] = [];
  for (let p = e.parent; p !== null; p = events[p]!.parent) out.push(events[p]!.name);
  return out;
}

describe('torch.profile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prior-profile-'));
  const traceFile = join(dir, 'trace.json');
  const result = torch.profile(workload, { traceFile, recordShapes: true });

  it('returns the value and rows named after the ATen ops run', () => {
    expect(result.value.shape).toEqual([16, 8]);
    expect(names(result.rows)).toEqual(expect.arrayContaining(['aten::matmul', 'aten::mm', 'aten::add', 'aten::relu', 'aten::sum', 'stage3/spg_loss']));
    // The backward pass runs under the autograd engine's names.
    expect(names(result.rows).some((n) => n.includes('MmBackward0'))).toBe(true);
    const mm = result.rows.find((r) => r.name === 'aten::mm')!;
    expect(mm.inputShapes).toContain('[[32, 16], [16, 8]]');
  });

  it('nests the ops of a named range inside it', () => {
    const range = result.events.filter((e) => e.name === 'stage3/spg_loss');
    expect(range).toHaveLength(1);
    const forwardMatmul = result.events.find((e) => e.name === 'aten::matmul')!;
    expect(ancestors(result.events, forwardMatmul)).toContain('stage3/spg_loss');
    const inner = result.events.find((e) => e.name === 'aten::mm' && ancestors(result.events, e).includes('aten::matmul'));
    expect(inner).toBeDefined();
    // Backward ran after the range closed: its ops are outside it.
    const backward = result.events.filter((e) => e.name.includes('MmBackward0'));
    expect(backward.length).toBeGreaterThan(0);
    for (const e of backward) expect(ancestors(result.events, e)).not.toContain('stage3/spg_loss');
  });

  it('splits time into self times that add up to the top-level spans', () => {
    const byThread = new Map<number, ProfileEvent[]>();
    for (const e of result.events) byThread.set(e.threadId, [...(byThread.get(e.threadId) ?? []), e]);
    for (const evs of byThread.values()) {
      const top = evs.filter((e) => e.parent === null).reduce((s, e) => s + e.durationUs, 0);
      const self = evs.reduce((s, e) => s + e.selfUs, 0);
      expect(self).toBeCloseTo(top, 3);
    }
    for (const e of result.events) expect(e.selfUs).toBeGreaterThanOrEqual(-1e-6);
    const range = result.rows.find((r) => r.name === 'stage3/spg_loss')!;
    expect(range.totalCpuUs).toBeGreaterThan(range.selfCpuUs);
  });

  it('writes a Chrome trace with the ops and the range', () => {
    const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as { traceEvents: { name: string; ph: string }[] };
    expect(Array.isArray(trace.traceEvents)).toBe(true);
    const traced = new Set(trace.traceEvents.map((e) => e.name));
    for (const n of ['aten::mm', 'aten::add', 'stage3/spg_loss']) expect(traced.has(n)).toBe(true);
  });

  it('attributes allocations to the op that made them', () => {
    const r = torch.profile(() => torch.mm(torch.ones(64, 32), torch.ones(32, 16)), { profileMemory: true });
    const mm = r.rows.find((row) => row.name === 'aten::mm')!;
    expect(mm.cpuMemoryBytes).toBe(64 * 16 * 4); // the kept result; nothing else is allocated there
  });

  it('stops the profiler when the function throws, and refuses to nest', () => {
    expect(() => torch.profile(() => torch.mm(torch.ones(2, 3), torch.ones(2, 3)))).toThrow(/mm/);
    expect(torch.profile(() => 1).value).toBe(1); // a new session starts: the failed one ended
    expect(() => torch.profile(() => torch.profile(() => 0))).toThrow(/already running/);
    expect(torch.profile(() => 2).value).toBe(2);
  });

  it('rejects async functions', () => {
    expect(() => torch.profile(async () => 0)).toThrow(/Promise/);
  });
});

describe('torch.recordFunction', () => {
  it('runs the function and returns its value with the profiler off', () => {
    expect(torch.recordFunction('idle', () => 42)).toBe(42);
    expect(() =>
      torch.recordFunction('boom', () => {
        throw new Error('inner');
      }),
    ).toThrow('inner');
  });

  it('closes the range when the function throws', () => {
    const r = torch.profile(() => {
      try {
        torch.recordFunction('failing', () => {
          torch.ones(2).add(1);
          throw new Error('x');
        });
      } catch {
        // expected
      }
      torch.ones(2).mul(3);
    });
    const failing = r.events.find((e) => e.name === 'failing')!;
    const mul = r.events.find((e) => e.name === 'aten::mul')!;
    expect(failing).toBeDefined();
    expect(ancestors(r.events, mul)).not.toContain('failing');
    expect(ancestors(r.events, r.events.find((e) => e.name === 'aten::add')!)).toContain('failing');
  });
});

describe('formatProfileTable', () => {
  const row = (name: string, selfCpuUs: number, calls: number): ProfileRow => ({
    name,
    calls,
    selfCpuUs,
    totalCpuUs: selfCpuUs * 2,
    deviceUs: 0,
    selfCpuMemoryBytes: 0,
    cpuMemoryBytes: 0,
    inputShapes: [],
  });
  const rows = [row('aten::a', 10, 5), row('aten::b', 30, 1), row('aten::c', 20, 9)];
  const order = (table: string) => table.split('\n').filter((l) => l.startsWith('aten::')).map((l) => l.split(/\s+/)[0]);

  it('sorts by the chosen column and limits the rows', () => {
    expect(order(torch.formatProfileTable(rows))).toEqual(['aten::b', 'aten::c', 'aten::a']);
    expect(order(torch.formatProfileTable(rows, { sortBy: 'calls' }))).toEqual(['aten::c', 'aten::a', 'aten::b']);
    expect(order(torch.formatProfileTable(rows, { sortBy: 'name', limit: 2 }))).toEqual(['aten::a', 'aten::b']);
  });

  it('prints percentages of the total self time and readable units', () => {
    const table = torch.formatProfileTable(rows);
    expect(table).toMatch(/aten::b\s+50\.00%\s+30\.000us\s+60\.000us/);
    expect(table).toContain('Self CPU time total: 60.000us');
    expect(table).not.toContain('CPU Mem'); // no memory recorded: no memory columns
  });
});
