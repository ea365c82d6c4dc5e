import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { rawQuery } from '../../db/raw.js';
import type { AlertBus, AlertMessage } from './alert-bus.js';

type Row = {
  outbox_id: string;
  id: string;
  brand_id: string;
  passport_id: string | null;
  gtin: string;
  kind: string;
  severity: string;
  status: string;
  evidence: Record<string, unknown>;
  count: number;
  first_seen_at: string;
  last_seen_at: string;
};

export type OutboxRelay = {
  /** Publish soon (after a commit that wrote outbox rows) instead of waiting for the next tick. */
  kick(): void;
  /** Publishes whatever is pending now; resolves when done. */
  flush(): Promise<number>;
  stop(): Promise<void>;
};

/**
 * Publishes committed outbox rows. Rows are claimed with `for update skip locked` (several replicas may
 * relay), published, then marked in the same transaction: a crash between publish and commit publishes
 * the row again after restart (at least once; an alert's id and count let subscribers drop repeats).
 */
export function startOutboxRelay(orm: MikroORM, bus: AlertBus, log: Logger, intervalMs = 250): OutboxRelay {
  let running: Promise<number> | undefined;
  let stopped = false;
  const cycle = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const published = await orm.em.fork().transactional(async (tx) => {
        const rows = await rawQuery<Row>(
          tx,
          `select o.id as outbox_id, a.id, a.brand_id, a.passport_id, a.gtin, a.kind, a.severity, a.status, a.evidence, a.count,
             a.first_seen_at::text, a.last_seen_at::text
           from outbox_message o join fraud_alert a on a.id = (o.payload->>'alertId')::uuid
           where o.published_at is null and o.topic = 'fraud-alert'
           order by o.id limit 200 for update of o skip locked`,
          [],
        );
        for (const r of rows) {
          const message: AlertMessage = {
            id: r.id,
            brandId: r.brand_id,
            passportId: r.passport_id,
            gtin: r.gtin,
            kind: r.kind,
            severity: r.severity,
            status: r.status,
            evidence: r.evidence,
            count: r.count,
            firstSeenAt: new Date(r.first_seen_at).toISOString(),
            lastSeenAt: new Date(r.last_seen_at).toISOString(),
          };
          bus.publish(message);
        }
        if (rows.length) await rawQuery(tx, 'update outbox_message set published_at = now() where id = any($1::uuid[])', [rows.map((r) => r.outbox_id)]);
        return rows.length;
      });
      total += published;
      if (published < 200) return total;
    }
  };
  const run = () => {
    if (stopped) return Promise.resolve(0);
    running ??= cycle()
      .catch((err: unknown) => {
        if (!stopped) log.warn({ err }, 'outbox relay cycle failed; will retry');
        return 0;
      })
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  void run();
  return {
    kick: () => void run(),
    flush: async () => {
      await running;
      return run();
    },
    async stop() {
      clearInterval(timer);
      await running;
      stopped = true;
    },
  };
}
