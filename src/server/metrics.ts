import type { ApolloServerPlugin } from '@apollo/server';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one server instance (a registry per instance, so tests can run several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const graphqlRequests = new Counter({
    name: 'dpp_graphql_requests_total',
    help: 'GraphQL operations by name, type and outcome',
    labelNames: ['operation', 'type', 'outcome', 'transport'] as const,
    registers: [registry],
  });
  const graphqlDuration = new Histogram({
    name: 'dpp_graphql_request_duration_seconds',
    help: 'GraphQL operation latency by name and type',
    labelNames: ['operation', 'type', 'transport'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'dpp_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });

  const rateLimitFallbacks = new Counter({
    name: 'dpp_rate_limit_fallback_total',
    help: 'Rate-limit decisions taken in this process because Redis was not ready or did not answer in time',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });
  const rateLimitDegraded = new Gauge({
    name: 'dpp_rate_limit_degraded',
    help: '1 while a Redis-backed rate limiter counts in this process (per replica) instead of in Redis',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });

  const webhookAttempts = new Counter({
    name: 'dpp_webhook_attempts_total',
    help: 'Webhook delivery attempts by endpoint and outcome (delivered, retry, failed, gone)',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  });
  const webhookAttemptDuration = new Histogram({
    name: 'dpp_webhook_attempt_duration_seconds',
    help: 'Webhook attempt latency (connect to last response byte) by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  let webhookDepth: (() => Promise<{ endpointId: string; due: number }[]>) | undefined;
  new Gauge({
    name: 'dpp_webhook_queue_depth',
    help: 'Webhook deliveries pending or in flight, by endpoint (read from the database at scrape time)',
    labelNames: ['endpoint'] as const,
    registers: [registry],
    async collect() {
      const rows = (await webhookDepth?.().catch(() => undefined)) ?? [];
      this.reset();
      for (const r of rows) this.set({ endpoint: r.endpointId }, r.due);
    },
  });

  /** Operation names are client-chosen: keep the label set bounded. */
  const label = (name: string | null | undefined) => (name && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'anonymous');

  const apolloPlugin: ApolloServerPlugin = {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, operationName, errors }) {
          const type = operation?.operation ?? 'unknown';
          const op = label(operationName);
          graphqlRequests.inc({ operation: op, type, outcome: errors?.length ? 'error' : 'ok', transport: 'http' });
          graphqlDuration.observe({ operation: op, type, transport: 'http' }, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };

  /** Counts a response by route, method and status once it has been sent. */
  const countHttp = (res: ServerResponse, route: string | (() => string), method: string) => {
    res.on('finish', () => httpRequests.inc({ route: typeof route === 'string' ? route : route(), method, status: String(res.statusCode) }));
  };
  const httpMiddleware: RequestHandler = (req, res, next) => {
    countHttp(res, () => String(req.route?.path ?? 'other'), req.method);
    next();
  };

  return {
    registry,
    apolloPlugin,
    httpMiddleware,
    countHttp,
    rateLimitFallback: (limiter: string) => rateLimitFallbacks.inc({ limiter }),
    rateLimitDegraded: (limiter: string, degraded: boolean) => rateLimitDegraded.set({ limiter }, degraded ? 1 : 0),
    /** One webhook attempt's outcome and duration. */
    webhookAttempt(endpointId: string, outcome: string, seconds: number) {
      webhookAttempts.inc({ endpoint: endpointId, outcome });
      webhookAttemptDuration.observe({ endpoint: endpointId }, seconds);
    },
    /** Where the queue-depth gauge reads from (the running webhook worker). */
    webhookQueueDepth(read: () => Promise<{ endpointId: string; due: number }[]>) {
      webhookDepth = read;
    },
    /** graphql-ws operations are counted here, since Apollo never sees them. */
    recordWs(operation: string | null | undefined, type: string, ok: boolean, seconds: number) {
      graphqlRequests.inc({ operation: label(operation), type, outcome: ok ? 'ok' : 'error', transport: 'ws' });
      graphqlDuration.observe({ operation: label(operation), type, transport: 'ws' }, seconds);
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Constant-time check of `Authorization: Bearer <token>` (hashes first, so lengths leak nothing). */
function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1] ?? '';
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/**
 * Answers a `/metrics` request: the exposition when the bearer token (if one is configured) matches,
 * 401 otherwise. Where it is mounted decides who can reach it at all (see {@link listenForMetrics}).
 */
export async function answerMetrics(metrics: Metrics, token: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' }).end('metrics need a bearer token\n');
    return;
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
}

/** A listener of its own for `/metrics` (DPP_METRICS_PORT on DPP_METRICS_HOST); everything else there is 404. */
export async function listenForMetrics(metrics: Metrics, opts: { port: number; host: string; token?: string }) {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      answerMetrics(metrics, opts.token, req, res).catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
