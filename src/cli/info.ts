// `prior info`: what this process runs on (libtorch build, threads, CUDA, Node-API, memory cap).
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as torch from '../torch/index.js';

export interface InfoReport {
  libtorch: { version: string; path: string | null; config: string };
  threads: number;
  parallel: string;
  cuda: { available: boolean; devices: number };
  napiVersion: number;
  allocationCapBytes: number;
  physicalMemoryBytes: number;
}

/**
 * The folder of a shared library this process has loaded (Linux: /proc/self/maps), i.e. the
 * libtorch the addon really resolved through its RPATH, not the one a build script would find.
 */
export function loadedLibraryDir(file: string, maps = '/proc/self/maps'): string | null {
  let text: string;
  try {
    text = readFileSync(maps, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf('/'));
    if (line.includes('/') && path.endsWith(`/${file}`)) return dirname(path);
  }
  return null;
}

export function collectInfo(): InfoReport {
  const build = torch.buildInfo();
  const lib = loadedLibraryDir('libtorch_cpu.so');
  return {
    libtorch: { version: build.libtorchVersion, path: lib === null ? null : dirname(lib), config: build.config },
    threads: torch.getNumThreads(),
    parallel: build.parallelInfo,
    cuda: { available: torch.cuda.isAvailable(), devices: torch.cuda.deviceCount() },
    napiVersion: build.napiVersion,
    allocationCapBytes: torch.getAllocationCap(),
    physicalMemoryBytes: build.physicalMemory,
  };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** The human-readable report: one `name: value` line per fact. */
export function formatInfo(info: InfoReport): string {
  const napi = info.napiVersion === 0x7fffffff ? 'experimental (GC-time finalizers)' : String(info.napiVersion);
  const rows: [string, string][] = [
    ['libtorch', info.libtorch.version],
    ['libtorch path', info.libtorch.path ?? 'unknown'],
    ['threads', String(info.threads)],
    ['cuda', info.cuda.available ? `available, ${info.cuda.devices} device(s)` : 'not available'],
    ['node-api', napi],
    ['allocation cap', info.allocationCapBytes === 0 ? 'none' : `${gib(info.allocationCapBytes)} per tensor`],
    ['memory', gib(info.physicalMemoryBytes)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n');
}
