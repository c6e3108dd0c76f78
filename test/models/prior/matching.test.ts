// linearSumAssignment against scipy.optimize.linear_sum_assignment
// (scripts/gen_fixtures_matching.py): identical row/column indices, ties included.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { linearSumAssignment } from '../../../src/models/prior/matching.js';

interface Case {
  name: string;
  shape: [number, number];
  maximize: boolean;
  enc: 'q' | 'f32';
  scale?: number;
  data: (number | null)[] | string;
  rowInd: number[];
  colInd: number[];
}
interface ErrorCase {
  name: string;
  shape: [number, number];
  maximize: boolean;
  data: (number | string | null)[];
  message: string;
}
interface Fixtures {
  scipy: string;
  cases: Case[];
  errors: ErrorCase[];
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'models', 'matching.json.gz');
const fx = JSON.parse(gunzipSync(readFileSync(FILE)).toString('utf8')) as Fixtures;

function decode(c: Case): Float64Array | Float32Array {
  if (c.enc === 'f32') {
    const bytes = Buffer.from(c.data as string, 'base64');
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  const scale = c.scale ?? 1;
  return Float64Array.from(c.data as (number | null)[], (q) => (q === null ? Infinity : q / scale));
}

function decodeError(e: ErrorCase): Float64Array {
  return Float64Array.from(e.data, (x) =>
    x === null ? NaN : x === 'inf' ? Infinity : x === '-inf' ? -Infinity : Number(x),
  );
}

function total(cost: ArrayLike<number>, nCols: number, rows: ArrayLike<number>, cols: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < rows.length; k++) s += cost[rows[k]! * nCols + cols[k]!]!;
  return s;
}

describe('linearSumAssignment vs scipy', () => {
  it('has the fixture set', () => {
    expect(fx.cases.length).toBeGreaterThan(300);
    expect(fx.cases.filter((c) => c.name.startsWith('prior-')).length).toBeGreaterThanOrEqual(32);
  });

  it('returns scipy\'s exact rowInd/colInd on every case (ties included)', () => {
    const mismatches: string[] = [];
    for (const c of fx.cases) {
      const [nRows, nCols] = c.shape;
      const got = linearSumAssignment(decode(c), nRows, nCols, c.maximize);
      const same =
        got.rowInd.length === c.rowInd.length &&
        got.colInd.length === c.colInd.length &&
        c.rowInd.every((r, k) => got.rowInd[k] === r) &&
        c.colInd.every((col, k) => got.colInd[k] === col);
      if (!same) {
        mismatches.push(`${c.name}${c.maximize ? ' (max)' : ''}: got ${Array.from(got.colInd)} want ${c.colInd}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('reports errors like scipy', () => {
    for (const e of fx.errors) {
      const [nRows, nCols] = e.shape;
      const key = e.message.includes('infeasible') ? 'cost matrix is infeasible' : 'matrix contains invalid numeric entries';
      expect(e.message).toContain(key);
      expect(() => linearSumAssignment(decodeError(e), nRows, nCols, e.maximize), e.name).toThrow(key);
    }
    // The invalid entry is named.
    expect(() => linearSumAssignment(new Float64Array([1, NaN, 0, 2]), 2, 2)).toThrow('cost[0, 1] = NaN');
  });

  it('rejects a size mismatch, naming the shape', () => {
    expect(() => linearSumAssignment(new Float64Array(15), 4, 4)).toThrow('15 entries but the shape [4, 4] needs 16');
    expect(() => linearSumAssignment(new Float64Array(0), -1, 0)).toThrow('[-1, 0]');
  });
});

describe('linearSumAssignment, hand-checked', () => {
  it('solves the 3x3 textbook case (scipy docs example)', () => {
    // scipy docstring: cost [[4,1,3],[2,0,5],[3,2,2]] -> col [1,0,2], total 5.
    const cost = new Float64Array([4, 1, 3, 2, 0, 5, 3, 2, 2]);
    const { rowInd, colInd } = linearSumAssignment(cost, 3, 3);
    expect(Array.from(rowInd)).toEqual([0, 1, 2]);
    expect(Array.from(colInd)).toEqual([1, 0, 2]);
    expect(total(cost, 3, rowInd, colInd)).toBe(5);
    // Maximize picks the largest total: 4 + 5 + 2 = 11.
    const max = linearSumAssignment(cost, 3, 3, true);
    expect(total(cost, 3, max.rowInd, max.colInd)).toBe(11);
    expect(Array.from(max.colInd)).toEqual([0, 2, 1]);
  });

  it('maximize on a matrix equals minimize on its negation', () => {
    for (const c of fx.cases.filter((x) => x.enc === 'q' && !x.maximize && x.name.startsWith('int0to3'))) {
      const cost = decode(c);
      const neg = Float64Array.from(cost, (x) => -x);
      const a = linearSumAssignment(cost, c.shape[0], c.shape[1], true);
      const b = linearSumAssignment(neg, c.shape[0], c.shape[1]);
      expect(Array.from(a.colInd)).toEqual(Array.from(b.colInd));
    }
  });

  it('reports tall matrices with rows sorted', () => {
    // 3x2: the columns go to rows 2 and 0 (costs 0 + 0); rows come back sorted.
    const cost = new Float64Array([0, 5, 5, 5, 5, 0]);
    const { rowInd, colInd } = linearSumAssignment(cost, 3, 2);
    expect(Array.from(rowInd)).toEqual([0, 2]);
    expect(Array.from(colInd)).toEqual([0, 1]);
  });

  it('solves a 16x16 in microseconds', () => {
    const c = fx.cases.find((x) => x.name === 'random16-0')!;
    const cost = decode(c);
    for (let i = 0; i < 200; i++) linearSumAssignment(cost, 16, 16);
    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) linearSumAssignment(cost, 16, 16);
    const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
    console.log(`linearSumAssignment 16x16: ${us.toFixed(1)} us per solve`);
    expect(us).toBeLessThan(1000);
  });
});
