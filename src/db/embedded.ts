import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export type EmbeddedDatabase = {
  /** A postgres:// URL for the app's own driver, pointing at the loopback socket. */
  url: string;
  close(): Promise<void>;
};

/**
 * Starts PGlite (Postgres compiled to WASM) and serves it on a loopback port, so the app uses the
 * same driver and migrations as against a real server. PGlite is one Postgres session: the app
 * must use a single connection (pool size 1), or two transactions would interleave in it.
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const memory = dataDir.startsWith('memory://');
  if (!memory) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(memory ? undefined : dataDir);
  // One slot for the pool's connection and one spare so a reconnect never races the old socket.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 2 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
