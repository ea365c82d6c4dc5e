import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';

type Executor = { executeQuery(q: CompiledQuery): Promise<{ rows: unknown[] }> };

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
