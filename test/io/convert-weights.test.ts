import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { io } from '../../src/index.js';
import { ExpectedTensors, FIXTURES, expectMatches, python, readJson, runPython, withTempDir } from './helpers.js';

const script = fileURLToPath(new URL('../../scripts/convert-weights.py', import.meta.url));
const convert = (...args: string[]): string => runPython([script, ...args]);

describe.skipIf(!python.exe)(`scripts/convert-weights.py${python.exe ? '' : ` (skipped: ${python.why})`}`, () => {
  it('Lightning .ckpt -> safetensors with the prefix stripped, and safetensors -> .pt -> safetensors', () => {
    withTempDir((dir) => {
      const out = join(dir, 'weights.safetensors');
      convert(join(FIXTURES, 'lightning.ckpt'), out, '--strip-prefix', 'model.');
      const expected = readJson(ExpectedTensors, 'lightning.json');
      const { tensors } = io.safetensors.load(out);
      expect([...tensors.keys()].sort()).toEqual(Object.keys(expected).map((k) => k.replace(/^model\./, '')).sort());
      for (const [k, e] of Object.entries(expected)) expectMatches(tensors.get(k.replace(/^model\./, ''))!, e, expect);

      // Reverse, then forward again: every dtype of the Python fixture survives unchanged.
      const pt = join(dir, 'all.pt');
      convert(join(FIXTURES, 'all_dtypes.safetensors'), pt);
      const again = join(dir, 'all.safetensors');
      convert(pt, again);
      const all = readJson(z.object({ tensors: ExpectedTensors }), 'all_dtypes.json').tensors;
      const back = io.safetensors.load(again).tensors;
      expect(back.size).toBe(Object.keys(all).length);
      for (const [k, e] of Object.entries(all)) expectMatches(back.get(k)!, e, expect);
    });
  });

  it('fails clearly on a file without a state_dict', () => {
    withTempDir((dir) => {
      const bad = join(dir, 'bad.pt');
      runPython(['-c', 'import sys, torch; torch.save({"epoch": 1}, sys.argv[1])', bad]);
      expect(() => convert(bad, join(dir, 'x.safetensors'))).toThrow(/no state_dict found/);
    });
  });
});
