// `prior profile`: option validation, and one profiled step that reports the training step's
// ops (forward matmuls, the loss, backward, the SGD update) and writes a Chrome trace.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseProfileOptions, runProfile } from '../../src/cli/profile.js';

const raw = { batch: '8', hidden: '16', warmup: '1', trace: 't.json', sortBy: 'selfCpuUs', limit: '50', shapes: false, memory: false, preset: 'tiny', precision: 'fp32' };

describe('profile options', () => {
  it('coerces command-line strings', () => {
    expect(parseProfileOptions(raw)).toMatchObject({ batch: 8, hidden: 16, warmup: 1, limit: 50, sortBy: 'selfCpuUs' });
  });

  it.each([
    [{ ...raw, batch: '0' }, /batch/],
    [{ ...raw, sortBy: 'speed' }, /sortBy/],
    [{ ...raw, limit: 'all' }, /limit/],
    [{ ...raw, priorStage: '4' }, /priorStage/],
    [{ ...raw, preset: 'huge' }, /preset/],
  ])('rejects %j naming the option', (bad, name) => {
    expect(() => parseProfileOptions(bad)).toThrow(name);
  });
});

describe('runProfile', () => {
  it('prints the step ops and writes the trace', () => {
    const trace = join(mkdtempSync(join(tmpdir(), 'prior-cli-profile-')), 'trace.json');
    const out = new PassThrough();
    runProfile(parseProfileOptions({ ...raw, trace }), out);
    const text = String(out.read());
    for (const name of ['aten::mm', 'aten::sub_', 'model/forward', 'model/backward', 'optim/sgd_step', 'MmBackward0']) expect(text).toContain(name);
    expect(text).toContain(`Chrome trace: ${trace}`);
    const events = (JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { name: string }[] }).traceEvents;
    expect(events.some((e) => e.name === 'optim/sgd_step')).toBe(true);
  });

  it('profiles a PRIOR stage-3 training step: forward, backward and AdamW ranges over the native ops', () => {
    const trace = join(mkdtempSync(join(tmpdir(), 'prior-cli-profile-')), 'trace.json');
    const out = new PassThrough();
    // tiny at 32x32 and 32 tokens, batch 4, no warm-up: one small step.
    runProfile(parseProfileOptions({ ...raw, batch: '4', warmup: '0', priorStage: '3', imageSize: '32', textLength: '32', trace }), out);
    const text = String(out.read());
    expect(text).toContain('PRIOR stage-3 training step (tiny, batch 4, 32x32, 32 tokens, fp32');
    // The convolutions (ResNet, image decoder), the linear layers, AdamW's moment update (CPU foreach runs per tensor).
    for (const name of ['prior/forward', 'optim/adamw_step', 'aten::mkldnn_convolution', 'aten::addmm', 'aten::lerp_']) expect(text).toContain(name);
    const events = (JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { name: string }[] }).traceEvents;
    for (const name of ['prior/forward', 'prior/backward', 'optim/adamw_step', 'ConvolutionBackward0']) expect(events.some((e) => e.name === name)).toBe(true);
  });
});
