import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import { digitalLinkFormatter } from '../../gs1/index.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import type { PostalAddress } from '../sites/site.service.js';
import type { BatteryCategory, BatteryStatus } from './battery.entity.js';
import { PASS_CATEGORY } from './battery-model.js';
import { ASPECTS } from './battery-schemas.js';

/** Battery Pass 1.2.0 `batteryStatus` for our BatteryStatus. */
export const PASS_STATUS: Readonly<Record<BatteryStatus, string>> = {
  ORIGINAL: 'Original',
  REPURPOSED: 'Repurposed',
  REUSED: 'Reused',
  REMANUFACTURED: 'Remanufactured',
  WASTE: 'Waste',
};

/** Everything one battery passport is made of, read in one statement. */
export type BatteryUnitFacts = {
  passportId: string;
  brandId: string;
  gtin: string;
  serial: string;
  lot: string | null;
  site: string | null;
  status: PassportStatus;
  manufacturedAt: Date;
  category: BatteryCategory;
  data: Record<string, Record<string, unknown>>;
  batteryStatus: BatteryStatus;
  predecessorId: string | null;
  successorId: string | null;
  /**
   * Whether the battery passport ceased to exist (Art. 77(8)): the unit was recycled, or a battery later made from it
   * by repurposing or remanufacturing was (it is the same battery, recycled in its later life).
   */
  ceased: boolean;
  /** When the unit was first sold or claimed (Battery Pass `puttingIntoService`), null before. */
  putIntoService: Date | null;
  /** The newest recorded `batteryCondition`, null before the first record. */
  condition: Record<string, unknown> | null;
  /** The unit's own weight (kg) given at mint, null when its model's applies. */
  batteryMass: number | null;
  /** The address of the registered site its mint named (Battery Pass `manufacturingPlace`), null when its model's applies. */
  manufacturingPlace: PostalAddress | null;
};

type Row = {
  id: string;
  brand_id: string;
  gtin: string;
  serial: string;
  lot: string | null;
  site: string | null;
  status: PassportStatus;
  manufactured_at: Date | string;
  category: BatteryCategory;
  data: Record<string, Record<string, unknown>>;
  battery_status: BatteryStatus | null;
  predecessor_id: string | null;
  successor_id: string | null;
  successor_recycled: boolean;
  put_into_service: Date | string | null;
  condition: Record<string, unknown> | null;
  mass_kg: number | string | null;
  site_street: string | null;
  site_postal_code: string | null;
  site_locality: string | null;
  site_country: string | null;
};

/** A unit at end of life or recycled is waste, whatever its row said before (Annex XIII 4(c)). */
function statusOf(row: Pick<Row, 'battery_status' | 'status'>): BatteryStatus {
  if (row.status === 'END_OF_LIFE' || row.status === 'RECYCLED') return 'WASTE';
  return row.battery_status ?? 'ORIGINAL';
}

function toFacts(row: Row): BatteryUnitFacts {
  return {
    passportId: row.id,
    brandId: row.brand_id,
    gtin: row.gtin,
    serial: row.serial,
    lot: row.lot,
    site: row.site,
    status: row.status,
    manufacturedAt: new Date(row.manufactured_at),
    category: row.category,
    data: row.data,
    batteryStatus: statusOf(row),
    predecessorId: row.predecessor_id,
    successorId: row.successor_id,
    ceased: row.status === 'RECYCLED' || row.successor_recycled === true,
    putIntoService: row.put_into_service === null ? null : new Date(row.put_into_service),
    condition: row.condition,
    batteryMass: row.mass_kg === null ? null : Number(row.mass_kg),
    manufacturingPlace:
      row.site_street === null
        ? null
        : { streetAddress: row.site_street, postalCode: row.site_postal_code!, addressLocality: row.site_locality!, addressCountry: row.site_country! },
  };
}

/**
 * The facts of battery units, by passport id, in one statement; a unit whose model is not a battery model (or
 * that does not exist) is absent. Per-battery attributes are derived here, at read time, from the unit's row
 * and history, so minting a battery writes nothing more than minting any other unit. Each sub-select walks one
 * passport's events by the (passport_id, seq) unique index; only a unit made into a new battery walks its
 * successors (one or two rows), to know whether its later life ended in recycling.
 */
export async function loadBatteryFactsMany(em: EntityManager, passportIds: readonly string[]): Promise<Map<string, BatteryUnitFacts>> {
  if (passportIds.length === 0) return new Map();
  const rows = await rawQuery<Row>(
    em,
    `select p.id, p.brand_id, p.gtin, p.serial, p.lot, p.site, p.status, p.manufactured_at, bm.category, bm.data,
       bu.status as battery_status, bu.predecessor_id, bu.successor_id, um.mass_kg,
       case when bu.successor_id is null then false else exists (
         with recursive later(id) as (
           select bu.successor_id
           union
           select b.successor_id from battery_unit b join later l on b.passport_id = l.id where b.successor_id is not null)
         select 1 from later l join passport q on q.id = l.id where q.status = 'RECYCLED') end as successor_recycled,
       ms.street_address as site_street, ms.postal_code as site_postal_code, ms.locality as site_locality, ms.country as site_country,
       (select e.occurred_at from lifecycle_event e where e.passport_id = p.id
          and (e.type in ('SOLD', 'OWNERSHIP_CLAIMED') or (e.type = 'CUSTODY' and lower(e.payload->>'bizStep') like '%retail_selling'))
          order by e.seq limit 1) as put_into_service,
       (select e.payload->'condition' from lifecycle_event e where e.passport_id = p.id and e.type = 'BATTERY_CONDITION'
          order by e.seq desc limit 1) as condition
     from passport p
     join battery_model bm on bm.model_id = p.model_id
     left join battery_unit bu on bu.passport_id = p.id
     left join battery_unit_mass um on um.passport_id = p.id
     left join mint_batch mb on mb.id = p.batch_id
     left join manufacturing_site ms on ms.id = mb.manufacturing_site_id
     where p.id = any($1::uuid[])`,
    [passportIds],
  );
  return new Map(rows.map((r) => [r.id, toFacts(r)]));
}

/** The facts of one battery unit, or null when its model is not a battery model (or there is no such unit). */
export async function loadBatteryFacts(em: EntityManager, passportId: string): Promise<BatteryUnitFacts | null> {
  return (await loadBatteryFactsMany(em, [passportId])).get(passportId) ?? null;
}

/**
 * `batteryPassportIdentifier` in the form the Battery Pass schema demands (`^urn:[a-z0-9]+:[a-z0-9]+$`): the unit's
 * GS1 element string (AI 01 GTIN, AI 21 serial) as one lower-case token. Our serials are Crockford base32, which
 * is case-insensitive, so lower-casing loses nothing; any other serial is hex-encoded behind an `x`.
 */
export function passportUrn(gtin: string, serial: string): string {
  const token = /^[0-9A-Za-z]+$/.test(serial) ? serial.toLowerCase() : `x${Buffer.from(serial, 'utf8').toString('hex')}`;
  return `urn:gs1:01${gtin}21${token}`;
}

/**
 * The whole battery pass of a unit, as its own economic operator sees it: one object per aspect, each valid
 * against its schema once the unit has been put into service and has a recorded condition (before that,
 * `puttingIntoService` and `batteryCondition` are absent: there is nothing true to put there).
 */
export function assembleBatteryPass(facts: BatteryUnitFacts, resolverHost: string): Record<string, Record<string, unknown>> {
  const d = facts.data;
  const general: Record<string, unknown> = {
    productIdentifier: digitalLinkFormatter({ host: resolverHost, gtin: facts.gtin, lot: facts.lot ?? undefined })(facts.serial),
    batteryPassportIdentifier: passportUrn(facts.gtin, facts.serial),
    batteryCategory: PASS_CATEGORY[facts.category],
    manufacturingDate: facts.manufacturedAt.toISOString(),
    batteryStatus: PASS_STATUS[facts.batteryStatus],
    ...(facts.putIntoService ? { puttingIntoService: facts.putIntoService.toISOString() } : {}),
    ...d.generalProductInformation,
    ...(facts.batteryMass !== null ? { batteryMass: facts.batteryMass } : {}),
    ...(facts.manufacturingPlace ? { manufacturingPlace: { ...facts.manufacturingPlace } } : {}),
  };
  const out: Record<string, Record<string, unknown>> = {};
  for (const aspect of ASPECTS) {
    if (aspect === 'generalProductInformation') out[aspect] = general;
    else if (aspect === 'performance') out[aspect] = { ...d.performance, ...(facts.condition ? { batteryCondition: facts.condition } : {}) };
    else out[aspect] = { ...d[aspect] };
  }
  return out;
}
