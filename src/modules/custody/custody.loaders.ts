import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { rawQuery } from '../../db/raw.js';
import type { EventMember, StoredCustodyEvent } from './custody-export.js';
import type { Context } from '../../context/request-context.js';

type Row = { id: string; passport_id: string; occurred_at: string; payload: Record<string, unknown> };
type MemberRow = { event_id: string; id: string; gtin: string; serial: string; lot: string | null; brand_id: string; epc_index: unknown; via_lot: boolean };

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

    /** Every unit whose history holds the custody event with this EPCIS eventID (through the partial eventID index). */
    custodyEventMembers: new DataLoader<string, EventMember[]>(async (eventIds) => {
      const rows = await rawQuery<MemberRow>(
        em,
        `select e.payload->>'eventID' as event_id, p.id, p.gtin, p.serial, p.lot, p.brand_id,
                e.payload->'epcIndex' as epc_index, coalesce(e.payload->>'viaLot', '') = 'true' as via_lot
         from lifecycle_event e join passport p on p.id = e.passport_id
         where e.type = 'CUSTODY' and (e.payload->>'eventID') = any($1::text[])`,
        [eventIds],
      );
      const byEvent = new Map<string, EventMember[]>(eventIds.map((id) => [id, []]));
      for (const r of rows) {
        byEvent.get(r.event_id)?.push({
          passportId: r.id,
          gtin: r.gtin,
          serial: r.serial,
          lot: r.lot,
          brandId: r.brand_id,
          viaLot: r.via_lot,
          ...(typeof r.epc_index === 'number' ? { epcIndex: r.epc_index } : {}),
        });
      }
      return eventIds.map((id) => byEvent.get(id) ?? []);
    }),
  };
}

/** This request's custody loaders. */
export const custodyLoaders = (ctx: Context) => ctx.loaders(createCustodyLoaders);
