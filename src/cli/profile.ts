// `prior profile`: profiles one training step and prints the top ops by self time. With
// --prior-stage N the step is PRIOR's (stageStep, backward, AdamW; src/train/synthetic-step.ts)
// on a synthetic batch of the preset's shapes; without it, a small MLP's forward, loss, backward
// and SGD update written with the tensor API.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { priorConfig } from '../models/prior/index.js';
import * as torch from '../torch/index.js';
import type { ProfileColumn, Tensor } from '../torch/index.js';
import { syntheticStep } from '../train/synthetic-step.js';

const COLUMNS = ['selfCpuUs', 'totalCpuUs', 'calls', 'deviceUs', 'selfCpuMemoryBytes', 'cpuMemoryBytes', 'name'] as const satisfies readonly ProfileColumn[];

// Defaults live with the command line (src/cli/main.ts); here every option is required.
export const ProfileCliOptions = z.object({
  /** Default: 64 for the MLP, the preset's training batch (tiny 8, paper 2) for PRIOR. */
  batch: z.coerce.number().int().min(1).max(65_536).optional(),
  /** Profile PRIOR's training step of this stage instead of the MLP's. */
  priorStage: z.coerce.number().int().min(1).max(3).optional(),
  preset: z.enum(['tiny', 'paper']),
  precision: z.enum(['fp32', 'bf16']),
  /** Overrides of the preset's imageSize and textMaxLength (smaller steps, e.g. for tests). */
  imageSize: z.coerce.number().int().min(32).max(1024).optional(),
  textLength: z.coerce.number().int().min(8).max(512).optional(),
  hidden: z.coerce.number().int().min(1).max(16_384),
  warmup: z.coerce.number().int().min(0).max(1000),
  trace: z.string().min(1),
  sortBy: z.enum(COLUMNS),
  limit: z.coerce.number().int().min(1).max(1000),
  shapes: z.boolean(),
  memory: z.boolean(),
});
export type ProfileCliOptions = z.infer<typeof ProfileCliOptions>;

export const defaultTraceFile = (): string => join(tmpdir(), 'prior-profile-trace.json');

/** Validates raw options (strings from the command line); throws a readable error. */
export function parseProfileOptions(raw: unknown): ProfileCliOptions {
  const parsed = ProfileCliOptions.safeParse(raw);
  if (!parsed.success) throw new RangeError(`invalid profile options:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const INPUTS = 256;
const CLASSES = 10;
const LR = 0.05;

interface Mlp {
  readonly params: readonly Tensor[];
  step(x: Tensor, y: Tensor): void;
}

function makeMlp(hidden: number): Mlp {
  const param = (...shape: number[]) => torch.keep(torch.randn(shape).mul(1 / Math.sqrt(shape[0]!)).requiresGrad_());
  const w1 = param(INPUTS, hidden);
  const b1 = torch.keep(torch.zeros(hidden, { requiresGrad: true }));
  const w2 = param(hidden, CLASSES);
  const params = [w1, b1, w2];
  return {
    params,
    step: (x, y) =>
      torch.scope(() => {
        const logits = torch.recordFunction('model/forward', () => x.matmul(w1).add(b1).relu().matmul(w2));
        const loss = torch.recordFunction('model/loss', () => torch.crossEntropy(logits, y));
        torch.recordFunction('model/backward', () => loss.backward());
        torch.recordFunction('optim/sgd_step', () =>
          torch.noGrad(() => {
            for (const p of params) {
              p.sub_(p.grad!, { alpha: LR });
              p.grad = null;
            }
          }),
        );
      }),
  };
}

const PRIOR_BATCH = { tiny: 8, paper: 2 } as const;
const MLP_BATCH = 64;

/** A PRIOR training step of options.priorStage, and what it is, for the table's title. */
function priorStep(options: ProfileCliOptions, stage: 1 | 2 | 3): { step: () => void; title: string } {
  const overrides = { ...(options.imageSize === undefined ? {} : { imageSize: options.imageSize }), ...(options.textLength === undefined ? {} : { textMaxLength: options.textLength }) };
  const config = priorConfig(options.preset, overrides);
  const batchSize = options.batch ?? PRIOR_BATCH[options.preset];
  const { step } = syntheticStep(config, { stage, batchSize, precision: options.precision });
  const title = `PRIOR stage-${stage} training step (${options.preset}, batch ${batchSize}, ${config.imageSize}x${config.imageSize}, ${config.textMaxLength} tokens, ${options.precision}`;
  return { step: () => void step(), title };
}

function mlpStep(options: ProfileCliOptions): { step: () => void; title: string } {
  const batch = options.batch ?? MLP_BATCH;
  const mlp = makeMlp(options.hidden);
  const x = torch.randn(batch, INPUTS);
  const y = torch.randint(0, CLASSES, [batch]);
  return { step: () => mlp.step(x, y), title: `One training step (MLP ${INPUTS}-${options.hidden}-${CLASSES}, batch ${batch}` };
}

export function runProfile(options: ProfileCliOptions, out: NodeJS.WritableStream): void {
  torch.manualSeed(0);
  const stage = options.priorStage as 1 | 2 | 3 | undefined;
  const { step, title } = stage === undefined ? mlpStep(options) : priorStep(options, stage);
  // Warm-up steps first: the first calls pay one-off costs (allocator growth, kernel dispatch caches, optimizer state).
  for (let i = 0; i < options.warmup; i++) step();
  const result = torch.profile(step, { traceFile: options.trace, recordShapes: options.shapes, profileMemory: options.memory });
  out.write(`${title}, ${torch.getNumThreads()} intra-op threads):\n`);
  out.write(`${torch.formatProfileTable(result.rows, { sortBy: options.sortBy, limit: options.limit })}\n`);
  out.write(`Chrome trace: ${options.trace} (open in chrome://tracing or https://ui.perfetto.dev)\n`);
}
