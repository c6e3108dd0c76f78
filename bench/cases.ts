// The benchmark cases: sizes, iteration counts and targets are defined here only and sent to
// baseline.py with each request. The prior-ts loops are what a prior-ts user writes; the
// PyTorch loops (baseline.py) are what a PyTorch user writes.
import { models, optim, torch } from '../src/index.js';
import { DATA_CASES, type DataCase } from './data.js';
import { DIST_CASES, type DistributedCase } from './distributed.js';
import { IO_FILE_MB } from './io.js';
import { PRIOR_CASES, type PriorCase } from './prior.js';

export const SUITES = ['ops', 'matmul', 'memory', 'io', 'optim', 'models', 'data', 'distributed', 'prior'] as const;
export type Suite = (typeof SUITES)[number];

/** Per-op cases measure binding overhead, where prior-ts should beat CPython's. */
const PER_OP_TARGET = 0.7;
const DEFAULT_TARGET = 1.0;

interface CaseBase {
  /** Unique row key in the table and the JSON. */
  name: string;
  label: string;
  suite: Suite;
  iters: number;
  /** Largest prior-ts / PyTorch ratio that passes. */
  target: number;
}

type Loop = (iters: number) => void;

export interface TimedCase extends CaseBase {
  kind: 'time';
  /** baseline.py's case; `params` go to both sides. */
  baseline: string;
  params: Readonly<Record<string, number>>;
  /** Builds the inputs from `params` and returns the loop to time. */
  setup(): Loop;
}

/** RSS of a fresh process on each side after `iters` one-element additions. */
export interface RssCase extends CaseBase {
  kind: 'rss';
}

/** Loading a safetensors file in a fresh process on each side (bench/io.ts): wall time or peak RSS. */
export interface IoCase extends CaseBase {
  kind: 'io';
  metric: 'time' | 'peak';
}

export type Case = TimedCase | RssCase | IoCase | DataCase | DistributedCase | PriorCase;

/** A timed case whose setup sees its own params with their names and types. */
function timed<P extends Record<string, number>>(
  c: Omit<TimedCase, 'kind' | 'params' | 'setup'> & { params: P; setup(params: P): Loop },
): TimedCase {
  return { ...c, kind: 'time', setup: () => c.setup(c.params) };
}

/** BERT-base's parameter shapes (~110M parameters), from its config; baseline.py's bert_shapes repeats it. */
interface BertConfig extends Record<string, number> {
  vocab: number;
  hidden: number;
  layers: number;
  intermediate: number;
  positions: number;
}

function bertShapes({ vocab, hidden: h, layers, intermediate: f, positions }: BertConfig): number[][] {
  const layer = [[h, h], [h], [h, h], [h], [h, h], [h], [h, h], [h], [h], [h], [f, h], [f], [h, f], [h], [h], [h]];
  return [[vocab, h], [positions, h], [2, h], [h], [h], ...Array.from({ length: layers }, () => layer).flat(), [h, h], [h]];
}

const BERT_BASE: BertConfig = { vocab: 30522, hidden: 768, layers: 12, intermediate: 3072, positions: 512 };

/** One AdamW step (PRIOR's hyperparameters) over BERT-base-sized parameters whose grads are set. */
function adamwLoop(params: BertConfig & { fused: number }): Loop {
  const ps = bertShapes(params).map((shape) => {
    const p = torch.keep(torch.rand(shape).requiresGrad_());
    p.grad = torch.rand(shape);
    return p;
  });
  const opt = new optim.AdamW(ps, { lr: 1e-5, weightDecay: 1e-6, mode: params.fused ? 'fused' : 'foreach' });
  return (iters) => {
    for (let i = 0; i < iters; i++) opt.step();
  };
}

/** Runs `forward` under CPU bf16 autocast when asked; backward stays outside, as in PyTorch. */
function maybeAutocast<T>(bf16: number, forward: () => T): T {
  return bf16 ? optim.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, forward) : forward();
}

/** One training step's compute: forward (under bf16 autocast if asked), backward of the sum. */
function fwdBwdLoop(model: { zeroGrad(): void }, forward: () => torch.Tensor, bf16: number): Loop {
  return (iters) => {
    for (let i = 0; i < iters; i++) {
      torch.scope(() => {
        model.zeroGrad();
        maybeAutocast(bf16, forward).float().sum().backward();
      });
    }
  };
}

/** ResNet-50 (PRIOR's 1-channel image encoder trunk) forward + backward in train mode. */
function resnetLoop({ batch, size, bf16 }: { batch: number; size: number; bf16: number }): Loop {
  const model = new models.resnet.ResNet(50, { inChannels: 1, numClasses: null });
  const x = torch.keep(torch.randn(batch, 1, size, size));
  return fwdBwdLoop(model, () => model.call(x), bf16);
}

/** BERT-base forward + backward in train mode (dropout on), batch x tokens of random ids. */
function bertLoop({ batch, tokens, bf16 }: { batch: number; tokens: number; bf16: number }): Loop {
  const model = new models.bert.BertModel(models.bert.bertConfig('bert-base'));
  const ids = torch.keep(torch.randint(0, BERT_BASE.vocab, [batch, tokens]));
  return fwdBwdLoop(model, () => model.call({ inputIds: ids }).lastHiddenState, bf16);
}

function addLoop(): Loop {
  const a = torch.rand(1);
  const b = torch.rand(1);
  return (iters) => {
    for (let i = 0; i < iters; i++) a.add(b);
  };
}

function matmulLoop({ size }: { size: number }): Loop {
  const a = torch.rand(size, size);
  const b = torch.rand(size, size);
  return (iters) => {
    for (let i = 0; i < iters; i++) a.matmul(b);
  };
}

export const CASES: readonly Case[] = [
  timed({
    name: 'add',
    label: 'a + b, 1 element',
    suite: 'ops',
    iters: 100_000,
    target: PER_OP_TARGET,
    baseline: 'add',
    params: {},
    setup: addLoop,
  }),
  timed({
    name: 'add_no_grad',
    label: 'a + b, 1 element, noGrad',
    suite: 'ops',
    iters: 100_000,
    target: PER_OP_TARGET,
    baseline: 'add_no_grad',
    params: {},
    setup: () => {
      const loop = addLoop();
      return (iters) => torch.noGrad(() => loop(iters));
    },
  }),
  timed({
    name: 'matmul_64',
    label: 'matmul 64x64',
    suite: 'matmul',
    iters: 10_000,
    target: DEFAULT_TARGET,
    baseline: 'matmul',
    params: { size: 64 },
    setup: matmulLoop,
  }),
  timed({
    name: 'matmul_512',
    label: 'matmul 512x512',
    suite: 'matmul',
    iters: 1_000,
    target: DEFAULT_TARGET,
    baseline: 'matmul',
    params: { size: 512 },
    setup: matmulLoop,
  }),
  timed({
    name: 'from_array',
    label: 'tensor(Float32Array(1024))',
    suite: 'ops',
    iters: 10_000,
    target: PER_OP_TARGET,
    baseline: 'from_array',
    params: { length: 1024 },
    setup: ({ length }) => {
      const data = Float32Array.from({ length: length }, () => Math.random());
      return (iters) => {
        for (let i = 0; i < iters; i++) torch.tensor(data);
      };
    },
  }),
  timed({
    name: 'forward_backward',
    label: '(w * x).sum().backward(), 16 elements',
    suite: 'ops',
    iters: 10_000,
    target: PER_OP_TARGET,
    baseline: 'forward_backward',
    params: { length: 16 },
    setup: ({ length }) => {
      const w = torch.rand(length, { requiresGrad: true });
      const x = torch.rand(length);
      return (iters) => {
        for (let i = 0; i < iters; i++) {
          w.mul(x).sum().backward();
          w.grad = null; // as PyTorch's optimizer.zero_grad() (set_to_none) does
        }
      };
    },
  }),
  {
    kind: 'rss',
    name: 'rss_add_1m',
    label: 'RSS after 1M a + b (MB)',
    suite: 'memory',
    iters: 1_000_000,
    target: DEFAULT_TARGET,
  },
  {
    kind: 'io',
    metric: 'time',
    name: 'safetensors_load_time',
    label: `load ${IO_FILE_MB} MB safetensors`,
    suite: 'io',
    iters: 1,
    target: DEFAULT_TARGET,
  },
  {
    kind: 'io',
    metric: 'peak',
    name: 'safetensors_load_peak_rss',
    label: `peak RSS loading ${IO_FILE_MB} MB safetensors`,
    suite: 'io',
    iters: 1,
    target: DEFAULT_TARGET,
  },
  ...[0, 1].flatMap((bf16) => [
    timed({
      name: `resnet50_fwd_bwd${bf16 ? '_bf16' : ''}`,
      label: `ResNet-50 fwd+bwd, 4x1x224x224${bf16 ? ', bf16 autocast' : ''}`,
      suite: 'models',
      iters: 1,
      target: 1.05,
      baseline: 'resnet50',
      params: { batch: 4, size: 224, bf16 },
      setup: resnetLoop,
    }),
    timed({
      name: `bert_base_fwd_bwd${bf16 ? '_bf16' : ''}`,
      label: `BERT-base fwd+bwd, 4x256 tokens${bf16 ? ', bf16 autocast' : ''}`,
      suite: 'models',
      iters: 1,
      target: 1.05,
      baseline: 'bert_base',
      params: { batch: 4, tokens: 256, bf16 },
      setup: bertLoop,
    }),
  ]),
  timed({
    name: 'adamw_bert_foreach',
    label: 'AdamW step, BERT-base params (foreach)',
    suite: 'optim',
    iters: 3,
    target: DEFAULT_TARGET,
    baseline: 'adamw_bert',
    params: { ...BERT_BASE, fused: 0 },
    setup: adamwLoop,
  }),
  timed({
    name: 'adamw_bert_fused',
    label: 'AdamW step, BERT-base params (fused)',
    suite: 'optim',
    iters: 3,
    target: DEFAULT_TARGET,
    baseline: 'adamw_bert',
    params: { ...BERT_BASE, fused: 1 },
    setup: adamwLoop,
  }),
  ...DATA_CASES,
  ...DIST_CASES,
  ...PRIOR_CASES,
];
