import type { Server } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { MikroORM } from '@mikro-orm/postgresql';
import { GraphQLError, type GraphQLSchema, type ValidationRule, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../config/config.js';
import { AppError } from '../errors/app-error.js';
import type { AppServices, Viewer } from '../graphql/context.js';
import { formatError } from '../graphql/errors.js';
import { createContext, resolveViewer } from '../graphql/request-context.js';
import type { Metrics } from './metrics.js';

type ConnectionState = { viewer?: Viewer; active: Set<string>; started: Map<string, bigint> };

export type WsDeps = {
  config: Config;
  log: Logger;
  orm: MikroORM;
  schema: GraphQLSchema;
  metrics: Metrics;
  /** The same armour rules Apollo applies over HTTP (graphql-ws validates with plain graphql.validate). */
  validationRules: readonly ValidationRule[];
  services: AppServices;
};

function toFormatted(errors: readonly GraphQLError[]) {
  return errors.map((e) => formatError(e.toJSON(), e));
}

/**
 * graphql-ws on the same HTTP server and path. Authenticates in `connection_init`, applies the HTTP
 * limits to every operation, and caps live operations per connection.
 */
export function attachGraphqlWs(httpServer: Server, deps: WsDeps) {
  const { config, log, orm, schema, metrics } = deps;
  const limits = config.limits;
  const rules = [...specifiedRules, ...deps.validationRules];
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: limits.maxBodyBytes });
  const state = new WeakMap<object, ConnectionState>();
  const stateOf = (extra: object) => {
    let s = state.get(extra);
    if (!s) state.set(extra, (s = { active: new Set(), started: new Map() }));
    return s;
  };

  const server = useServer(
    {
      schema,
      connectionInitWaitTimeout: limits.wsInitTimeoutMs,
      onConnect: async (ctx) => {
        try {
          stateOf(ctx.extra).viewer = await resolveViewer(orm, ctx.connectionParams?.authorization);
          return true;
        } catch (e) {
          if (e instanceof AppError) return false; // graphql-ws closes with 4403 Forbidden
          throw e;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const s = stateOf(ctx.extra);
        if (s.active.size >= limits.wsMaxSubscriptions) {
          return [new GraphQLError(`At most ${limits.wsMaxSubscriptions} operations per connection`, { extensions: { code: 'RATE_LIMITED' } })];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: limits.maxTokens });
        } catch (e) {
          return [e instanceof GraphQLError ? new GraphQLError(e.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } }) : new GraphQLError('Invalid query')];
        }
        const errors = validate(schema, document, rules);
        if (errors.length) return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        s.active.add(id);
        s.started.set(id, process.hrtime.bigint());
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: createContext(orm, log, deps.services, s.viewer ?? { kind: 'ANONYMOUS' }),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (result.errors?.length) return { ...result, errors: toFormatted(result.errors) };
      },
      onError: (_ctx, _id, _payload, errors) => toFormatted(errors),
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
          await server.dispose();
          await new Promise<void>((resolve) => wss.close(() => resolve()));
        },
      };
    },
  };
  return { wss, drain };
}
