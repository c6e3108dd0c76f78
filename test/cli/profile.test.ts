// `prior profile`: option validation, and one profiled step that reports the training step's
// ops (forward matmuls, the loss, backward, the SGD update) and writes a Chrome trace.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseProfileOptions, runProfile } from '../../src/cli/profile.js';

const raw = { batch: '8', hidden: '16', warmup: '1', trace: 't.json', sortBy: 'selfCpuUs', limit: '50', shapes: false, memory: false };

describe('profile options', () => {
  it('coerces command-line strings', () => {
    expect(parseProfileOptions(raw)).toMatchObject({ batch: 8, hidden: 16, warmup: 1, limit: 50, sortBy: 'selfCpuUs' });
  });

  it.each([
    [{ ...raw, batch: '0' }, /batch/],
    [{ ...raw, sortBy: 'speed' }, /sortBy/],
    [{ ...raw, limit: 'all' }, /limit/],
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
});
