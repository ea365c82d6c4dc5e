import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPublicAddress } from './webhook-url.js';

/** `retryAfterMs`: the receiver's Retry-After (seconds or an HTTP date) as a delay from now, when it sent one. */
export type AttemptResult = { status: number | null; durationMs: number; error: string | null; retryAfterMs?: number | null };

/** A Retry-After value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  // An HTTP-date names a weekday and month; bare numbers and signs are not dates here.
  const at = /^[A-Za-z]{3},? /.test(v) ? Date.parse(v) : Number.NaN;
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
export type PostOptions = { connectTimeoutMs: number; timeoutMs: number; strict: boolean };

/** Keep-alive agents of one worker: a busy endpoint reuses its connections; destroyed when the worker stops. */
export function createAgents() {
  const options = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16 };
  const agents = { http: new http.Agent(options), https: new https.Agent(options) };
  return { ...agents, destroy: () => (agents.http.destroy(), agents.https.destroy()) };
}

/**
 * One POST, never following a redirect (a 3xx is a failed attempt). Bounded twice: `connectTimeoutMs` until the
 * connection is up, `timeoutMs` for the whole exchange. In strict mode the connection goes only to public
 * addresses: literal IPs are checked here, names by {@link guardedLookup} on the address actually dialled.
 */
export function postWebhook(agents: ReturnType<typeof createAgents>, url: string, headers: Record<string, string>, body: string, opts: PostOptions): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (opts.strict && isIP(host) && !isPublicAddress(host)) return Promise.resolve({ status: null, durationMs: 0, error: `blocked: ${host} is not a public address` });
  const https_ = target.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<AttemptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      resolve({ ...r, durationMs: elapsed() });
    };
    const req = (https_ ? https : http).request(target, {
      method: 'POST',
      agent: https_ ? agents.https : agents.http,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'dpp-webhooks/1', ...headers },
      ...(opts.strict ? { lookup: guardedLookup as never } : {}),
    });
    const total = setTimeout(() => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connect = setTimeout(() => req.destroy(new Error(`connect timed out after ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connect));
      socket.once('close', () => clearTimeout(connect));
    });
    req.on('response', (res) => {
      // The answer's body is not kept: read and drop it (so the connection can be reused), within the total timeout.
      res.on('data', () => undefined);
      res.on('end', () => done({ status: res.statusCode ?? null, error: null, retryAfterMs: retryAfterMs(res.headers['retry-after']) }));
      res.on('error', (err) => done({ status: res.statusCode ?? null, error: err.message }));
    });
    req.on('error', (err) => done({ status: null, error: err.message.slice(0, 500) }));
    req.end(body);
  });
}
