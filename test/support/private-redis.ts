import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, Socket } from 'node:net';

/**
 * A redis-server of the test's own on a free port (no persistence), which the test may kill and start
 * again: the shared Redis on 6379 is never touched. Undefined when `redis-server` is not installed,
 * after one loud line; under CI=true or DPP_REQUIRE_REDIS_SERVER=1 that is an error instead.
 */
export type PrivateRedis = {
  url: string;
  port: number;
  /** SIGKILL: connections drop at once, nothing is saved. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open and commands go unanswered (a hung Redis), then it carries on. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
};

export const redisServerInstalled = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error === undefined;

/** Whether a missing redis-server must fail the run instead of skipping. */
const required = process.env.CI === 'true' || process.env.DPP_REQUIRE_REDIS_SERVER === '1';

/** Announces (once per file) that Redis-outage tests are skipped, or throws when they must run. */
export function requireRedisServer(what: string): boolean {
  if (redisServerInstalled) return true;
  if (required) throw new Error(`redis-server is not installed, but CI=true or DPP_REQUIRE_REDIS_SERVER=1 requires ${what}`);
  console.warn(`\n!!! SKIPPED: ${what} needs redis-server on PATH (apt-get install redis-server); set DPP_REQUIRE_REDIS_SERVER=1 to fail instead !!!\n`);
  return false;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls until something accepts TCP connections on the port. */
async function accepting(port: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await accepting(port);
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  const signal = (name: NodeJS.Signals) => void child?.kill(name);
  return { url: `redis://127.0.0.1:${port}`, port, kill, restart: start, stop: kill, pause: () => signal('SIGSTOP'), resume: () => signal('SIGCONT') };
}
