import type { RunningServer } from '../../src/server/app.js';

/**
 * Row counts of every table in the server's database, by name: compared around refused requests. The
 * transparency log's tables are left out: its sequencer moves committed events into the tree in the
 * background, whatever the request did (a write to the log queue always comes with a history event, counted).
 */
export async function rowCounts(s: Pick<RunningServer, 'db'>): Promise<Record<string, number>> {
  const conn = s.db.orm.em.getConnection();
  const tables = await conn.execute<{ name: string }[]>(`select quote_ident(tablename) as name from pg_tables where schemaname = current_schema() and tablename not like 'log\\_%' order by 1`);
  if (!tables.length) return {};
  const sql = tables.map((t) => `select '${t.name.replace(/'/g, "''")}' as name, count(*)::int as n from ${t.name}`).join(' union all ');
  const rows = await conn.execute<{ name: string; n: number }[]>(sql);
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
}
