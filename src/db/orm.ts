import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from 'pino';
import { migrations } from '../../migrations/index.js';
import type { Config } from '../config/config.js';
import { startEmbeddedDatabase } from './embedded.js';
import { entities } from './entities.js';

export type Database = {
  orm: MikroORM;
  embedded: boolean;
  /** True when the database answers and no migration is pending. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
};

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
  if (opts.migrate !== false) {
    const applied = await orm.migrator.up();
    if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  }
  return {
    orm,
    embedded: Boolean(embedded),
    async ready() {
      try {
        await orm.em.getConnection().execute('select 1');
        return (await orm.migrator.getPending()).length === 0;
      } catch {
        return false;
      }
    },
    async close() {
      await orm.close(true);
      await embedded?.close();
    },
  };
}
