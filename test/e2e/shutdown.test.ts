import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

/** The environment without the test run's database and Redis: the embedded database serves this process. */
function withoutServices(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _d, REDIS_URL: _r, ...rest } = env;
  return rest;
}

// `npm start` as a user runs it (the built server in its own process, outside the test environment, where
// Apollo would install signal handlers of its own), stopped the way a supervisor stops it.
describe('the server process on SIGTERM', () => {
  it('closes everything, logs "server stopped" and exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dpp-shutdown-'));
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      env: { ...withoutServices(process.env), NODE_ENV: 'development', PORT: '0', DPP_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const messages: string[] = [];
      const listening = new Promise<number>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = (() => {
            try {
              return JSON.parse(line) as { msg?: string; port?: number };
            } catch {
              return {};
            }
          })();
          if (entry.msg) messages.push(entry.msg);
          if (entry.msg === 'server listening') resolve(entry.port!);
        });
      });
      const port = await listening;
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(messages).toEqual(expect.arrayContaining(['shutting down', 'server stopped']));
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
