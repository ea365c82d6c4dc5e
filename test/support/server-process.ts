import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The built server (`dist/src/main.js`, what `npm start` runs) as a child process of its own. */
export type ServerProcess = {
  child: ChildProcess;
  url: string;
  /** What the process wrote to stderr so far (its log goes to stdout). */
  stderr(): string;
  /** Resolves with how the process ended (exit code, or the signal that killed it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `ms`; resolves with how it ended. */
  stop(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Starts the built server with exactly `env` (plus PATH) and waits for its "server listening" line. */
export async function spawnServer(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['dist/src/main.js'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /"port":(\d+).*server listening/.exec(line);
      if (m) (clearTimeout(timer), resolve(Number(m[1])));
    });
    void exited.then(({ code, signal }) => (clearTimeout(timer), reject(new Error(`server exited early (${code ?? signal}): ${stderr}`))));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    exited,
    async stop(ms = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}
