/** What every benchmark shares: the target server, a throwaway database, a started API, the output lines. */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/logging/logger.js';
import { startServer } from '../src/server/app.js';

/** The unit's signed Digital Link with one bit of its signature flipped: a forged copy that raises an alert. */
export function forgedLink(link: string): string {
  const url = new URL(link);
  const sig = Buffer.from(url.searchParams.get('sig')!, 'base64url');
  sig[3]! ^= 1;
  url.searchParams.set('sig', sig.toString('base64url'));
  return url.toString();
}

/** DATABASE_URL, or a clear exit: benchmarks measure the real PostgreSQL, never the embedded one. */
export function benchDatabaseUrl(name: string): string {
  const base = process.env.DATABASE_URL;
  if (!base) {
    process.stderr.write(`${name} needs DATABASE_URL (a PostgreSQL server; a fresh database is created on it)\n`);
    process.exit(2);
  }
  return base;
}

export const line = (name: string, value: number | string, unit = '') => process.stdout.write(`${name}: ${value}${unit ? ` ${unit}` : ''}\n`);

export function machineLine(): void {
  process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${new Date().toISOString()}\n`);
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `fn` against a fresh database created beside `base`, dropped afterwards. */
export async function withDatabase<T>(base: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `dpp_bench_${randomBytes(4).toString('hex')}`;
  // A short-lived admin connection each time: others may terminate long-lived connections to the base database.
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: base });
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin(`drop database if exists ${name} with (force)`);
  }
}

/** The real server on port 0 against `url`, with a GraphQL client and a helper making organisations with a key. */
export async function startBenchServer(url: string, env: Record<string, string> = {}) {
  const config = loadConfig({
    DATABASE_URL: url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DPP_BOOTSTRAP_API_KEY: `dpp_${randomBytes(24).toString('base64url')}`,
    DPP_MASTER_KEY: randomBytes(32).toString('hex'),
    // The transparency log's settings may be given to any bench (DPP_LOG_INTERVAL_MS=0: no sequencer, for a run without the log).
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DPP_LOG_'))),
    ...env,
  });
  const server = await startServer(config, createLogger('warn'));
  const gql = async <T>(query: string, variables: unknown, key?: string): Promise<T> => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };
  const org = async (kind: string, extra = '') => {
    const o = await gql<{ createOrganization: { id: string } }>(
      `mutation { createOrganization(input: { name: "${kind} ${randomBytes(3).toString('hex')}", kind: ${kind}${extra} }) { id } }`,
      {},
      config.bootstrapApiKey!,
    );
    const k = await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "bench") { secret } }', { o: o.createOrganization.id }, config.bootstrapApiKey!);
    return { id: o.createOrganization.id, key: k.createApiKey.secret };
  };
  return { server, config, gql, org };
}
