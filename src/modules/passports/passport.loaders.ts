import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { LifecycleEventType } from './passport.types.js';
import type { Context } from '../../context/request-context.js';

export type HistoryKey = { passportId: string; afterSeq: number; first: number };
type EventRow = {
  id: string;
  passport_id: string;
  seq: number;
  type: string;
  occurred_at: Date;
  recorded_at: Date;
  actor_id: string | null;
  payload: Record<string, unknown>;
  prev_hash: string | null;
  hash: string;
};

/** History pages of many passports in one query per distinct (after, first): one row window per passport. */
function toEvent(r: EventRow): LifecycleEventType {
  return {
    id: r.id,
    passportId: r.passport_id,
    seq: r.seq,
    type: r.type,
    occurredAt: new Date(r.occurred_at),
    recordedAt: new Date(r.recorded_at),
    actorId: r.actor_id,
    payload: r.payload,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function createPassportLoaders(em: EntityManager) {
  return {
    /** The newest event of each passport (its head), one query for a whole page. */
    lastEvent: new DataLoader<string, LifecycleEventType | null>(async (ids) => {
      const rows = await em.getConnection().execute<EventRow[]>(
        `select e.* from passport p join lifecycle_event e on e.passport_id = p.id and e.seq = p.head_seq
         where p.id in (select value::uuid from jsonb_array_elements_text(?::jsonb))`,
        [JSON.stringify(ids)],
      );
      const byId = new Map(rows.map((r) => [r.passport_id, toEvent(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    historyPage: new DataLoader<HistoryKey, LifecycleEventType[], string>(
      async (keys) => {
        const groups = new Map<string, HistoryKey[]>();
        for (const k of keys) {
          const g = `${k.afterSeq}|${k.first}`;
          groups.set(g, [...(groups.get(g) ?? []), k]);
        }
        const byKey = new Map<string, LifecycleEventType[]>();
        for (const group of groups.values()) {
          const { afterSeq, first } = group[0]!;
          const rows = await em.getConnection().execute<EventRow[]>(
            `select * from (
               select e.*, row_number() over (partition by passport_id order by seq) as rn
               from lifecycle_event e
               where passport_id in (select value::uuid from jsonb_array_elements_text(?::jsonb)) and seq > ?
             ) t where rn <= ? order by passport_id, seq`,
            [JSON.stringify(group.map((k) => k.passportId)), afterSeq, first],
          );
          for (const k of group) byKey.set(`${k.passportId}|${afterSeq}|${first}`, []);
          for (const r of rows) {
            byKey.get(`${r.passport_id}|${afterSeq}|${first}`)!.push(toEvent(r));
          }
        }
        return keys.map((k) => byKey.get(`${k.passportId}|${k.afterSeq}|${k.first}`) ?? []);
      },
      { cacheKeyFn: (k) => `${k.passportId}|${k.afterSeq}|${k.first}` },
    ),
  };
}

/** This request's passport loaders. */
export const passportLoaders = (ctx: Context) => ctx.loaders(createPassportLoaders);
