// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_, multi-tensor path)
// and gradient accumulation over micro-batches.
import * as torch from '../torch/index.js';
import { Tensor } from '../torch/index.js';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (PyTorch's error_if_nonfinite). */
  errorIfNonfinite?: boolean;
}

function gradsOf(params: Tensor | Iterable<Tensor>): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
}

/**
 * Scales the gradients of `params` in place so that their joint `normType`-norm is at most
 * `maxNorm`, and returns that total norm (before clipping) as a 0-d tensor. As PyTorch: the
 * norm of the per-gradient norms, then one multiply by min(1, maxNorm / (total + 1e-6)), with
 * no host synchronisation.
 */
export function clipGradNorm_(params: Tensor | Iterable<Tensor>, maxNorm: number, normType = 2, options: ClipGradNormOptions = {}): Tensor {
  return torch.scope(() =>
    torch.noGrad(() => {
      const grads = gradsOf(params);
      if (grads.length === 0) return torch.tensor(0);
      const total = torch.norm(torch.stack(torch._foreachNorm(grads, normType)), normType);
      if (options.errorIfNonfinite && !total.isfinite().item()) {
        throw new Error(
          `clipGradNorm_: the total norm of order ${normType} of the gradients is non-finite (${total.item()}), so it cannot be clipped; ` +
            'pass errorIfNonfinite: false to clip anyway',
        );
      }
      // PyTorch's `max_norm / (total + 1e-6)` is Tensor.__rtruediv__: reciprocal, then multiply.
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clampMax(1);
      torch._foreachMulTensor_(grads, coef);
      return total;
    }),
  );
}

/** Clamps every gradient of `params` to [-clipValue, clipValue] in place. */
export function clipGradValue_(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  torch.scope(() =>
    torch.noGrad(() => {
      const grads = gradsOf(params);
      if (grads.length === 0) return;
      torch._foreachClampMin_(grads, -clipValue);
      torch._foreachClampMax_(grads, clipValue);
    }),
  );
}

/**
 * Gradient accumulation: runs `lossOf` on each micro-batch and back-propagates loss / n, so
 * the gradients that accumulate in `.grad` are those of the mean loss over the whole batch
 * (for equal-sized micro-batches with mean-reduced losses). Call `optimizer.step()` (and
 * `zeroGrad()`) once afterwards. `scale` wraps each loss before backward, e.g. a GradScaler's
 * `scale`. Returns the mean of the micro-batch losses. Each micro-batch's graph and temporaries
 * are released before the next one starts.
 */
export function accumulateGradients<B>(microBatches: readonly B[], lossOf: (batch: B) => Tensor, scale: (loss: Tensor) => Tensor = (l) => l): number {
  if (microBatches.length === 0) throw new Error('accumulateGradients: no micro-batches');
  let sum = 0;
  for (const batch of microBatches) {
    sum += torch.scope(() => {
      const loss = lossOf(batch);
      if (loss.numel !== 1) throw new Error(`accumulateGradients: the loss must be a scalar, got shape [${loss.shape}]`);
      scale(loss.div(microBatches.length)).backward();
      return loss.item() as number;
    });
  }
  return sum / microBatches.length;
}
