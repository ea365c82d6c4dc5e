import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import express, { type ErrorRequestHandler, type Request } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/config.js';
import { AppError } from '../errors/app-error.js';
import type { AppServices, Context } from '../graphql/context.js';
import { formatError, mapError } from '../graphql/errors.js';
import { createContext, resolveViewer } from '../graphql/request-context.js';
import { isOwnerToken } from '../modules/ownership/owner-session.service.js';
import { wellKnownRouter } from '../modules/keys/well-known.routes.js';
import { ownerPageRouter } from '../modules/ownership/owner-page.routes.js';
import { digitalLinkRouter } from '../modules/verification/resolver.routes.js';
import type { Metrics } from './metrics.js';
import { consume } from './rate-limit.js';

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
    maxDepth: { n: l.maxDepth },
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

function requestIdOf(req: Request): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID();
}

/** Express app with Apollo at /graphql plus the operational routes. */
export async function createHttpApp(httpServer: Server, deps: HttpDeps) {
  const { config, log, orm, schema, metrics } = deps;
  const armor = createArmor(config);

  const errorLogging: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const mapped = mapError({ message: error.message, extensions: error.extensions }, error);
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
    validationRules: armor.validationRules,
    formatError,
    plugins: [
      // graphql-armor is typed against the CommonJS build of @apollo/server; its plugins are plain objects.
      ...(armor.plugins as unknown as ApolloServerPlugin<Context>[]),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      deps.wsDrain,
      metrics.apolloPlugin,
      errorLogging,
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
    res.locals.requestId = requestIdOf(req);
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
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.use(wellKnownRouter(orm, config));
  app.use(ownerPageRouter());
  app.use(digitalLinkRouter({ orm, config, services: deps.services, anonLimiter: deps.anonLimiter, log }));

  app.use(
    '/graphql',
    async (req, res, next) => {
      // Organisations (API keys) are not limited per IP; anonymous callers and consumers' owner sessions are.
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1];
      if (req.headers.authorization && !(bearer && isOwnerToken(bearer))) return next();
      const wait = await consume(deps.anonLimiter, req.ip ?? 'unknown');
      if (!wait) return next();
      res.setHeader('retry-after', String(wait));
      res.status(429).json(graphqlErrorBody('RATE_LIMITED', 'Too many requests; slow down', { retryAfterSeconds: wait }));
    },
    express.json({ limit: config.limits.maxBodyBytes }),
    (req, _res, next) => {
      // Apollo needs `req.body` to exist; a body of another content type is left for its CSRF check to refuse.
      if (!('body' in req)) (req as { body?: unknown }).body = undefined;
      next();
    },
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        try {
          const viewer = await resolveViewer(orm, req.headers.authorization, deps.services.apiKeys);
          return createContext(orm, log, deps.services, viewer, res.locals.requestId as string, req.ip ?? 'unknown');
        } catch (e) {
          if (e instanceof AppError) throw new GraphQLError(e.message, { extensions: { code: e.code, http: { status: 401 } } });
          throw e;
        }
      },
    }),
  );

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') {
      res.status(413).json(graphqlErrorBody('BAD_USER_INPUT', `Request body larger than ${config.limits.maxBodyBytes} bytes`, { reason: 'PAYLOAD_TOO_LARGE' }));
    } else if (e.type === 'entity.parse.failed') {
      res.status(400).json(graphqlErrorBody('BAD_USER_INPUT', 'Request body is not valid JSON', { reason: 'MALFORMED_JSON' }));
    } else if (e.status && e.status >= 400 && e.status < 500) {
      res.status(e.status).json(graphqlErrorBody('BAD_USER_INPUT', 'Bad request', { reason: 'BAD_REQUEST' }));
    } else {
      log.error({ err, requestId: res.locals.requestId }, 'unhandled HTTP error');
      res.status(500).json(graphqlErrorBody('INTERNAL_SERVER_ERROR', 'Internal server error', { requestId: res.locals.requestId }));
    }
  };
  app.use(onError);

  return { app, apollo };
}
