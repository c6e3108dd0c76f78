#!/usr/bin/env node
// Finds libtorch for the build, in the documented order:
//   1. LIBTORCH (a libtorch root) or Torch_DIR (its share/cmake/Torch folder)
//   2. the active Python's torch (PYTHON, else python3): how GPU machines get a CUDA libtorch
//   3. the project-local venv (.venv), created with PyTorch's CPU wheel when nothing else is found
// Prints one JSON object; `--field NAME` prints one field (for binding.gyp and CMake).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(projectRoot, '.venv');
const venvPython = join(venv, 'bin', 'python');
const CPU_WHEEL = process.env.PRIOR_TORCH_SPEC ?? 'torch==2.13.0+cpu';

function log(msg) {
  process.stderr.write(`[libtorch] ${msg}\n`);
}

function pythonTorch(python) {
  const probe = spawnSync(
    python,
    ['-c', 'import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return null;
  const [root, version, abi] = probe.stdout.trim().split('\n');
  return { root, version, cxx11Abi: abi === '1', python };
}

function fromRoot(root, source) {
  const lib = join(root, 'lib');
  if (!existsSync(join(root, 'include', 'ATen', 'core', 'Tensor.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) {
    throw new Error(`${source}: ${root} is not a libtorch root (needs include/ATen and lib/libtorch_cpu.so)`);
  }
  return root;
}

function versionFromHeaders(root) {
  const file = join(root, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!existsSync(file)) return 'unknown';
  const m = readFileSync(file, 'utf8').match(/TORCH_VERSION\s+"([^"]+)"/);
  return m ? m[1] : 'unknown';
}

function abiFromCmake(root) {
  const file = join(root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  if (!existsSync(file)) return true;
  const m = readFileSync(file, 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=(\d)/);
  return m ? m[1] === '1' : true;
}

function createVenv() {
  log(`no libtorch found; creating ${venv} with ${CPU_WHEEL}`);
  const py = process.env.PYTHON ?? 'python3';
  const mk = spawnSync(py, ['-m', 'venv', venv], { stdio: 'inherit' });
  if (mk.status !== 0) return false;
  // Fail fast on unreachable indexes (offline machines serve wheels from a local index).
  const pip = [venvPython, '-m', 'pip', 'install', '--retries', '0', '--timeout', '15', '--disable-pip-version-check'];
  const full = spawnSync(pip[0], [...pip.slice(1), CPU_WHEEL, 'numpy', 'safetensors'], { stdio: 'inherit' });
  if (full.status === 0) return true;
  log('full install failed; retrying torch alone with --no-deps (enough to build against)');
  const bare = spawnSync(pip[0], [...pip.slice(1), '--no-deps', CPU_WHEEL], { stdio: 'inherit' });
  return bare.status === 0;
}

// c10d's NCCL backend needs, besides a CUDA libtorch with ProcessGroupNCCL.hpp, nccl.h and the
// CUDA headers that ATen/cuda includes: NCCL_INCLUDE_DIR / CUDA_HOME, the pip wheels' nvidia/*
// packages beside torch, or the system's. Returns the include folders, or [] to build without NCCL.
function ncclIncludes(root, cuda) {
  if (!cuda || !existsSync(join(root, 'include', 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupNCCL.hpp'))) return [];
  const dirs = [];
  for (const d of [process.env.NCCL_INCLUDE_DIR, process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'include')]) if (d) dirs.push(d);
  const nvidia = join(root, '..', 'nvidia');
  if (existsSync(nvidia)) for (const p of readdirSync(nvidia)) if (existsSync(join(nvidia, p, 'include'))) dirs.push(join(nvidia, p, 'include'));
  dirs.push('/usr/local/cuda/include', '/usr/include');
  const has = (file) => dirs.some((d) => existsSync(join(d, file)));
  if (!has('nccl.h') || !has('cuda_runtime_api.h')) return [];
  return dirs.filter((d) => existsSync(d) && d !== '/usr/include');
}

export function findLibtorch({ create = true } = {}) {
  let found = null;
  if (process.env.LIBTORCH) {
    const root = fromRoot(resolve(process.env.LIBTORCH), 'LIBTORCH');
    found = { root, version: versionFromHeaders(root), cxx11Abi: abiFromCmake(root), python: null, source: 'LIBTORCH' };
  } else if (process.env.Torch_DIR) {
    const root = fromRoot(resolve(process.env.Torch_DIR, '..', '..', '..'), 'Torch_DIR');
    found = { root, version: versionFromHeaders(root), cxx11Abi: abiFromCmake(root), python: null, source: 'Torch_DIR' };
  } else {
    const active = pythonTorch(process.env.PYTHON ?? 'python3');
    if (active) found = { ...active, source: 'python' };
    else if (existsSync(venvPython)) {
      const local = pythonTorch(venvPython);
      if (local) found = { ...local, source: 'venv' };
    }
    if (!found && create && createVenv()) {
      const local = pythonTorch(venvPython);
      if (local) found = { ...local, source: 'venv' };
      else if (existsSync(join(venv, 'lib'))) {
        // --no-deps torch may not import (missing pure-Python deps) but its headers and libraries are there.
        const site = join(venv, 'lib', readdirSync(join(venv, 'lib')).find((d) => d.startsWith('python')) ?? '', 'site-packages', 'torch');
        if (existsSync(site)) found = { root: site, version: versionFromHeaders(site), cxx11Abi: abiFromCmake(site), python: null, source: 'venv' };
      }
    }
  }
  if (!found) {
    throw new Error(
      'libtorch 2.x not found. Install one of:\n' +
        `  - PyTorch in a venv:  python3 -m venv .venv && .venv/bin/pip install ${CPU_WHEEL}\n` +
        '  - PyTorch in the active Python (pip install torch), or\n' +
        '  - a libtorch zip, then set LIBTORCH=/path/to/libtorch (or Torch_DIR=/path/to/libtorch/share/cmake/Torch).',
    );
  }
  const lib = join(found.root, 'lib');
  const major = Number.parseInt(found.version, 10);
  if (Number.isFinite(major) && major < 2) throw new Error(`libtorch ${found.version} at ${found.root}: version 2.x is required`);
  const cuda = existsSync(join(lib, 'libtorch_cuda.so'));
  return {
    ...found,
    include: [join(found.root, 'include'), join(found.root, 'include', 'torch', 'csrc', 'api', 'include')],
    lib,
    cuda,
    ncclInclude: ncclIncludes(found.root, cuda).join(' '),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const info = findLibtorch();
    const i = process.argv.indexOf('--field');
    if (i >= 0) {
      const v = info[process.argv[i + 1]];
      process.stdout.write(Array.isArray(v) ? v.join(' ') : String(v));
    } else {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    }
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
