import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { rawQuery } from '../../db/raw.js';
import type { StoredCustodyEvent } from './custody.service.js';

type Row = { id: string; passport_id: string; occurred_at: string; payload: Record<string, unknown> };

/** CUSTODY events of many passports in one query, oldest first per passport (the EPCIS export reads them). */
export function createCustodyLoaders(em: EntityManager) {
  return {
    custodyEventsByPassport: new DataLoader<string, StoredCustodyEvent[]>(async (passportIds) => {
      const rows = await rawQuery<Row>(
        em,
        // The time as ISO text in UTC: the driver's own timestamptz text is not a format Date parses everywhere.
        `select id, passport_id, payload, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at
         from lifecycle_event
         where passport_id = any($1::uuid[]) and type = 'CUSTODY'
         order by passport_id, seq`,
        [passportIds],
      );
      const byPassport = new Map<string, StoredCustodyEvent[]>(passportIds.map((id) => [id, []]));
      for (const r of rows) byPassport.get(r.passport_id)?.push({ id: r.id, occurredAt: new Date(r.occurred_at), payload: r.payload });
      return passportIds.map((id) => byPassport.get(id) ?? []);
    }),
  };
}
