import { createRequire } from 'node:module';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// SWC compiles the legacy decorators type-graphql needs, with their metadata (esbuild drops it).
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2023',
      },
    }),
  ],
  resolve: {
    // Node loads graphql's CommonJS build for Apollo and type-graphql; vite would pick index.mjs for our
    // own imports, and two copies of graphql refuse each other's schemas and errors.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['test/support/setup.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Processed by vite, so a test can hand web-did-resolver its own fetch (vi.mock('cross-fetch')).
    server: { deps: { inline: ['web-did-resolver'] } },
  },
});
