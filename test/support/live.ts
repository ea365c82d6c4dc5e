import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** What a live subscription has seen: `received` fills as results arrive; `state` records how it ended. */
export type Live<T> = {
  received: T[];
  /** Resolves shortly after the connection is acknowledged (the subscription is then registered). */
  ready: Promise<void>;
  state: { error: unknown; closed: boolean; completed: boolean };
  error(): unknown;
};

/**
 * Opens a real graphql-ws client (no retries) and subscribes: each result's `field` is collected, a refusal
 * lands in `state.error`. The client is pushed onto `clients` for the test file to dispose.
 */
export function liveSubscription<T>(
  clients: Client[],
  opts: { wsUrl: string; key?: string; query: string; variables?: Record<string, unknown>; field: string; settleMs?: number },
): Live<T> {
  const { wsUrl, key, query, variables, field, settleMs = 100 } = opts;
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: key ? { authorization: `Bearer ${key}` } : {} });
  clients.push(client);
  const received: T[] = [];
  const state = { error: undefined as unknown, closed: false, completed: false };
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  client.on('connected', () => setTimeout(started, settleMs));
  client.on('closed', () => (state.closed = true));
  client.subscribe({ query, variables }, {
    next: (r) => {
      if (r.errors) state.error = r.errors;
      else received.push((r.data as Record<string, T>)[field]!);
    },
    error: (e) => (state.error = e),
    complete: () => (state.completed = true),
  });
  return { received, ready, state, error: () => state.error };
}

/** Polls `check` every 25 ms for up to `ms`; answers its last value. */
export async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return check();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The Digital Link with one bit of its `?sig=` flipped: a forged code. */
export function withFlippedSignature(link: string): string {
  const url = new URL(link);
  const sig = Buffer.from(url.searchParams.get('sig')!, 'base64url');
  sig[3]! ^= 1;
  url.searchParams.set('sig', sig.toString('base64url'));
  return url.toString();
}
