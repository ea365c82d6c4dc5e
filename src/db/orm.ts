import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import type { Logger } from 'pino';
import { migrations } from '../../migrations/index.js';
import type { Config } from '../config/config.js';
import { startEmbeddedDatabase } from './embedded.js';
import { entities } from './entities.js';
import { allowNamedStatements } from './raw.js';

export type Database = {
  orm: MikroORM;
  embedded: boolean;
  /** True when the database answers and no migration is pending. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
};

/** Arbitrary constant for pg_advisory_lock: replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 7_420_030;

async function withMigrationLock<T>(url: string | undefined, run: () => Promise<T>): Promise<T> {
  if (!url) return run(); // embedded: one process owns the database
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return await run();
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

/** Creates the ORM against the configured PostgreSQL, or against embedded PGlite when none is set. */
export async function openDatabase(config: Config, log: Logger, opts: { migrate?: boolean } = {}): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedDatabase(config.dataDir);
  if (embedded) log.info({ dataDir: config.dataDir }, 'embedded PGlite database started');
  const orm = await MikroORM.init({
    entities,
    clientUrl: embedded?.url ?? config.databaseUrl,
    pool: embedded ? { min: 1, max: 1, idleTimeoutMillis: 0 } : { min: 0, max: config.dbPoolSize },
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      path: 'migrations',
      emit: 'ts',
      silent: true,
    },
    debug: false,
    allowGlobalContext: false,
  });
  // A server keeps named statements per connection; the embedded database's single session is not ours to name things in.
  if (!embedded) allowNamedStatements(orm.em);
  if (opts.migrate !== false) {
    const applied = await withMigrationLock(embedded ? undefined : config.databaseUrl, () => orm.migrator.up());
    if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  }
  let closed = false;
  return {
    orm,
    embedded: Boolean(embedded),
    async ready() {
      if (closed) return false;
      try {
        await orm.em.getConnection().execute('select 1');
        return (await orm.migrator.getPending()).length === 0;
      } catch {
        return false;
      }
    },
    async close() {
      closed = true;
      await orm.close(true);
      await embedded?.close();
    },
  };
}
