import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Separate processes: libtorch state is per process, and RSS tests need their own.
    pool: 'forks',
    maxWorkers: 2,
    // Two workers on two cores: one intra-op thread each, or OpenMP spin-waits oversubscribe.
    env: { PRIOR_NUM_THREADS: '1' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
