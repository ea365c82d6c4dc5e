import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server tests run against, or undefined for embedded PGlite. */
export const testServerUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

export type TestDatabase = { env: Record<string, string>; drop(): Promise<void> };

/** A database of its own for one test file: a fresh PostgreSQL database, or a throwaway PGlite. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testServerUrl) return { env: { DPP_DATA_DIR: 'memory://' }, drop: async () => undefined };
  const name = `dpp_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testServerUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    async drop() {
      const c = new pg.Client({ connectionString: testServerUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
