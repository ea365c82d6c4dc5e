import type { Server } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { MikroORM } from '@mikro-orm/postgresql';
import { type DocumentNode, GraphQLError, type GraphQLSchema, NoSchemaIntrospectionCustomRule, parse, specifiedRules, type ValidationRule, validate } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../config/config.js';
import { AppError } from '../errors/app-error.js';
import type { AppServices } from '../context/services.js';
import type { Viewer } from '../context/viewer.js';
import { formatError, mapError } from '../graphql/errors.js';
import { checkOperationInput } from '../graphql/input-guard.js';
import { createContext } from '../context/request-context.js';
import { resolveViewer } from './authenticate.js';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Metrics } from './metrics.js';
import { clientIp } from './client-ip.js';
import { consume } from '../context/limits.js';

type ConnectionState = { viewer?: Viewer; authorization?: unknown; active: Set<string>; started: Map<string, bigint> };

export type WsDeps = {
  config: Config;
  log: Logger;
  orm: MikroORM;
  schema: GraphQLSchema;
  metrics: Metrics;
  /** The same armour rules Apollo applies over HTTP (graphql-ws validates with plain graphql.validate). */
  validationRules: readonly ValidationRule[];
  services: AppServices;
  anonLimiter: RateLimiterAbstract;
};

/** The client address, honouring the same number of trusted proxy hops as Express does over HTTP. */
/**
 * graphql-ws on the same HTTP server and path. Authenticates in `connection_init`, applies the HTTP
 * limits to every operation, and caps live operations per connection.
 */
export function attachGraphqlWs(httpServer: Server, deps: WsDeps) {
  const { config, log, orm, schema, metrics } = deps;
  const limits = config.limits;
  // Apollo adds the introspection rule and hides field suggestions itself; graphql-ws needs both done here.
  const rules = [...specifiedRules, ...deps.validationRules, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const hideSuggestions = (message: string) => (config.introspection ? message : message.replace(/ ?Did you mean .*$/s, ''));

  /** Same mapping as HTTP; a result with no `data` is a request error (bad variables), as Apollo treats it. */
  const toFormatted = (errors: readonly GraphQLError[], requestError: boolean, requestId?: string) =>
    errors.map((e) => {
      const formatted = { ...e.toJSON(), message: hideSuggestions(e.message) };
      if (requestError && !e.extensions?.code) formatted.extensions = { ...formatted.extensions, code: 'GRAPHQL_VALIDATION_FAILED' };
      const mapped = mapError(formatted, e);
      if (mapped.internal) log.error({ err: e.originalError ?? e, requestId }, 'unexpected error (graphql-ws)');
      const out = formatError(formatted, e);
      return mapped.internal && requestId ? { ...out, extensions: { ...out.extensions, requestId } } : out;
    });
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: limits.maxBodyBytes });
  const state = new WeakMap<object, ConnectionState>();
  const stateOf = (extra: object) => {
    let s = state.get(extra);
    if (!s) state.set(extra, (s = { active: new Set(), started: new Map() }));
    return s;
  };

  // Authenticated connections, re-checked every `wsRecheckMs`: a key revoked (or a session that ended) while a
  // subscription runs closes its connection, on whichever replica holds it, within that interval.
  const authenticated = new Map<WebSocket, ConnectionState>();
  const recheck = setInterval(() => {
    void (async () => {
      for (const [socket, st] of [...authenticated]) {
        try {
          st.viewer = await resolveViewer(orm, st.authorization, deps.services.apiKeys);
        } catch (e) {
          if (!(e instanceof AppError)) {
            log.warn({ err: e }, 'graphql-ws credential re-check failed; will retry');
            continue;
          }
          authenticated.delete(socket);
          socket.close(4403, 'Forbidden: credentials revoked or expired');
        }
      }
    })();
  }, limits.wsRecheckMs);
  recheck.unref();

  const server = useServer(
    {
      schema,
      connectionInitWaitTimeout: limits.wsInitTimeoutMs,
      onConnect: async (ctx) => {
        try {
          const st = stateOf(ctx.extra);
          st.authorization = ctx.connectionParams?.authorization;
          st.viewer = await resolveViewer(orm, st.authorization, deps.services.apiKeys);
          if (st.viewer.kind !== 'ANONYMOUS') {
            const socket = ctx.extra.socket;
            authenticated.set(socket, st);
            socket.once('close', () => authenticated.delete(socket));
          }
          return true;
        } catch (e) {
          if (e instanceof AppError) return false; // graphql-ws closes with 4403 Forbidden
          throw e;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const s = stateOf(ctx.extra);
        if (s.active.size >= limits.wsMaxSubscriptions) {
          return [new GraphQLError(`At most ${limits.wsMaxSubscriptions} operations per connection`, { extensions: { code: 'RATE_LIMITED' } })];
        }
        // Reserve the slot before any await, so a burst of subscribe messages cannot overshoot the cap.
        s.active.add(id);
        const refuse = (errors: GraphQLError[]) => {
          s.active.delete(id);
          return errors;
        };
        if (s.viewer && s.viewer.kind !== 'ANONYMOUS') {
          // Re-check the key or session per operation: one revoked (or expired) while connected opens nothing new.
          try {
            s.viewer = await resolveViewer(orm, s.authorization, deps.services.apiKeys);
          } catch {
            return refuse([new GraphQLError(s.viewer.kind === 'OWNER' ? 'Unknown, expired or signed-out owner session' : 'Unknown or revoked API key', { extensions: { code: 'UNAUTHENTICATED' } })]);
          }
        }
        if (s.viewer?.kind !== 'ORGANIZATION') {
          const wait = await consume(deps.anonLimiter, clientIp(ctx.extra.request, config.trustProxy));
          if (wait) return refuse([new GraphQLError('Too many requests; slow down', { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: wait } })]);
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: limits.maxTokens });
        } catch (e) {
          return refuse([new GraphQLError(e instanceof GraphQLError ? e.message : 'Invalid query', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })]);
        }
        const errors = validate(schema, document, rules);
        if (errors.length) {
          return refuse(errors.map((e) => new GraphQLError(hideSuggestions(e.message), { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })));
        }
        // The same input check as over HTTP, before graphql-js coerces the variables.
        const refused = checkOperationInput(schema, document, payload.operationName, payload.variables);
        if (refused.length) return refuse(refused);
        s.started.set(id, process.hrtime.bigint());
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: createContext(orm, log, deps.services, s.viewer ?? { kind: 'ANONYMOUS' }, undefined, clientIp(ctx.extra.request, config.trustProxy)),
        };
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return;
        const requestId = (args.contextValue as { requestId?: string } | undefined)?.requestId;
        return { ...result, errors: toFormatted(result.errors, !('data' in result), requestId) };
      },
      onError: (_ctx, _id, _payload, errors) => toFormatted(errors, true),
      onComplete: (ctx, id, payload) => {
        const s = stateOf(ctx.extra);
        const started = s.started.get(id);
        s.active.delete(id);
        s.started.delete(id);
        if (started !== undefined) {
          metrics.recordWs(payload.operationName, 'ws', true, Number(process.hrtime.bigint() - started) / 1e9);
        }
      },
    },
    wss,
  );

  /** Closes every socket (1001) and the server; Apollo calls it while draining. */
  const drain: ApolloServerPlugin = {
    async serverWillStart() {
      return {
        async drainServer() {
          clearInterval(recheck);
          await server.dispose();
          await new Promise<void>((resolve) => wss.close(() => resolve()));
        },
      };
    },
  };
  return { wss, drain };
}
