import { randomBytes } from 'node:crypto';
import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { type RunningServer, startServer } from '../../src/server/app.js';
import { CreateApiKeyDocument, CreateOrganizationDocument } from '../documents/organizations.js';
import { createTestDatabase } from './database.js';

export type GqlResponse<T = Record<string, unknown>> = {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> & { code?: string } }[];
  headers: Headers;
};

export type TestServer = RunningServer & {
  wsUrl: string;
  /** Bearer key of the PLATFORM organisation created by DPP_BOOTSTRAP_API_KEY. */
  platformKey: string;
  gql<T = Record<string, unknown>, V = Record<string, unknown>>(
    query: string | DocumentNode | TypedDocumentNode<T, V>,
    variables?: V,
    key?: string,
  ): Promise<GqlResponse<T>>;
  /** Creates an organisation of the given kind and returns it with a fresh API key. */
  org(kind: string, extra?: Record<string, unknown>): Promise<{ id: string; key: string }>;
  stop(): Promise<void>;
};

/** Boots the real server on port 0 with its own database; env overrides any setting, `opts.log` replaces the (silent) logger. */
export async function startTestServer(env: Record<string, string> = {}, opts: { log?: Logger } = {}): Promise<TestServer> {
  const db = await createTestDatabase();
  const platformKey = `dpp_${randomBytes(24).toString('base64url')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DPP_BOOTSTRAP_API_KEY: platformKey,
    DPP_MASTER_KEY: randomBytes(32).toString('hex'),
    ...db.env,
    ...env,
  });
  const server = await startServer(config, opts.log ?? createLogger(config.logLevel));
  const gql: TestServer['gql'] = async (query, variables, key) => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables }),
    });
    const body = (await res.json()) as Omit<GqlResponse, 'status' | 'headers'>;
    return { status: res.status, headers: res.headers, ...body } as GqlResponse<never>;
  };
  const org: TestServer['org'] = async (kind, extra = {}) => {
    const created = await gql(
      CreateOrganizationDocument,
      { input: { name: `${kind} ${randomBytes(3).toString('hex')}`, kind: kind as never, ...extra } },
      platformKey,
    );
    if (!created.data) throw new Error(JSON.stringify(created.errors));
    const id = created.data.createOrganization.id;
    const k = await gql(CreateApiKeyDocument, { organizationId: id, label: 'test' }, platformKey);
    if (!k.data) throw new Error(JSON.stringify(k.errors));
    return { id, key: k.data.createApiKey.secret };
  };
  return {
    ...server,
    wsUrl: server.url.replace(/^http/, 'ws') + '/graphql',
    platformKey,
    gql,
    org,
    async stop() {
      await server.close();
      await db.drop();
    },
  };
}
