// The built package as a consumer sees it: imported by name from ESM and CommonJS in a separate
// project, and the `prior` CLI. Needs dist/ (built by `npm ci` / `npm run build:ts`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const built = existsSync(join(root, 'dist', 'index.js')) && existsSync(join(root, 'dist', 'cli', 'main.js'));
if (!built) console.warn('test/package.test.ts: skipped, dist/ is missing: run `npm run build:ts` first');

/** Runs a Node child in `cwd` and returns its stdout (throws with its stderr on failure). */
function node(args: string[], cwd: string): string {
  return execFileSync(process.execPath, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PRIOR_NUM_THREADS: '1' } });
}

// A matmul through the public API: [[1, 2]] @ [[3], [4]] = 11.
const probe = `torch.tensor([[1, 2]]).matmul(torch.tensor([[3], [4]])).item()`;

describe.skipIf(!built)('package', () => {
  let consumer = '';

  beforeAll(() => {
    // A project that depends on prior-ts: node_modules/prior-ts links to this checkout.
    consumer = mkdtempSync(join(tmpdir(), 'prior-consumer-'));
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(root, join(consumer, 'node_modules', 'prior-ts'), 'dir');
  });
  afterAll(() => {
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  it('imports from ESM', () => {
    const out = node(['--input-type=module', '-e', `import { torch } from 'prior-ts'; console.log(${probe});`], consumer);
    expect(out.trim()).toBe('11');
  });

  it('requires from CommonJS (require of ESM, Node >= 20.19)', () => {
    const out = node(['--input-type=commonjs', '-e', `const { torch } = require('prior-ts'); console.log(${probe});`], consumer);
    expect(out.trim()).toBe('11');
  });

  it('runs `prior info`', () => {
    const text = node([join(root, 'dist', 'cli', 'main.js'), 'info'], consumer);
    expect(text).toMatch(/^libtorch: +2\.\d+/m);
    expect(text).toMatch(/^node-api: +experimental/m);
    const info = JSON.parse(node([join(root, 'dist', 'cli', 'main.js'), 'info', '--json'], consumer)) as {
      napiVersion: number;
      threads: number;
      libtorch: { path: string | null };
    };
    expect(info.napiVersion).toBe(0x7fffffff);
    expect(info.threads).toBe(1);
    expect(existsSync(join(info.libtorch.path ?? '/nonexistent', 'lib', 'libtorch_cpu.so'))).toBe(true);
  });

  it('rejects bad demo options with exit code 2', () => {
    let status: number | null = null;
    let stderr = '';
    try {
      node([join(root, 'dist', 'cli', 'main.js'), 'demo', '--epochs', '0'], consumer);
    } catch (e) {
      ({ status, stderr } = e as { status: number; stderr: string });
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(/epochs/);
  });
});
