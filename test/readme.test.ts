// The README's code examples are run as written (the package import pointed at src/), so the
// documentation cannot drift from the API.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function examples(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('README examples', () => {
  const blocks = examples();
  it('has examples to check', () => expect(blocks.length).toBeGreaterThan(0));

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'prior-readme-'));
      try {
        const entry = pathToFileURL(join(root, 'src', 'index.ts')).href;
        const script = `const runDir = ${JSON.stringify(dir)};\n${code.replaceAll("'prior-ts'", `'${entry}'`)}`;
        const file = join(dir, 'example.mts'); // ESM, so examples may use top-level await
        writeFileSync(file, script);
        const r = spawnSync(process.execPath, ['--import', tsxLoader, file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
        expect(r.status, r.stderr.slice(-2000)).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
