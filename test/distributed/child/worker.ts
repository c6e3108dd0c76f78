// One rank of a distributed test: runs the scenario named by argv[2] and prints `RESULT <json>`.
// RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT come from the parent.
import * as distributed from '../../../src/distributed/index.js';
import * as torch from '../../../src/torch/index.js';
import { COLS, ROWS, asFloat64, batchOf, rankLoss } from '../helpers.js';

const scenario = process.argv[2];
const rank = Number(process.env.RANK);
const worldSize = Number(process.env.WORLD_SIZE);
const explicit = { rank, worldSize, masterAddr: process.env.MASTER_ADDR!, masterPort: Number(process.env.MASTER_PORT) };

function report(result: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

const list = (t: torch.Tensor): number[] => Array.from(t.toArray() as ArrayLike<number | bigint>, Number);

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function collectives(): Promise<void> {
  distributed.init({ ...explicit, timeout: 10_000 });
  const sum = torch.tensor([rank + 1, 10 * (rank + 1), -rank], { dtype: 'float32' });
  await distributed.allReduce(sum);
  const max = torch.tensor([rank, -rank, 5], { dtype: 'float32' });
  await distributed.allReduce(max, 'max');
  const avg = torch.tensor([2 * rank, 4], { dtype: 'float64' });
  await distributed.allReduce(avg, 'avg');
  const sync = torch.tensor([rank + 0.5], { dtype: 'float32' });
  distributed.allReduceSync(sync, 'product');
  const gathered = await distributed.allGather(torch.full([2, 2], rank + 1, { dtype: 'float32' }));
  const bcast = torch.tensor([rank * 7, rank * 7 + 1], { dtype: 'int64' });
  await distributed.broadcast(bcast, 1);
  await distributed.barrier();
  // Several collectives in flight at once complete in issue order on every rank.
  const many = Array.from({ length: 4 }, (_, i) => torch.full([1000], rank + i, { dtype: 'float32' }));
  await Promise.all(many.map((t) => distributed.allReduce(t)));
  let badOp = '';
  try {
    distributed.allReduceSync(torch.tensor([1], { dtype: 'float32' }), 'mean' as distributed.ReduceOp);
  } catch (e) {
    badOp = errorText(e);
  }
  let nonContiguous = '';
  try {
    await distributed.allReduce(torch.zeros([2, 3]).t());
  } catch (e) {
    nonContiguous = errorText(e);
  }
  report({
    rank: distributed.getRank(),
    worldSize: distributed.getWorldSize(),
    sum: list(sum),
    max: list(max),
    avg: list(avg),
    product: list(sync),
    gathered: gathered.map((t) => list(t)),
    broadcast: list(bcast),
    many: many.map((t) => [list(t)[0], list(t)[999]]),
    badOp,
    nonContiguous,
  });
  distributed.destroy();
  report({ initializedAfterDestroy: distributed.isInitialized() });
}

async function gatherGrad(): Promise<void> {
  distributed.init({ ...explicit, timeout: 10_000 });
  const x = torch.tensor(batchOf(rank), { dtype: 'float64', requiresGrad: true });
  const global = distributed.allGatherWithGrad(x);
  const loss = rankLoss(rank, x, global);
  loss.backward();
  report({ shape: global.shape, global: list(global.detach()), grad: list(x.grad!), loss: loss.item(), rows: ROWS, cols: COLS });
  distributed.destroy();
}

async function fromEnv(): Promise<void> {
  distributed.init({ timeout: 10_000 });
  const t = torch.tensor([rank + 1], { dtype: 'float32' });
  await distributed.allReduce(t);
  report({ rank: distributed.getRank(), worldSize: distributed.getWorldSize(), backend: distributed.getBackend(), sum: list(t) });
  distributed.destroy();
}

// Rank $LEAVER (default 1) leaves after a barrier: it exits, or stays alive but never calls the
// collective. The other ranks must fail in time, naming it.
async function fault(mode: 'exit' | 'hang'): Promise<void> {
  const timeout = 4000;
  const leaver = Number(process.env.LEAVER ?? 1);
  distributed.init({ ...explicit, timeout });
  await distributed.barrier();  // every rank is past init before one leaves
  if (rank === leaver) {
    if (mode === 'exit') process.exit(3);
    setTimeout(() => process.exit(0), 15_000);  // alive, heartbeating, but never entering the collective
    return;
  }
  const t0 = performance.now();
  try {
    await distributed.allReduce(torch.ones([1000]));
    report({ error: null, ms: performance.now() - t0 });
  } catch (e) {
    report({ error: errorText(e), ms: performance.now() - t0, timeout });
  }
  process.exit(0);
}

// Only rank 0 is started: its rendezvous must fail naming the rank that never joined.
async function missingRank(): Promise<void> {
  const t0 = performance.now();
  try {
    distributed.init({ ...explicit, timeout: 3000 });
    report({ error: null });
  } catch (e) {
    report({ error: errorText(e), ms: performance.now() - t0, initialized: distributed.isInitialized() });
  }
}

const scenarios: Record<string, () => Promise<void>> = {
  collectives,
  'gather-grad': gatherGrad,
  env: fromEnv,
  'fault-exit': () => fault('exit'),
  'fault-hang': () => fault('hang'),
  'missing-rank': missingRank,
};
const run = scenarios[scenario ?? ''];
if (!run) throw new Error(`unknown scenario '${scenario}'`);
await run();
