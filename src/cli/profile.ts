// `prior profile`: profiles one representative training step and prints the top ops by self
// time. The step is a small MLP's forward, loss, backward and SGD update written with the
// tensor API; once the PRIOR stage-3 step exists it belongs here instead.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import * as torch from '../torch/index.js';
import type { ProfileColumn, Tensor } from '../torch/index.js';

const COLUMNS = ['selfCpuUs', 'totalCpuUs', 'calls', 'deviceUs', 'selfCpuMemoryBytes', 'cpuMemoryBytes', 'name'] as const satisfies readonly ProfileColumn[];

// Defaults live with the command line (src/cli/main.ts); here every option is required.
export const ProfileCliOptions = z.object({
  batch: z.coerce.number().int().min(1).max(65_536),
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

export function runProfile(options: ProfileCliOptions, out: NodeJS.WritableStream): void {
  torch.manualSeed(0);
  const mlp = makeMlp(options.hidden);
  const x = torch.randn(options.batch, INPUTS);
  const y = torch.randint(0, CLASSES, [options.batch]);
  // Warm-up steps first: the first calls pay one-off costs (allocator growth, kernel dispatch caches).
  for (let i = 0; i < options.warmup; i++) mlp.step(x, y);
  const result = torch.profile(() => mlp.step(x, y), { traceFile: options.trace, recordShapes: options.shapes, profileMemory: options.memory });
  out.write(`One training step (MLP ${INPUTS}-${options.hidden}-${CLASSES}, batch ${options.batch}, ${torch.getNumThreads()} intra-op threads):\n`);
  out.write(`${torch.formatProfileTable(result.rows, { sortBy: options.sortBy, limit: options.limit })}\n`);
  out.write(`Chrome trace: ${options.trace} (open in chrome://tracing or https://ui.perfetto.dev)\n`);
}
