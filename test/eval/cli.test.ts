// `prior eval zeroshot` and `prior explain` end to end, run from the TypeScript sources as a user
// would: a checkpointed tiny model (trainer run layout) and real cxr-notes X-rays.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { EmbedCliOptions, ExplainCliOptions, RetrievalCliOptions, parseEvalOptions, runEmbed, runEvalRetrieval } from '../../src/cli/eval.js';
import * as safetensors from '../../src/io/safetensors.js';
import { CXR_ROOT, REPO, cxr, tempDir, tinyPrior, writeDataset, writeIndex, writeRun } from './helpers.js';

function prior(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], { cwd: REPO, encoding: 'utf8' });
}

describe('prior eval / explain', () => {
  const dir = tempDir();
  const model = tinyPrior(6);
  const run = writeRun(dir, model);
  model.dispose();

  it('eval zeroshot prints the report and confusion matrix and writes zeroshot.json + confusion.png', async () => {
    const index = writeIndex(dir, 5, 1);
    const out = join(dir, 'zs');
    const r = prior('eval', 'zeroshot', '--checkpoint', run, '--index', index, '--images', CXR_ROOT, '--batch-size', '3', '--out', out, '--variant', 'intended');
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/zero-shot classification \(intended, seed 0\), 5 images, 1 missing/);
    expect(r.stdout).toMatch(/macro avg/);
    expect(r.stdout).toMatch(/true \\ predicted/);
    const json = JSON.parse(readFileSync(join(out, 'zeroshot.json'), 'utf8')) as { n: number; missing: unknown[]; model: string; confusion: number[][] };
    expect(json.n).toBe(5);
    expect(json.missing).toHaveLength(1);
    expect(json.model).toMatch(/step-000007$/);
    expect(json.confusion.flat().reduce((a, b) => a + b, 0)).toBe(5);
    expect((await sharp(join(out, 'confusion.png')).metadata()).format).toBe('png');
  });

  it('explain writes the figure; bad options exit with code 2', async () => {
    const out = join(dir, 'explain.png');
    const r = prior('explain', '--random', 'tiny', '--image', join(CXR_ROOT, cxr(2)), '--report', 'Heart size is normal. No effusion.', '--out', out, '--columns', '2', '--panel-size', '96');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/2 sentence panel\(s\)/);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width]).toEqual(['png', 2 * 16 + 2 * 96 + 16]);
    const raw = { image: 'a.png', report: 'x.', out: join(dir, 'x.png') };
    expect(() => parseEvalOptions(ExplainCliOptions, raw, 'explain')).toThrow(/exactly one of --checkpoint DIR or --random PRESET/);
    expect(() => parseEvalOptions(ExplainCliOptions, { ...raw, random: 'tiny', checkpoint: run }, 'explain')).toThrow(/exactly one of/);
    expect(() => parseEvalOptions(ExplainCliOptions, { ...raw, random: 'tiny', out: 'x.jpg' }, 'explain')).toThrow(/must end in \.png[\s\S]*at out/);
    const badVariant = prior('eval', 'zeroshot', '--random', 'tiny', '--index', 'i.json', '--images', '.', '--variant', 'best');
    expect(badVariant.status).toBe(2);
    expect(badVariant.stderr).toMatch(/variant/);
    expect(existsSync(join(dir, 'x.png'))).toBe(false);
  });

  it('eval retrieval (class protocol) and embed, in process', async () => {
    const sink = (): { text: string; write(t: string): boolean } => ({ text: '', write(t: string) { this.text += t; return true; } });
    const out = sink();
    const err = sink();
    const index = writeIndex(dir, 5, 0, 'retrieval-index.json');
    await runEvalRetrieval(parseEvalOptions(RetrievalCliOptions, { checkpoint: run, index, images: CXR_ROOT, out: join(dir, 'ret'), batchSize: '2' }, 'eval retrieval'), out, err);
    expect(out.text).toMatch(/class retrieval, 5 images x 5 texts, score: cosine of global embeddings/);
    expect(out.text).toMatch(/text->image/);
    expect(JSON.parse(readFileSync(join(dir, 'ret', 'retrieval.json'), 'utf8')).imageToText.nQueries).toBe(5);
    const dataset = writeDataset(dir, [[1, 'Left upper lobe infiltrate.', []], [2, 'No effusion. Normal heart.', []]], []);
    const file = join(dir, 'emb', 'e.safetensors');
    await runEmbed(parseEvalOptions(EmbedCliOptions, { checkpoint: run, dataset, out: file }, 'embed'), out, err);
    const back = safetensors.load(file);
    expect(JSON.parse(back.metadata.text_ids!)).toEqual(['r1', 'r2']);
    expect(back.metadata.model).toMatch(/step-000007$/);
    expect(back.tensors.get('image_local')!.shape).toEqual([2, 4, 128]);
  });
});
