import type { IncomingMessage } from 'node:http';

/**
 * The client's address as Express computes `req.ip` with `trust proxy` set to a hop count: the address
 * `trustProxy` hops back along `X-Forwarded-For` (the furthest one when the header is shorter), or the
 * socket's peer when no proxy is trusted.
 */
export function clientIp(request: IncomingMessage, trustProxy: number | false): string {
  const direct = request.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return direct;
  const hops = String(request.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  return hops[hops.length - trustProxy] ?? hops[0] ?? direct;
}
