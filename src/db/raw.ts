import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';

type Executor = { executeQuery(q: CompiledQuery): Promise<{ rows: unknown[]; numAffectedRows?: bigint }> };

/**
 * Runs SQL with real bind parameters ($1, $2, …) on the entity manager's transaction (or pool).
 * For bulk writes: MikroORM's `execute` inlines parameters into the SQL text and expands arrays,
 * while this hands arrays to the driver as Postgres arrays, so `unnest($1::text[], …)` inserts
 * thousands of rows per statement without client-side escaping.
 */
export async function rawQuery<R = Record<string, unknown>>(em: EntityManager, sql: string, params: readonly unknown[]): Promise<R[]> {
  const executor = (em.getTransactionContext() ?? em.getConnection().getClient()) as unknown as Executor;
  const result = await executor.executeQuery(CompiledQuery.raw(sql, params as unknown[]));
  return result.rows as R[];
}

/** {@link rawQuery} for a write whose rows are not wanted back: answers how many rows it inserted, updated or deleted. */
export async function rawWrite(em: EntityManager, sql: string, params: readonly unknown[]): Promise<number> {
  const executor = (em.getTransactionContext() ?? em.getConnection().getClient()) as unknown as Executor;
  const result = await executor.executeQuery(CompiledQuery.raw(sql, params as unknown[]));
  return Number(result.numAffectedRows ?? 0);
}

/** What {@link packList} joins with (U+001F) and writes for null (U+001E): no id, serial, hash, date or JSON text contains either raw. */
const SEPARATOR = '\u001f';
const NULL_MARK = '\u001e';

/**
 * Many short values as one text parameter, for {@link unpack} in SQL. The driver turns a JS array into
 * a Postgres array literal by escaping and quoting every element, which cost more than the insert itself
 * for 100,000 units; a join does not. Values here are ids, serials, hashes, ISO times, enum names and
 * JSON text (which escapes control characters), so neither control character can occur; a value that
 * holds one, or is empty, is refused, never split.
 */
export function packList(values: readonly (string | number | null)[]): string {
  for (const v of values) {
    if (typeof v === 'string' && (v.length === 0 || v.includes(SEPARATOR) || v.includes(NULL_MARK))) {
      throw new TypeError('packList: empty values and the U+001E/U+001F control characters cannot be packed');
    }
  }
  return values.map((v) => (v === null ? NULL_MARK : v)).join(SEPARATOR);
}

/** SQL for the `$n` parameter made by {@link packList}, as an array of `type`. */
export function unpack(n: number, type: string): string {
  return `string_to_array($${n}, chr(31), chr(30))::${type}[]`;
}

/** A statement the hot paths run often enough to keep parsed and planned on every pooled connection. */
export type PreparedStatement = { readonly name: string; readonly text: string };

type NativeClient = { query(q: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>; release(err?: Error | boolean): void };
type NativePool = { connect(): Promise<NativeClient> };
type NativeConnection = { getNativeClient(): Promise<NativePool> };

/** ORMs whose pool may keep named statements: a PostgreSQL server, not the embedded database (see {@link openDatabase}). */
const namingAllowed = new WeakSet<object>();
const pools = new WeakMap<object, Promise<NativePool>>();

/** Lets {@link preparedQuery} name its statements on this connection's pool (each pg connection then prepares them once). */
export function allowNamedStatements(em: EntityManager): void {
  namingAllowed.add(em.getConnection());
}

/** The ORM's connection: what {@link preparedQuery} runs on (the same for every fork of one ORM's entity manager). */
export type OrmConnection = ReturnType<EntityManager['getConnection']>;

/**
 * Runs one statement outside any transaction (autocommit: the statement is atomic on its own) straight on
 * the ORM's pg pool, as a named prepared statement where allowed: no ORM or query-builder layer, and
 * PostgreSQL parses and plans it once per connection instead of on every call. For the few statements of
 * the hottest path (a scan); everything else goes through {@link rawQuery} or the ORM. Takes an entity
 * manager, or its connection (for process-wide helpers that must not hold on to a request's fork).
 */
export async function preparedQuery<R = Record<string, unknown>>(on: EntityManager | OrmConnection, statement: PreparedStatement, values: unknown[]): Promise<R[]> {
  const connection = 'getConnection' in on ? on.getConnection() : on;
  let pool = pools.get(connection);
  if (!pool) pools.set(connection, (pool = (connection as unknown as NativeConnection).getNativeClient()));
  const client = await (await pool).connect();
  let broken: unknown;
  try {
    const result = await client.query(namingAllowed.has(connection) ? { name: statement.name, text: statement.text, values } : { text: statement.text, values });
    return result.rows as R[];
  } catch (e) {
    // An error PostgreSQL answered (a unique violation, say) leaves the connection as good as it was;
    // `pool.query` would throw it away anyway, and a new connection costs a backend and its prepared statements.
    if (!/^[0-9A-Z]{5}$/.test(String((e as { code?: unknown } | undefined)?.code))) broken = e;
    throw e;
  } finally {
    client.release(broken instanceof Error ? broken : broken !== undefined);
  }
}
