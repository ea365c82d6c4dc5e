import { gtinCheckDigit } from '../../src/gs1/index.js';
import type { GqlResponse, TestServer } from './server.js';

/** Small helpers for tests that mint units and scan them (the privacy and retention tests). */
export type ScanUnit = { id: string; gtin: string; serial: string; link: string };
export type ScanAnswer = { verdict: string; reasons: string[]; rulesNotApplied: string[]; alerts: { kind: string; severity: string; evidence: Record<string, unknown> | null; count: number }[] };

const VERIFY = `mutation($i: ScanInput!) { verifyScan(input: $i) { verdict reasons rulesNotApplied alerts { kind severity evidence count } } }`;
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial } } }';
const SIGN = 'mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed kid } }';
const PASSPORT = 'query($id: ID!) { passport(id: $id) { id gtin serial digitalLink } }';

export function scanKit(s: () => TestServer, prefix: string) {
  let item = 20000;
  let batch = 0;
  const must = <T>(r: GqlResponse<T>): T => {
    if (r.errors || !r.data) throw new Error(JSON.stringify(r.errors));
    return r.data;
  };
  return {
    nextGtin(): string {
      const body = `${prefix}${String(item++)}`.slice(0, 12).padStart(12, '0');
      return (body + gtinCheckDigit(body)).padStart(14, '0');
    },
    async model(key: string, extra: Record<string, unknown> = {}): Promise<string> {
      const gtin = this.nextGtin();
      must(await s().gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: `Model ${gtin}`, ...extra } }, key));
      return gtin;
    },
    async units(key: string, gtin: string, quantity = 1): Promise<ScanUnit[]> {
      const minted = must(await s().gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(MINT, { i: { gtin, quantity, idempotencyKey: `privacy-${batch++}-${Date.now()}` } }, key));
      must(await s().gql(SIGN, { b: minted.mintPassports.id }, key));
      const out: ScanUnit[] = [];
      for (const p of minted.mintPassports.passports) {
        const x = must(await s().gql<{ passport: { id: string; gtin: string; serial: string; digitalLink: string } }>(PASSPORT, { id: p.id }, key)).passport;
        out.push({ id: x.id, gtin: x.gtin, serial: x.serial, link: x.digitalLink });
      }
      return out;
    },
    scan(input: Record<string, unknown>, key?: string): Promise<GqlResponse<{ verifyScan: ScanAnswer }>> {
      return s().gql<{ verifyScan: ScanAnswer }>(VERIFY, { i: input }, key);
    },
    async ok(input: Record<string, unknown>, key?: string): Promise<ScanAnswer> {
      return must(await this.scan(input, key)).verifyScan;
    },
    async sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
      return (await s().db.orm.em.fork().getConnection().execute(query, params)) as T[];
    },
  };
}
