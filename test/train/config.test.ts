// The training config: presets (the paper's values from spec §0/§8), strict keys with their
// paths in the error, --set edits (JSON or string, bad paths named), the model section checked
// by PriorConfigSchema, and the CLI's option rules.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainCliOptions, trainPlan } from '../../src/cli/train.js';
import { ConfigError, TRAIN_PRESETS, applySet, deepMerge, modelConfig, parseSetValue, resolveTrainConfig } from '../../src/train/config.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('presets', () => {
  it("paper holds the released run's values (spec §0 and §8)", () => {
    const c = resolveTrainConfig({ preset: 'paper' });
    expect(c.stages.map((s) => [s.epochs, s.warmupEpochs, s.peakLr, s.startLr, s.endLr, s.weightDecay])).toEqual([
      [20, 1, 1e-5, 1e-7, 0, 1e-6],
      [30, 1, 1e-5, 1e-7, 0, 1e-6],
      [100, 5, 5e-6, 1e-8, 0, 1e-6],
    ]);
    expect({ seed: c.seed, precision: c.precision, batch: c.data.batchSize, size: c.data.imageSize, workers: c.data.workers }).toEqual({
      seed: 114514,
      precision: 'fp16',
      batch: 98,
      size: 224,
      workers: 16,
    });
    expect({ steps: c.stepsPerEpoch, temp: c.spbTemperature, join: c.data.textJoin, val: c.validation.everyEpochs }).toEqual({ steps: 'faithful', temp: 'fixed', join: 'faithful', val: 0 });
    expect(modelConfig(c).embedDim).toBe(768);
  });

  it('tiny is the default and validates', () => {
    const c = resolveTrainConfig();
    expect(c.model.preset).toBe('tiny');
    expect(c.data.dataset).toBe('data/synth/train.json');
    expect(modelConfig(c).imageSize).toBe(c.data.imageSize);
  });
});

describe('validation names the key path', () => {
  it('rejects unknown keys at any depth', () => {
    expect(() => resolveTrainConfig({ set: ['stages.1.peakLR=1e-4'] })).toThrow(/stages\.1: Unrecognized key: "peakLR"/);
    expect(() => resolveTrainConfig({ set: ['data.batchsize=4'] })).toThrow(/data: Unrecognized key: "batchsize"/);
    const file = join(tmp.dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ checkpoint: { every: 5 }, seeds: 1 }));
    expect(() => resolveTrainConfig({ file })).toThrow(ConfigError);
    expect(() => resolveTrainConfig({ file })).toThrow(/checkpoint: Unrecognized key: "every"[\s\S]*\(root\): Unrecognized key: "seeds"/);
  });

  it('rejects bad types and ranges with the path', () => {
    expect(() => resolveTrainConfig({ set: ['seed=abc'] })).toThrow(/seed: Invalid input: expected number, received string/);
    expect(() => resolveTrainConfig({ set: ['precision=fp8'] })).toThrow(/precision: Invalid option/);
    expect(() => resolveTrainConfig({ set: ['stages.2.epochs=-1'] })).toThrow(/stages\.2\.epochs/);
    expect(() => resolveTrainConfig({ set: ['stages.0.epochs=2', 'stages.0.warmupEpochs=2'] })).toThrow(/stages\.0\.warmupEpochs: warmupEpochs must be less than epochs/);
    expect(() => resolveTrainConfig({ set: ['stages.1.warmupEpochs=0'] })).toThrow(/stages\.1\.warmupEpochs: Too small/);
    expect(() => resolveTrainConfig({ set: ['data.batchSize=2.5'] })).toThrow(/data\.batchSize/);
  });

  it('checks the model section with PriorConfigSchema and the image size against the data', () => {
    expect(() => resolveTrainConfig({ set: ['model.overrides.embedDim=100'] })).toThrow(/model \(preset 'tiny' \+ overrides\)[\s\S]*embedDim: must be a multiple of 16/);
    expect(() => resolveTrainConfig({ set: ['model.overrides.nonsense=1'] })).toThrow(/nonsense/);
    expect(() => resolveTrainConfig({ set: ['data.imageSize=96'] })).toThrow(/data\.imageSize 96 differs from the model's imageSize 64/);
    expect(resolveTrainConfig({ set: ['data.imageSize=96', 'model.overrides.imageSize=96'] }).data.imageSize).toBe(96);
  });

  it('--set: JSON values or strings; a path through a missing section is named', () => {
    expect(parseSetValue('1e-4')).toBe(1e-4);
    expect(parseSetValue('true')).toBe(true);
    expect(parseSetValue('null')).toBe(null);
    expect(parseSetValue('[1,2]')).toEqual([1, 2]);
    expect(parseSetValue('data/x.json')).toBe('data/x.json');
    const c = resolveTrainConfig({ set: ['data.dataset=some/file.json', 'stages.2.peakLr=3e-6', 'threads=2', 'data.val=v.json'] });
    expect({ d: c.data.dataset, lr: c.stages[2].peakLr, t: c.threads, v: c.data.val }).toEqual({ d: 'some/file.json', lr: 3e-6, t: 2, v: 'v.json' });
    expect(() => resolveTrainConfig({ set: ['optim.lr=1'] })).toThrow(/--set optim\.lr: 'optim' is not a config section \(no such key\)/);
    expect(() => resolveTrainConfig({ set: ['seed.x=1'] })).toThrow(/--set seed\.x: 'seed' is not a config section \(it is 114514\)/);
    expect(() => resolveTrainConfig({ set: ['stages.3.epochs=1'] })).toThrow(/'stages\.3' is not a config section/);
    expect(() => resolveTrainConfig({ set: ['stages.5=1'] })).toThrow(/'5' is not an index of 'stages' \(length 3\)/);
    expect(() => resolveTrainConfig({ set: ['seed'] })).toThrow(/expected key\.path=value/);
    expect(() => applySet({ a: {} }, 'a..b=1')).toThrow(/empty key/);
  });

  it('a config file merges over the preset: objects by key, arrays by index', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, l: [{ x: 1, y: 2 }, { x: 3 }] }, { a: { c: 5 }, l: [{ y: 9 }] })).toEqual({ a: { b: 1, c: 5 }, l: [{ x: 1, y: 9 }] });
    const file = join(tmp.dir, 'cfg.json');
    writeFileSync(file, JSON.stringify({ stages: [{ epochs: 3 }, {}, { epochs: 4, warmupEpochs: 2 }], precision: 'bf16' }));
    const c = resolveTrainConfig({ preset: 'paper', file, set: ['precision=fp32'] });
    expect(c.stages.map((s) => s.epochs)).toEqual([3, 30, 4]);
    expect(c.stages[2].peakLr).toBe(TRAIN_PRESETS.paper.stages[2].peakLr);
    expect(c.precision).toBe('fp32');
    expect(() => resolveTrainConfig({ file: join(tmp.dir, 'missing.json') })).toThrow(/config file '.*missing\.json'/);
  });
});

describe('prior train options', () => {
  it('--resume excludes --config/--set/--preset/--out and needs a run directory', () => {
    expect(() => parseTrainCliOptions({ resume: 'runs/x', set: ['seed=1'] })).toThrow(/--resume DIR continues DIR's run with its saved config\.json/);
    expect(() => parseTrainCliOptions({ preset: 'huge' })).toThrow(/invalid options for 'prior train'/);
    expect(() => trainPlan(parseTrainCliOptions({ resume: tmp.dir }))).toThrow(/no config\.json there/);
  });

  it('a new run goes to runs/<time>-<preset> unless --out', () => {
    const plan = trainPlan(parseTrainCliOptions({ set: ['seed=7'] }), new Date('2026-01-02T03:04:05.678Z'));
    expect(plan).toMatchObject({ runDir: join('runs', '2026-01-02T03-04-05-tiny'), resume: false, config: { seed: 7 } });
    expect(trainPlan(parseTrainCliOptions({ preset: 'paper', out: 'x' })).runDir).toBe('x');
  });
});

describe('the saved config', () => {
  it('writes every model field out, so a run rebuilds the same model after a preset changes', () => {
    const config = resolveTrainConfig({ set: ['model.overrides.prototypes=32'] });
    const overrides = config.model.overrides as Record<string, unknown>;
    expect(overrides).toMatchObject({ prototypes: 32, queries: 8, embedDim: 128, imageDepth: 18 });
    expect((overrides.text as Record<string, unknown>).hidden_size).toBe(128);
    // Reading the pinned config back gives the identical model config.
    const reread = JSON.parse(JSON.stringify(config)) as unknown;
    expect(modelConfig(resolveTrainConfig({ set: [] }))).not.toEqual(modelConfig(config));
    expect(modelConfig(config)).toEqual(modelConfig({ ...config, ...(reread as object) } as typeof config));
  });
});
