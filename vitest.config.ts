import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'src-server/**/*.test.ts',
      'src-main/**/*.test.ts',
      'src-renderer/src/lib/**/*.test.ts',
      'hardware/**/*.test.ts',
      'test/unit/**/*.test.ts',
      'test/integration/**/*.test.ts',
    ],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
