import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { ApolloServer, type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import express, { type ErrorRequestHandler } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/config.js';
import { AppError } from '../errors/app-error.js';
import type { AppServices } from '../context/services.js';
import type { Context } from '../context/request-context.js';
import { formatError, mapError } from '../graphql/errors.js';
import { createContext } from '../context/request-context.js';
import { resolveViewer } from './authenticate.js';
import { isOwnerToken } from '../modules/ownership/owner-session.service.js';
import { wellKnownRouter } from '../modules/keys/well-known.routes.js';
import { credentialContextRouter } from '../modules/passports/credential-context.js';
import { statusListRouter } from '../modules/status-lists/status-list.routes.js';
import { credentialRouter } from '../modules/passports/credential.routes.js';
import { ownerPageRouter } from '../modules/ownership/owner-page.routes.js';
import { labelRouter } from '../modules/labels/label.routes.js';
import { digitalLinkRouter } from '../modules/verification/resolver.routes.js';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import { batteryPassRouter } from '../modules/batteries/battery.routes.js';
import { logRouter } from '../modules/log/log.routes.js';
import { clientIp } from './client-ip.js';
import { preExecutionGuard, unavailableError, unavailableStatus } from './graphql-guards.js';
import { answerMetrics, type Metrics } from './metrics.js';
import { consume } from '../context/limits.js';

export type HttpDeps = {
  config: Config;
  log: Logger;
  orm: MikroORM;
  schema: GraphQLSchema;
  metrics: Metrics;
  anonLimiter: RateLimiterAbstract;
  ready: () => Promise<boolean>;
  services: AppServices;
  /** Drains graphql-ws when Apollo stops, so one call shuts both down. */
  wsDrain: ApolloServerPlugin;
};

/** The GraphQL armour (depth, aliases, cost, tokens, directives) shared by HTTP and graphql-ws. */
export function createArmor(config: Config) {
  const l = config.limits;
  return new ApolloArmor({
    // Introspection too: ignoring it (armour's default) let a 16-deep `__schema` query past a limit of 12.
    maxDepth: { n: l.maxDepth, ignoreIntrospection: false },
    maxAliases: { n: l.maxAliases },
    costLimit: { maxCost: l.maxCost },
    // Token limits are enforced by graphql's own parser (parseOptions below, and in graphql-ws), which
    // answers 400; armour's token plugin throws from an Apollo hook and turns into a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: l.maxDirectives },
    blockFieldSuggestion: { enabled: !config.introspection },
  }).protect();
}

function graphqlErrorBody(code: string, message: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { ...extensions, code } }] };
}

function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID();
}

/** A request body the parser refused, or an unexpected failure, as a status and a GraphQL-shaped body. */
function httpError(err: unknown, maxBodyBytes: number, requestId: string, log: Logger): { status: number; body: ReturnType<typeof graphqlErrorBody>; retryAfter?: number } {
  const e = err as { type?: string; status?: number };
  if (isDatabaseUnavailable(err)) {
    log.warn({ err, requestId }, 'database unavailable');
    return {
      status: 503,
      retryAfter: RETRY_AFTER_SECONDS,
      body: graphqlErrorBody('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry later', { retryAfterSeconds: RETRY_AFTER_SECONDS }),
    };
  }
  if (e.type === 'entity.too.large') {
    return { status: 413, body: graphqlErrorBody('BAD_USER_INPUT', `Request body larger than ${maxBodyBytes} bytes`, { reason: 'PAYLOAD_TOO_LARGE' }) };
  }
  if (e.type === 'entity.parse.failed') return { status: 400, body: graphqlErrorBody('BAD_USER_INPUT', 'Request body is not valid JSON', { reason: 'MALFORMED_JSON' }) };
  if (e.status && e.status >= 400 && e.status < 500) return { status: e.status, body: graphqlErrorBody('BAD_USER_INPUT', 'Bad request', { reason: 'BAD_REQUEST' }) };
  log.error({ err, requestId }, 'unhandled HTTP error');
  return { status: 500, body: graphqlErrorBody('INTERNAL_SERVER_ERROR', 'Internal server error', { requestId }) };
}

function sendJson(res: ServerResponse, status: number, body: unknown, retryAfter?: number): void {
  const text = JSON.stringify(body);
  if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** Whether a request is for the GraphQL endpoint (`/graphql`, with or without a trailing slash or query). */
function isGraphqlRequest(url: string | undefined): boolean {
  if (!url?.startsWith('/graphql')) return false;
  const rest = url.slice('/graphql'.length);
  return rest === '' || rest === '/' || rest[0] === '?' || rest.startsWith('/?');
}

/**
 * The HTTP request handler: Apollo at `/graphql`, served straight from node:http, and an Express app for
 * the operational routes, the Digital Link resolver and the owner page. (Express in front of `/graphql` —
 * its router walking every route, its request decoration, the integration's URL parse and the response's
 * ETag — cost about a tenth of a scan's CPU; none of it did anything for a GraphQL request.)
 */
export async function createHttpApp(httpServer: Server, deps: HttpDeps) {
  const { config, log, orm, schema, metrics } = deps;
  const armor = createArmor(config);

  const errorLogging: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const mapped = mapError({ message: error.message, extensions: error.extensions }, error);
            // An outage of the database, or one a service names (a signing worker stopped, a key token failed).
            const reason = typeof mapped.extensions.reason === 'string' ? mapped.extensions.reason : null;
            if (mapped.code === 'SERVICE_UNAVAILABLE') (contextValue?.log ?? log).warn({ err: error.originalError ?? error, reason }, reason ? 'service unavailable' : 'database unavailable');
            if (mapped.internal) (contextValue?.log ?? log).error({ err: error.originalError ?? error }, 'unexpected error');
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          for (const e of response.body.singleResult.errors ?? []) {
            if (e.extensions?.code === 'INTERNAL_SERVER_ERROR' && contextValue?.requestId) {
              (e.extensions as Record<string, unknown>).requestId = contextValue.requestId;
            }
          }
        },
      };
    },
  };

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    parseOptions: { maxTokens: config.limits.maxTokens },
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT: Apollo's own handler would stop only itself, then re-raise the signal and
    // kill the process before the database, workers and outbox have closed (exit 143, no "server stopped").
    stopOnTerminationSignals: false,
    validationRules: armor.validationRules,
    formatError,
    plugins: [
      // graphql-armor is typed against the CommonJS build of @apollo/server; its plugins are plain objects.
      ...(armor.plugins as unknown as ApolloServerPlugin<Context>[]),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      deps.wsDrain,
      metrics.apolloPlugin,
      errorLogging,
      preExecutionGuard(config.trustProxy),
      unavailableStatus,
      // No HTTP cache hints are used; the plugin would wrap every field resolver for nothing.
      ApolloServerPluginCacheControlDisabled(),
      ...(config.introspection ? [] : [ApolloServerPluginLandingPageDisabled()]),
    ],
  });
  await apollo.start();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(metrics.httpMiddleware);
  app.use((req, res, next) => {
    res.locals.requestId = requestIdOf(req.headers);
    res.setHeader('x-request-id', res.locals.requestId as string);
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await deps.ready();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready' });
  });
  // On this port only behind a token, and only when no port of its own is configured; otherwise not found.
  if (config.metrics.token !== undefined && config.metrics.port === undefined) {
    app.get('/metrics', (req, res, next) => {
      answerMetrics(metrics, config.metrics.token, req, res).catch(next);
    });
  }
  const authenticate = (authorization: unknown) => resolveViewer(orm, authorization, deps.services.apiKeys);
  app.use(wellKnownRouter(orm, config));
  app.use(credentialContextRouter());
  app.use(statusListRouter(orm, deps.services));
  app.use(credentialRouter(orm, deps.services));
  app.use(ownerPageRouter());
  app.use(logRouter({ orm, services: deps.services, log, anonLimiter: deps.anonLimiter, authenticate, clientIp: (req) => clientIp(req, config.trustProxy) }));
  app.use(labelRouter({ orm, config, masterKey: deps.services.masterKey, authenticate }));
  // Before the resolver: answers only `?linkType=batteryPass` on a Digital Link and passes everything else on.
  app.use(batteryPassRouter({ orm, config, anonLimiter: deps.anonLimiter, log, authenticate }));
  app.use(digitalLinkRouter({ orm, config, services: deps.services, anonLimiter: deps.anonLimiter, log, authenticate }));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const { status, body, retryAfter } = httpError(err, config.limits.maxBodyBytes, res.locals.requestId as string, log);
    if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
    res.status(status).json(body);
  };
  app.use(onError);

  const parseJson = express.json({ limit: config.limits.maxBodyBytes });
  const contextFor = async (authorization: string | undefined, requestId: string, ip: string): Promise<Context> => {
    try {
      const viewer = await resolveViewer(orm, authorization, deps.services.apiKeys);
      return createContext(orm, log, deps.services, viewer, requestId, ip);
    } catch (e) {
      if (e instanceof AppError) throw new GraphQLError(e.message, { extensions: { code: e.code, http: { status: 401 } } });
      if (isDatabaseUnavailable(e)) {
        log.warn({ err: e, requestId }, 'database unavailable');
        throw unavailableError();
      }
      throw e;
    }
  };

  /** One GraphQL request: rate limit, JSON body, Apollo, response; every failure answered in GraphQL's shape. */
  const graphql = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdOf(req.headers);
    res.setHeader('x-request-id', requestId);
    metrics.countHttp(res, '/graphql', req.method ?? 'GET');
    try {
      const ip = clientIp(req, config.trustProxy);
      // Organisations (API keys) are not limited per IP; anonymous callers and consumers' owner sessions are.
      const { authorization } = req.headers;
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
      if (!authorization || (bearer && isOwnerToken(bearer))) {
        const wait = await consume(deps.anonLimiter, ip);
        if (wait) {
          res.setHeader('retry-after', String(wait));
          return sendJson(res, 429, graphqlErrorBody('RATE_LIMITED', 'Too many requests; slow down', { retryAfterSeconds: wait }));
        }
      }
      // Express's JSON parser, called directly: the same limit, charsets, encodings and strictness as every other route.
      const refused = await new Promise<unknown>((resolve) => parseJson(req as express.Request, res as express.Response, resolve));
      if (refused) {
        const { status, body } = httpError(refused, config.limits.maxBodyBytes, requestId, log);
        return sendJson(res, status, body);
      }
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      const url = req.url ?? '';
      const query = url.indexOf('?');
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: query < 0 ? '' : url.slice(query), body: (req as { body?: unknown }).body },
        context: () => contextFor(authorization, requestId, ip),
      });
      for (const [key, value] of response.headers) res.setHeader(key, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') {
        res.setHeader('content-length', Buffer.byteLength(response.body.string));
        res.end(response.body.string);
        return;
      }
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    } catch (err) {
      if (res.headersSent) {
        log.error({ err, requestId }, 'GraphQL response failed after its head was sent');
        res.destroy();
        return;
      }
      const { status, body, retryAfter } = httpError(err, config.limits.maxBodyBytes, requestId, log);
      sendJson(res, status, body, retryAfter);
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (isGraphqlRequest(req.url)) void graphql(req, res);
    else app(req, res);
  };
  return { handler, apollo };
}
