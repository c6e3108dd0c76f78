// The encoder a fine-tuning run starts from, from any source, so that one command gives both
// PRIOR's numbers and the baselines it is compared with:
// - a PRIOR run (or checkpoint) directory: the image encoder's backbone, the model-state keys
//   under `image_encoder.encoder.`;
// - a flat torchvision-keyed ResNet safetensors file (spec 12.1: `conv1.weight` with 1 input
//   channel, no `fc`), e.g. prior_resnet50 converted; RGB ImageNet weights are made grayscale
//   on loading (spec 1.1) and their `fc` dropped;
// - a random initialisation (torchvision's) of a given depth, seeded.
// The depth and input channels are read off the weights' keys and shapes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../io/checkpoint.js';
import { safetensors } from '../io/index.js';
import { ResNet, type ResNetDepth, grayscaleBackboneStateDict } from '../models/resnet/index.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { RUN_FILES } from '../train/run-dir.js';

export type EncoderSource = { kind: 'prior'; dir: string } | { kind: 'safetensors'; file: string } | { kind: 'random'; depth: ResNetDepth; seed: number };

export const PRIOR_ENCODER_PREFIX = 'image_encoder.encoder.';

export class EncoderLoadError extends Error {
  override name = 'EncoderLoadError';
}

/** ResNet depth of torchvision keys: bottlenecks (conv3) mean 50; three layer1 blocks 34; else 18. */
export function resnetDepthOf(keys: Iterable<string>): ResNetDepth {
  const set = new Set(keys);
  if (set.has('layer1.0.conv3.weight')) return 50;
  if (set.has('layer1.2.conv1.weight')) return 34;
  if (set.has('layer1.1.conv1.weight')) return 18;
  throw new EncoderLoadError(`no torchvision ResNet keys (layer1.N.convM.weight) among ${set.size} keys`);
}

/**
 * A 1-channel ResNet (no fc) holding `state` strictly; the tensors in `state` are not disposed.
 * RGB weights (ImageNet) are made grayscale as PRIOR does (spec 1.1: conv1 summed over its input channels).
 */
function resnetFrom(state: Map<string, Tensor>, source: string): ResNet {
  const conv1 = state.get('conv1.weight');
  if (conv1 === undefined) throw new EncoderLoadError(`${source}: no 'conv1.weight'`);
  if (conv1.dim() !== 4 || (conv1.size(1) !== 1 && conv1.size(1) !== 3)) throw new EncoderLoadError(`${source}: 'conv1.weight' must be [64, 1 or 3, 7, 7], got [${conv1.shape.join(', ')}]`);
  if (conv1.size(1) === 3) {
    const gray = grayscaleBackboneStateDict(state);
    try {
      return resnetFrom(gray, source);
    } finally {
      gray.get('conv1.weight')!.dispose();
    }
  }
  const withoutFc = new Map([...state].filter(([k]) => k !== 'fc.weight' && k !== 'fc.bias'));
  const depth = resnetDepthOf(withoutFc.keys());
  const net = new ResNet(depth, { inChannels: conv1.size(1), numClasses: null });
  try {
    net.loadStateDict(withoutFc, { strict: true });
  } catch (e) {
    net.dispose();
    throw new EncoderLoadError(`${source}: not a ResNet-${depth} backbone: ${(e as Error).message}`);
  }
  return net;
}

export function loadEncoder(source: EncoderSource): { encoder: ResNet; description: string } {
  if (source.kind === 'random') {
    torch.manualSeed(source.seed);
    return { encoder: new ResNet(source.depth, { inChannels: 1, numClasses: null }), description: `random:resnet${source.depth}:${source.seed}` };
  }
  if (source.kind === 'safetensors') {
    if (!existsSync(source.file)) throw new EncoderLoadError(`encoder file '${source.file}' does not exist`);
    const { tensors } = safetensors.load(source.file);
    try {
      return { encoder: resnetFrom(tensors, source.file), description: source.file };
    } finally {
      torch.dispose([...tensors.values()]);
    }
  }
  if (!existsSync(source.dir)) throw new EncoderLoadError(`checkpoint '${source.dir}' does not exist`);
  const isRunDir = existsSync(join(source.dir, RUN_FILES.config));
  const ckpt = loadCheckpoint(isRunDir ? join(source.dir, RUN_FILES.checkpoints) : source.dir);
  try {
    const state = new Map<string, Tensor>();
    for (const [k, t] of ckpt.model) if (k.startsWith(PRIOR_ENCODER_PREFIX)) state.set(k.slice(PRIOR_ENCODER_PREFIX.length), t);
    if (state.size === 0) throw new EncoderLoadError(`checkpoint '${ckpt.path}': no '${PRIOR_ENCODER_PREFIX}*' keys (not a PRIOR model state)`);
    return { encoder: resnetFrom(state, ckpt.path), description: ckpt.path };
  } finally {
    torch.dispose([...ckpt.model.values(), ...ckpt.rng.values()]);
    torch.dispose(ckpt.optimizer);
    torch.dispose(ckpt.scheduler);
  }
}
