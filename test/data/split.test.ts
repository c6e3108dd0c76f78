import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DatasetRecord, makeSection, readDatasetFile, writeDatasetFile } from '../../src/data/dataset-file.js';
import { splitDatasetFile, splitRecords, type Splits } from '../../src/data/split.js';

function record(key: string, patientId: string, imagePath: string): DatasetRecord {
  const s = makeSection('x', ['x.']);
  return { key, patientId, imagePaths: [imagePath], impression: s, findings: s };
}

const patientsOf = (rs: DatasetRecord[]): Set<string> => new Set(rs.map((r) => r.patientId));

function expectDisjoint(s: Splits, by: (r: DatasetRecord) => string[]): void {
  const seen = new Map<string, string>();
  for (const name of ['train', 'val', 'test'] as const) {
    for (const r of s[name]) for (const k of by(r)) {
      expect(seen.get(k) ?? name, `${k} in two splits`).toBe(name);
      seen.set(k, name);
    }
  }
}

describe('split', () => {
  // 100 records of 37 patients, 1 to 5 records each.
  const records = Array.from({ length: 100 }, (_, i) => record(`s${i}`, `p${(i * 7) % 37}`, `/img/${i}.jpg`));

  it('keeps every patient in one split, uses every record once, and follows the shares', () => {
    const s = splitRecords(records, { val: 0.1, test: 0.2, seed: 3 });
    expectDisjoint(s, (r) => [r.patientId]);
    expect([...s.train, ...s.val, ...s.test].map((r) => r.key).sort()).toEqual(records.map((r) => r.key).sort());
    expect(s.test.length).toBeGreaterThanOrEqual(20);
    expect(s.test.length).toBeLessThan(20 + 5);
    expect(s.val.length).toBeGreaterThanOrEqual(10);
    expect(patientsOf(s.train).size + patientsOf(s.val).size + patientsOf(s.test).size).toBe(37);
    expect(splitRecords(records, { val: 0.1, test: 0.2, seed: 3 })).toEqual(s);
    expect(splitRecords(records, { val: 0.1, test: 0.2, seed: 4 }).test).not.toEqual(s.test);
    expect(() => splitRecords(records, { val: 0.5, test: 0.5, seed: 0 })).toThrow(/sum below 1/);
  });

  it('groups byte-identical images of different patients when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prior-split-'));
    const rs = Array.from({ length: 40 }, (_, i) => {
      const path = join(dir, `${i}.jpg`);
      writeFileSync(path, `image ${i % 10}`); // ten distinct contents, four copies each
      return record(`s${i}`, `p${i}`, path);
    });
    const content = (r: DatasetRecord): string[] => [String(Number(/(\d+)\.jpg$/.exec(r.imagePaths[0] ?? '')?.[1]) % 10)];
    for (let seed = 0; seed < 5; seed++) expectDisjoint(splitRecords(rs, { val: 0.2, test: 0.2, seed, groupDuplicates: true }), content);
    // Without grouping the copies do get separated for some seed (so the check above can fail).
    const leaks = [0, 1, 2, 3, 4].some((seed) => {
      const s = splitRecords(rs, { val: 0.2, test: 0.2, seed });
      const where = new Map<string, Set<string>>();
      for (const name of ['train', 'val', 'test'] as const) for (const r of s[name]) where.set(content(r)[0] ?? '', (where.get(content(r)[0] ?? '') ?? new Set()).add(name));
      return [...where.values()].some((v) => v.size > 1);
    });
    expect(leaks).toBe(true);
  });

  it('writes train/val/test dataset files whose image paths still resolve, with classes.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prior-split-'));
    const rs = records.map((r) => ({ ...r, imagePaths: [join(dir, 'images', `${r.key}.jpg`)], labels: ['A'] }));
    writeDatasetFile(join(dir, 'data.json'), rs, [{ name: 'A' }]);
    const s = splitDatasetFile(join(dir, 'data.json'), join(dir, 'splits'), { val: 0.1, test: 0.1, seed: 0 });
    const test = readDatasetFile(join(dir, 'splits', 'test.json'), { strict: true });
    expect(test.records.map((r) => r.key)).toEqual(s.test.map((r) => r.key));
    expect(test.records[0]?.imagePaths[0]).toBe(join(dir, 'images', `${s.test[0]?.key}.jpg`));
    expect(test.records[0]?.label).toEqual([1]);
  });
});
