// A PretrainLoader worker thread: makes items (read, decode, transform, tokenise) and sends them
// back with their buffers transferred, not copied. Imports pure-TS modules only, never the addon.
import { parentPort, workerData } from 'node:worker_threads';
import { type ItemConfig, ItemMaker, type ItemTask, resultBuffers } from './pretrain-item.js';

export interface WorkerRequest {
  id: number;
  task: ItemTask;
}

export type WorkerReply = { id: number; result: import('./pretrain-item.js').ItemResult } | { id: number; error: string };

if (parentPort === null) throw new Error('loader-worker: must run as a worker thread');
const port = parentPort;
const maker = new ItemMaker(workerData as ItemConfig);

port.on('message', (request: WorkerRequest) => {
  maker.make(request.task).then(
    (result) => port.postMessage({ id: request.id, result } satisfies WorkerReply, resultBuffers(result)),
    (e: unknown) => port.postMessage({ id: request.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerReply),
  );
});
