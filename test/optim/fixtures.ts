// Loading test/fixtures/optim/*.json (made by scripts/gen_fixtures_optim.py) and comparing with them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import * as torch from '../../src/torch/index.js';

export interface Encoded {
  shape: number[];
  data: number[];
}

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'optim');

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8')) as T;
}

export function decode(e: Encoded): torch.Tensor<'float32'> {
  return torch.tensor(Float32Array.from(e.data)).reshape(...e.shape) as torch.Tensor<'float32'>;
}

/** Asserts |actual - expected| <= rtol·max(|expected|, 1) elementwise, naming the worst element. */
export function expectClose(actual: torch.Tensor, expected: Encoded, rtol: number, what: string): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  const got = actual.double().toArray();
  let worst = 0;
  let at = -1;
  expected.data.forEach((want, i) => {
    const err = Math.abs(got[i]! - want) / Math.max(Math.abs(want), 1);
    if (!(err <= worst)) [worst, at] = [err, i];
  });
  if (!(worst <= rtol)) expect.fail(`${what}: element ${at} is ${got[at]}, PyTorch ${expected.data[at]} (error ${worst} > ${rtol})`);
}

/** The fixtures' gradient: g = (p - t) * w + 0.05 * p * p * p, op for op as the Python script. */
export function gradOf(p: torch.Tensor, t: torch.Tensor, w: torch.Tensor): torch.Tensor {
  return p.sub(t).mul(w).add(p.mul(0.05).mul(p).mul(p));
}
