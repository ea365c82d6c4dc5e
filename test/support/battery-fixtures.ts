import type { EntityManager } from '@mikro-orm/postgresql';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { historyService } from '../../src/modules/history/history.service.js';
import type { GqlResponse, TestServer } from './server.js';

export type Org = { id: string; key: string };

export const code = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;

export function gtinFor(prefix: string, item: string): string {
  const body = `${prefix}${item}`.slice(0, 12).padStart(12, '0');
  return (body + gtinCheckDigit(body)).padStart(14, '0');
}

export const CREATE_MODEL = 'mutation($i: ProductModelInput!) { createProductModel(input: $i) { id gtin } }';
export const BATTERY_PASS = 'query($id: ID!) { passport(id: $id) { id status batteryPass } }';

export function ok<T>(r: GqlResponse<T>): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!;
}

/** Registers a model, a battery model when `battery` is given. */
export async function createModel(s: TestServer, key: string, gtin: string, battery?: { category: string; data: unknown }) {
  return s.gql<{ createProductModel: { id: string; gtin: string } }>(CREATE_MODEL, { i: { gtin, name: `Model ${gtin}`, warrantyMonths: 24, ...(battery ? { battery } : {}) } }, key);
}

let batchNo = 0;
/** Mints and signs `quantity` units of a model. */
export async function mintSigned(s: TestServer, key: string, gtin: string, quantity = 1, extra: Record<string, unknown> = {}): Promise<string[]> {
  const r = await s.gql<{ mintPassports: { passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity, idempotencyKey: `battery-${batchNo++}-${Date.now()}`, sign: true, ...extra } },
    key,
  );
  return ok(r).mintPassports.passports.map((p) => p.id);
}

/** Sells a unit through a retail_selling CUSTODY event (puts the battery into service). */
export async function sell(s: TestServer, id: string, retailerId: string): Promise<void> {
  await historyService.appendEvent(s.db.orm.em.fork() as EntityManager, { passportId: id, type: 'CUSTODY', actorId: retailerId, payload: { bizStep: 'retail_selling' } });
}

export async function batteryPass(s: TestServer, id: string, key?: string): Promise<Record<string, any> | null> {
  return ok(await s.gql<{ passport: { batteryPass: Record<string, any> | null } }>(BATTERY_PASS, { id }, key)).passport.batteryPass;
}
