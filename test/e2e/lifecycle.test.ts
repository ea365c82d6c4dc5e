import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startServer } from '../../src/server/app.js';
import { bootstrapPlatform } from '../../src/modules/organizations/bootstrap.js';
import { ApiKey, Organization } from '../../src/modules/organizations/organization.entity.js';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, testServerUrl } from '../support/database.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dpp-test-'));
  dirs.push(d);
  return d;
}

async function post(url: string, query: string, key?: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, any>; errors?: { extensions?: { code?: string } }[] } };
}

describe('first start and restart', () => {
  it('creates a PLATFORM key once on an empty database, and a restart keeps every record', async () => {
    const db = await createTestDatabase();
    const env = { ...db.env, ...(testServerUrl ? {} : { DPP_DATA_DIR: tempDir() }), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' };
    const config = loadConfig(env);
    const log = createLogger('silent');

    const first = await startServer(config, log);
    const key = first.bootstrap.createdSecret;
    expect(key).toMatch(/^dpp_/);
    const created = await post(first.url, 'mutation { createOrganization(input: { name: "Kept", kind: BRAND }) { id } }', key);
    expect(created.body.errors).toBeUndefined();
    await first.close();

    const second = await startServer(config, log);
    try {
      expect(second.bootstrap.createdSecret).toBeUndefined();
      const id = created.body.data!.createOrganization.id as string;
      const read = await post(second.url, `{ organization(id: "${id}") { name } }`, key);
      expect(read.body.data?.organization).toEqual({ name: 'Kept' });
    } finally {
      await second.close();
      await db.drop();
    }
  });
});

describe('DPP_BOOTSTRAP_API_KEY', () => {
  it('creates one PLATFORM organisation holding the key, idempotently across restarts and concurrent starts (race)', async () => {
    const db = await createTestDatabase();
    const key = `dpp_${randomBytes(24).toString('base64url')}`;
    const config = loadConfig({ ...db.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DPP_BOOTSTRAP_API_KEY: key });
    const log = createLogger('silent');
    const first = await startServer(config, log);
    try {
      expect(first.bootstrap.createdSecret).toBeUndefined();
      const results = await Promise.all(Array.from({ length: 5 }, () => bootstrapPlatform(first.db.orm, config, log)));
      expect(new Set(results.map((r) => r.organizationId)).size).toBe(1);
      const em = first.db.orm.em.fork();
      expect(await em.count(Organization, { kind: 'PLATFORM' })).toBe(1);
      expect(await em.count(ApiKey, {})).toBe(1);
      expect((await post(first.url, '{ me { kind organization { kind } } }', key)).body.data?.me).toEqual({ kind: 'ORGANIZATION', organization: { kind: 'PLATFORM' } });
    } finally {
      await first.close();
    }
    const second = await startServer(config, log);
    try {
      const em = second.db.orm.em.fork();
      expect(await em.count(ApiKey, {})).toBe(1);
    } finally {
      await second.close();
      await db.drop();
    }
  });
});

describe('graceful shutdown', () => {
  it('close() ends websockets with 1001, stops accepting and closes the database', async () => {
    const db = await createTestDatabase();
    const server = await startServer(loadConfig({ ...db.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), createLogger('silent'));
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => ws.once('message', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await server.close();
    expect(await closed).toBe(1001);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(await server.db.orm.isConnected()).toBe(false);
    expect(await server.db.ready()).toBe(false);
    await db.drop();
  });

  it('the built server exits 0 on SIGTERM, and its embedded data survives for the next start', async () => {
    const dataDir = tempDir();
    const env = { ...process.env, DATABASE_URL: '', TEST_DATABASE_URL: '', DPP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    const start = () => {
      const child = spawn(process.execPath, ['dist/src/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += String(d)));
      const port = new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          lines.push(line);
          const m = /"port":(\d+).*server listening/.exec(line);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
      });
      return { child, port, lines, stderr: () => stderr };
    };
    const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const a = start();
    const portA = await a.port;
    // stdout and stderr are separate pipes: wait for the banner rather than assume their order.
    for (let i = 0; i < 100 && !a.stderr().includes('shown ONCE'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(a.stderr()).toContain('shown ONCE');
    const key = /(dpp_[A-Za-z0-9_-]{43})/.exec(a.stderr())![1]!;
    expect((await post(`http://127.0.0.1:${portA}`, '{ me { kind } }', key)).body.data?.me.kind).toBe('ORGANIZATION');
    const exitA = exited(a.child);
    a.child.kill('SIGTERM');
    expect(await exitA).toBe(0);
    expect(a.lines.join('\n')).toContain('server stopped');

    const b = start();
    const portB = await b.port;
    expect((await post(`http://127.0.0.1:${portB}`, '{ me { kind } }', key)).body.data?.me.kind).toBe('ORGANIZATION');
    expect(b.stderr()).not.toContain('shown ONCE');
    const exitB = exited(b.child);
    b.child.kill('SIGTERM');
    expect(await exitB).toBe(0);
  }, 120_000);
});
