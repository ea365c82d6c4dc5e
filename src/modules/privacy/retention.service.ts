import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { rawQuery } from '../../db/raw.js';

/** Scan rows deleted per statement (and transaction): short locks, bounded memory. */
export const RETENTION_BATCH = 1000;

/** The smallest UUIDv7 of a millisecond: scan ids are UUIDv7, so `id < uuidv7Floor(t)` is "recorded before t", by the primary key. */
export function uuidv7Floor(at: Date): string {
  const hex = Math.max(0, Math.floor(at.getTime())).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

/**
 * One batch: deletes up to `$2` scans recorded before `$1` (rows another replica is deleting are skipped,
 * never waited for), and in the same statement adds them to the per-day counts (`scan_daily`) and raises
 * each unit's `scans_purged` to the highest number deleted, so lifetime counts, `maxLifetimeScans` and
 * analytics stay exact. Alerts are not scans and are not touched. Answers how many rows it deleted.
 */
const PURGE_BATCH = `with doomed as (
    select id from scan_event where id < $1::uuid order by id limit $2 for update skip locked
  ), gone as (
    delete from scan_event s using doomed d where s.id = d.id
    returning s.passport_id, s.seq, s.gtin, s.verdict, s.country, s.scanned_at
  ), daily as (
    insert into scan_daily (day, gtin, verdict, country, scans)
    select (scanned_at at time zone 'UTC')::date, gtin, verdict, coalesce(country, ''), count(*)::int from gone group by 1, 2, 3, 4
    on conflict (day, gtin, verdict, country) do update set scans = scan_daily.scans + excluded.scans
    returning 1
  ), floors as (
    update passport p set scans_purged = g.seq
    from (select passport_id, max(seq) as seq from gone where passport_id is not null group by passport_id) g
    where p.id = g.passport_id and p.scans_purged < g.seq
    returning 1
  )
  select (select count(*) from gone)::int as deleted`;

/** One replica at a time runs a batch (others skip theirs); `hashtext` of a fixed name is the lock key. */
const TRY_LOCK = `select pg_try_advisory_xact_lock(hashtext('dpp:scan-retention')) as got`;

export type PurgeResult = { deleted: number; batches: number; skipped: boolean };

/** Scan retention (README "Privacy"): `DPP_SCAN_RETENTION_DAYS`, enforced in bounded batches. */
export const retentionService = {
  /**
   * Deletes every scan recorded more than `retentionDays` before `now`, {@link RETENTION_BATCH} rows per
   * transaction, until none is left or `maxBatches` ran. Safe on every replica at once: a batch runs only
   * under the advisory lock (a replica that cannot take it stops, `skipped`), and rows are claimed with
   * `skip locked`, so each row is deleted, and counted, once.
   */
  async purgeScans(em: EntityManager, retentionDays: number, opts: { now?: Date; batchSize?: number; maxBatches?: number } = {}): Promise<PurgeResult> {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - retentionDays * 86_400_000);
    const boundary = uuidv7Floor(cutoff);
    const batchSize = opts.batchSize ?? RETENTION_BATCH;
    let deleted = 0;
    let batches = 0;
    while (batches < (opts.maxBatches ?? Number.POSITIVE_INFINITY)) {
      const n = await em.fork().transactional(async (tx) => {
        const [lock] = await rawQuery<{ got: boolean }>(tx, TRY_LOCK, []);
        if (!lock?.got) return null;
        const [row] = await rawQuery<{ deleted: number }>(tx, PURGE_BATCH, [boundary, batchSize]);
        return row?.deleted ?? 0;
      });
      if (n === null) return { deleted, batches, skipped: true };
      batches++;
      deleted += n;
      if (n < batchSize) break;
    }
    return { deleted, batches, skipped: false };
  },

  /**
   * Deletes audit entries older than `retentionDays`, in batches, the same way (one replica at a time, rows
   * claimed with `skip locked`). The table's append-only trigger lets a delete through only inside a
   * transaction that set `dpp.audit_retention`, which only this does.
   */
  async purgeAudit(em: EntityManager, retentionDays: number, opts: { now?: Date; batchSize?: number } = {}): Promise<PurgeResult> {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - retentionDays * 86_400_000).toISOString();
    const batchSize = opts.batchSize ?? RETENTION_BATCH;
    let deleted = 0;
    let batches = 0;
    for (;;) {
      const n = await em.fork().transactional(async (tx) => {
        const [lock] = await rawQuery<{ got: boolean }>(tx, TRY_AUDIT_LOCK, []);
        if (!lock?.got) return null;
        await rawQuery(tx, `select set_config('dpp.audit_retention', 'on', true)`, []);
        const rows = await rawQuery(
          tx,
          `delete from audit_log where id in (select id from audit_log where created_at < $1 order by created_at limit $2 for update skip locked) returning 1`,
          [cutoff, batchSize],
        );
        return rows.length;
      });
      if (n === null) return { deleted, batches, skipped: true };
      batches++;
      deleted += n;
      if (n < batchSize) return { deleted, batches, skipped: false };
    }
  },
};

const TRY_AUDIT_LOCK = `select pg_try_advisory_xact_lock(hashtext('dpp:audit-retention')) as got`;

export type RetentionSettings = { scanDays: number; auditDays: number; intervalMs: number };

/** Runs the retention of scans and of audit entries a minute after start, then every `intervalMs` (0: never), until stopped. */
export function startRetentionJob(orm: MikroORM, settings: RetentionSettings, log: Logger): { stop(): Promise<void> } {
  const { intervalMs } = settings;
  if (intervalMs <= 0) return { stop: async () => undefined };
  let running: Promise<unknown> = Promise.resolve();
  const run = () => {
    running = (async () => {
      const scans = await retentionService.purgeScans(orm.em.fork() as EntityManager, settings.scanDays);
      if (scans.deleted) log.info({ ...scans, retentionDays: settings.scanDays }, 'retention: old scans deleted');
      const audit = await retentionService.purgeAudit(orm.em.fork() as EntityManager, settings.auditDays);
      if (audit.deleted) log.info({ ...audit, retentionDays: settings.auditDays }, 'retention: old audit entries deleted');
    })().catch((e: unknown) => log.warn({ err: e }, 'retention failed; retried at the next run'));
  };
  // The first run waits a little, so a start is not slowed by it.
  const first = setTimeout(run, Math.min(intervalMs, 60_000));
  const timer = setInterval(run, intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
