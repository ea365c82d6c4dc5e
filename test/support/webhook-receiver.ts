import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request as the receiver got it: raw body and headers, and when. */
export type Received = { path: string; headers: IncomingHttpHeaders; body: string; at: number };

/** `together`: answers wait until that many requests to the path are waiting, then all go at once (at most 5 s). */
type Plan = { statuses: number[]; holdMs: number; headers: Record<string, string>; together?: number };

/**
 * A real HTTP receiver for webhook tests. Each path has its own answer plan (status codes taken in turn, the
 * last one repeating) and an optional hold before answering; every request is kept for the test to verify.
 */
export async function startReceiver() {
  const received: Received[] = [];
  const plans = new Map<string, Plan>();
  const gates = new Map<string, (() => void)[]>();
  let inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      inFlight.set(path, (inFlight.get(path) ?? 0) + 1);
      maxInFlight.set(path, Math.max(maxInFlight.get(path) ?? 0, inFlight.get(path)!));
      const plan: Plan = plans.get(path) ?? { statuses: [200], holdMs: 0, headers: {} };
      const status = plan.statuses.length > 1 ? plan.statuses.shift()! : plan.statuses[0]!;
      const answer = () => {
        inFlight.set(path, inFlight.get(path)! - 1);
        res.writeHead(status, { ...(status >= 300 && status < 400 ? { location: 'http://127.0.0.1:1/elsewhere' } : {}), ...(status >= 400 ? plan.headers : {}) }).end('ok');
        for (const w of waiters) w();
      };
      if (!plan.together) return void setTimeout(answer, plan.holdMs);
      const gate = gates.get(path) ?? [];
      gates.set(path, gate);
      let done = false;
      const release = () => {
        if (done) return;
        done = true;
        answer();
      };
      gate.push(release);
      setTimeout(release, 5000);
      if (gate.length >= plan.together) for (const r of gate.splice(0)) r();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    received,
    url: (path: string) => `${base}${path}`,
    /** `headers` go with every error answer (e.g. a Retry-After); `together` see {@link Plan}. */
    plan(path: string, statuses: number[], holdMs = 0, headers: Record<string, string> = {}, together?: number) {
      plans.set(path, { statuses: [...statuses], holdMs, headers, together });
    },
    maxInFlight: (path: string) => maxInFlight.get(path) ?? 0,
    of: (path: string) => received.filter((r) => r.path === path),
    /** Waits until `count` requests reached `path` (and were answered), or fails after `timeoutMs`. */
    async waitFor(path: string, count: number, timeoutMs = 5000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.filter((r) => r.path === path).length < count || (inFlight.get(path) ?? 0) > 0) {
        if (Date.now() > deadline) throw new Error(`${path}: ${received.filter((r) => r.path === path).length} of ${count} deliveries after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 20);
          waiters.add(() => (clearTimeout(t), resolve()));
        });
        waiters.clear();
      }
      return received.filter((r) => r.path === path);
    },
    async close() {
      inFlight = new Map();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Verifies a delivery exactly as a receiver would, with the `standardwebhooks` package; answers the parsed payload. */
export function verifyDelivery(secret: string, r: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(r.headers[h] ?? '')]));
  return new Webhook(secret).verify(r.body, headers) as never;
}
