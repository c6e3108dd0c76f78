// Types for libtorch.mjs, so TypeScript callers (bench/) import it without `any`.
export interface LibtorchInfo {
  root: string;
  version: string;
  cxx11Abi: boolean;
  python: string | null;
  source: 'LIBTORCH' | 'Torch_DIR' | 'python' | 'venv';
  include: string[];
  lib: string;
  cuda: boolean;
  /** Include folders for c10d's NCCL backend (space-separated); '' builds without NCCL. */
  ncclInclude: string;
}

/** Finds libtorch in the documented order; `create: false` never creates the project venv. */
export function findLibtorch(options?: { create?: boolean }): LibtorchInfo;
