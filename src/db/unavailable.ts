/**
 * Whether an error means the database cannot be reached right now (as opposed to a bad query or bad
 * data): the one place that knows what an outage looks like, so every route answers it the same way
 * (503, `Retry-After`, SERVICE_UNAVAILABLE) instead of as a server fault.
 */

/** What `Retry-After` says while the database is away: about how long a restart or failover takes. */
export const RETRY_AFTER_SECONDS = 5;

/** Socket-level failures from node (connecting, or a connection dropped under a query). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * SQLSTATEs of a server that is going or not yet there: class 08 (connection exception), 57P01-57P03
 * (admin/crash shutdown, cannot connect now), 53300 (too many connections).
 */
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;

/** Messages of pg and pg-pool that carry no code (a connection ended mid-query, a pool that timed out). */
const MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error and is not queryable/i,
  /Connection ended unexpectedly/i,
  /connect ECONNREFUSED/i,
];

/** Walks `originalError` (GraphQL), `cause` (MikroORM, fetch) and AggregateError members, without recursion. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length && seen.size < 50) {
    const e = pending.pop();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { code, message, cause, originalError, errors } = e as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || SQLSTATE.test(code))) return true;
    if (typeof message === 'string' && MESSAGES.some((m) => m.test(message))) return true;
    pending.push(cause, originalError);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return false;
}
