// The addon's Gloo backend is built without gloo's headers (native/gloo_decls): it must neither
// reference nor define gloo code, only call c10d functions that libtorch_cpu exports, and every
// symbol it imports must resolve when the library loads.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const addon = fileURLToPath(new URL('../../build/Release/prior_native.node', import.meta.url));

function nm(args: string[]): string[] {
  const r = spawnSync('nm', [...args, addon], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`nm ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

describe('c10d ABI', () => {
  it('imports the c10d entry points from libtorch and no gloo symbol', () => {
    const undefinedSyms = nm(['-DC', '--undefined-only']);
    for (const wanted of ['c10d::ProcessGroupGloo::ProcessGroupGloo(', 'c10d::ProcessGroupGloo::createDefaultDevice(', 'c10d::TCPStore::TCPStore(']) {
      expect(undefinedSyms.some((l) => l.includes(wanted)), wanted).toBe(true);
    }
    expect(undefinedSyms.filter((l) => /gloo::/.test(l))).toEqual([]);
  });

  it('defines no gloo function, vtable or typeinfo of its own', () => {
    // Containers of gloo pointers (std::vector<std::shared_ptr<gloo::transport::Device>>) are
    // std code and fine; anything in gloo's own namespace would be compiled from our stand-ins.
    const own = nm(['-C', '--defined-only']).map((l) => l.replace(/^[0-9a-f]+\s+\w\s+/, ''));
    expect(own.filter((name) => /^((vtable|typeinfo|typeinfo name|VTT|construction vtable) for )?gloo::/.test(name))).toEqual([]);
  });

  it('loads with every symbol bound at load time (LD_BIND_NOW)', () => {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)}).distInfo()`], {
      encoding: 'utf8',
      env: { ...process.env, LD_BIND_NOW: '1' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
