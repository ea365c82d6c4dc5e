import { type ApolloServerPlugin, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import type { Context } from '../context/request-context.js';
import { checkOperationInput } from '../graphql/input-guard.js';

/** graphql-ws's URL as the client reached us: same host and path, ws or wss (the latter from a trusted proxy's header). */
export function websocketUrl(headers: HTTPGraphQLRequest['headers'], trustProxy: number | false): string {
  const host = headers.get('host');
  const proto = trustProxy ? headers.get('x-forwarded-proto')?.split(',')[0]?.trim() : undefined;
  const safeHost = host && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? host : 'localhost';
  return `${proto === 'https' ? 'wss' : 'ws'}://${safeHost}/graphql`;
}

/**
 * Refusals made after validation and before execution, over HTTP: a subscription (graphql-ws serves those;
 * executed over POST its resolver ran without an event), and input {@link checkOperationInput} refuses.
 * A thrown error becomes the response; its `http` extension sets the status and is not shown.
 */
export function preExecutionGuard(trustProxy: number | false): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema }) {
          if (operation?.operation === 'subscription') {
            const url = request.http ? websocketUrl(request.http.headers, trustProxy) : 'ws://<host>/graphql';
            throw new GraphQLError(`Subscriptions are served over graphql-ws (the graphql-transport-ws protocol) at ${url}, not over HTTP`, {
              extensions: { code: 'BAD_USER_INPUT', reason: 'OPERATION_NOT_SUPPORTED', websocketUrl: url, http: { status: 400 } },
            });
          }
          const [first] = checkOperationInput(schema, document, request.operationName, request.variables);
          if (first) throw new GraphQLError(first.message, { nodes: first.nodes, extensions: { ...first.extensions, http: { status: 400 } } });
        },
      };
    },
  };
}

/** A response carrying SERVICE_UNAVAILABLE (the database is away) is a 503 with Retry-After, whoever asked. */
export const unavailableStatus: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        if (!response.body.singleResult.errors?.some((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE')) return;
        response.http.status = 503;
        response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
      },
    };
  },
};

/** The error a context that could not be built (the key lookup met an outage) answers with. */
export function unavailableError(): GraphQLError {
  return new GraphQLError('The service is temporarily unavailable; retry later', {
    extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: RETRY_AFTER_SECONDS, http: { status: 503, headers: new HeaderMap([['retry-after', String(RETRY_AFTER_SECONDS)]]) } },
  });
}
