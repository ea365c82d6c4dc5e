import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { brandNfcMasterKey } from '../../src/modules/nfc-tags/nfc-tag.service.js';
import { deriveTagKeys, simulateSunMessage } from '../../src/modules/verification/nfc-sun.js';
import { startResolverServer } from '../support/resolver-server.js';
import type { GqlResponse, TestServer } from '../support/server.js';

type Org = { id: string; key: string };
type Provisioning = { passportId: string; uid: string; sdmMetaReadKey: string; sdmFileReadKey: string; sunUrl: string; lastCounter: number | null; provisionedAt: string; created: boolean };
type Alert = { id: string; kind: string; severity: string; count: number; evidence: Record<string, unknown> | null };
type Verification = { verdict: string; reasons: string[]; alerts: Alert[]; passport: { serial: string } | null };
type Unit = { id: string; serial: string; link: string };
type Tag = { uid: string; keys: { metaRead: Uint8Array; fileRead: Uint8Array } };

const PROVISION = `mutation($p: ID!, $u: String!) { provisionNfcTag(passportId: $p, uid: $u) {
  passportId uid sdmMetaReadKey sdmFileReadKey sunUrl lastCounter provisionedAt created } }`;
const VERIFY = `mutation($i: ScanInput!) { verifyScan(input: $i) { verdict reasons passport { serial }
  alerts { id kind severity count evidence } } }`;

let s: TestServer;
let brand: Org;
let otherBrand: Org;
let retailer: Org;
let regulator: Org;
let gtin: string;
let otherGtin: string;
let batchNo = 0;

const code = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;
const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
/** A fresh 7-byte NXP-style UID (manufacturer byte 0x04). */
const newUid = () => `04${randomBytes(6).toString('hex').toUpperCase()}`;

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return (await s.db.orm.em.fork().getConnection().execute(query, params)) as T[];
}
const tagRow = async (uid: string) =>
  (await sql<{ last_counter: number | null; last_read_at: string | null; passport_id: string }>('select last_counter, last_read_at, passport_id from nfc_tag where uid = ?', [uid]))[0];
const counts = async () => (await sql<{ scans: number; alerts: number; tags: number }>('select (select count(*)::int from scan_event) as scans, (select count(*)::int from fraud_alert) as alerts, (select count(*)::int from nfc_tag) as tags'))[0]!;

async function mint(quantity: number, carrier = 'NFC_SUN', key = brand.key, g = gtin): Promise<Unit[]> {
  const m = await s.gql<{ mintPassports: { id: string; passports: { id: string; serial: string } [] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial } } }',
    { i: { gtin: g, quantity, carrier, idempotencyKey: `nfc-${batchNo++}` } },
    key,
  );
  if (m.errors) throw new Error(JSON.stringify(m.errors));
  const signed = await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: m.data!.mintPassports.id }, key);
  if (signed.errors) throw new Error(JSON.stringify(signed.errors));
  return Promise.all(
    m.data!.mintPassports.passports.map(async (p) => {
      const q = await s.gql<{ passport: { digitalLink: string } }>('query($id: ID!) { passport(id: $id) { digitalLink } }', { id: p.id });
      return { id: p.id, serial: p.serial, link: q.data!.passport.digitalLink };
    }),
  );
}

function provision(passportId: string, uid: string, key?: string) {
  return s.gql<{ provisionNfcTag: Provisioning }>(PROVISION, { p: passportId, u: uid }, key);
}

/** Binds a fresh tag to the unit and returns the keys the programming station received. */
async function bind(u: Unit): Promise<Tag & { provisioning: Provisioning }> {
  const uid = newUid();
  const r = await provision(u.id, uid, brand.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const p = r.data!.provisionNfcTag;
  return { uid, keys: { metaRead: hex(p.sdmMetaReadKey), fileRead: hex(p.sdmFileReadKey) }, provisioning: p };
}

/** The SUN message the tag would mirror on tap number `counter`. */
const tap = (tag: Tag, counter: number) => simulateSunMessage({ uid: hex(tag.uid), readCounter: counter, keys: tag.keys });

function scan(input: Record<string, unknown>, key?: string) {
  return s.gql<{ verifyScan: Verification }>(VERIFY, { i: input }, key);
}
async function ok(input: Record<string, unknown>, key?: string): Promise<Verification> {
  const r = await scan(input, key);
  if (r.errors || !r.data) throw new Error(`verifyScan failed: ${JSON.stringify(r.errors)}`);
  return r.data.verifyScan;
}
const kinds = (v: Verification) => v.alerts.map((a) => a.kind).sort();

beforeAll(async () => {
  // Its resolver host is its own address: a Digital Link's 307 to the verification result is followed.
  s = await startResolverServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['4012345'] });
  otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['4098765'] });
  retailer = await s.org('RETAILER');
  regulator = await s.org('REGULATOR');
  const body = '401234500042';
  gtin = body + gtinCheckDigit(body);
  const otherBody = '409876500042';
  otherGtin = otherBody + gtinCheckDigit(otherBody);
  for (const [g, key] of [[gtin, brand.key], [otherGtin, otherBrand.key]] as const) {
    const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: g, name: 'Tagged' } }, key);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
});
afterAll(async () => {
  await s?.stop();
});

describe('provisionNfcTag', () => {
  it('binds a tag to a unit and answers its SDM keys (derived from the brand NFC master key) and the NDEF URL; a retry answers the same', async () => {
    const [u] = await mint(1);
    const uid = newUid();
    const r = await provision(u!.id, uid.toLowerCase().match(/../g)!.join(':'), brand.key); // as NFC tools print it
    expect(r.errors).toBeUndefined();
    const p = r.data!.provisionNfcTag;
    expect(p).toMatchObject({ passportId: u!.id, uid, lastCounter: null, created: true });
    // Documented derivation: HKDF(master, "dpp:nfc-sun:<brandId>", 16) → AN10922 per purpose (and UID).
    const expected = deriveTagKeys(brandNfcMasterKey(s.services.masterKey, brand.id), hex(uid));
    expect(p.sdmMetaReadKey).toBe(Buffer.from(expected.metaRead).toString('hex').toUpperCase());
    expect(p.sdmFileReadKey).toBe(Buffer.from(expected.fileRead).toString('hex').toUpperCase());
    expect(p.sdmMetaReadKey).toMatch(/^[0-9A-F]{32}$/);
    expect(p.sdmFileReadKey).not.toBe(p.sdmMetaReadKey);
    expect(p.sunUrl).toBe(`${u!.link}&picc_data=${'0'.repeat(32)}&cmac=${'0'.repeat(16)}`);
    expect(await tagRow(uid)).toMatchObject({ passport_id: u!.id, last_counter: null });

    const again = await provision(u!.id, uid, brand.key);
    expect(again.data!.provisionNfcTag).toEqual({ ...p, created: false });
  });

  it('gives every tag its own file-read key, every brand its own meta-read key', async () => {
    const [a, b] = await mint(2);
    const [x] = await mint(1, 'QR_AND_NFC', otherBrand.key, otherGtin);
    const ta = (await bind(a!)).provisioning;
    const tb = (await bind(b!)).provisioning;
    const tx = (await provision(x!.id, newUid(), otherBrand.key)).data!.provisionNfcTag;
    expect(ta.sdmMetaReadKey).toBe(tb.sdmMetaReadKey);
    expect(ta.sdmFileReadKey).not.toBe(tb.sdmFileReadKey);
    expect(tx.sdmMetaReadKey).not.toBe(ta.sdmMetaReadKey);
  });

  it('refuses callers other than the unit\'s brand, and writes nothing', async () => {
    const [u] = await mint(1);
    const before = await counts();
    const uid = newUid();
    expect(code(await provision(u!.id, uid))).toBe('UNAUTHENTICATED');
    expect(code(await provision(u!.id, uid, retailer.key))).toBe('FORBIDDEN');
    expect(code(await provision(u!.id, uid, regulator.key))).toBe('FORBIDDEN');
    expect(code(await provision(u!.id, uid, s.platformKey))).toBe('FORBIDDEN');
    const foreign = await provision(u!.id, uid, otherBrand.key);
    expect(code(foreign)).toBe('NOT_FOUND');
    expect(JSON.stringify(foreign)).not.toMatch(/sdm|[0-9A-F]{32}/);
    expect(await counts()).toEqual(before);
  });

  it.each<[string, string, () => Promise<[string, string]>]>([
    ['a UID of 13 hex characters', 'BAD_USER_INPUT', async () => [(await mint(1))[0]!.id, newUid().slice(1)]],
    ['a UID with non-hex characters', 'BAD_USER_INPUT', async () => [(await mint(1))[0]!.id, '04XYZ00000000Q']],
    ['a 10,000-character UID', 'BAD_USER_INPUT', async () => [(await mint(1))[0]!.id, 'A'.repeat(10_000)]],
    ['a malformed passport id', 'NOT_FOUND', async () => ['not-a-uuid', newUid()]],
    ['an unknown passport id', 'NOT_FOUND', async () => ['00000000-0000-4000-8000-000000000000', newUid()]],
    ['a unit minted with carrier QR', 'BAD_USER_INPUT', async () => [(await mint(1, 'QR'))[0]!.id, newUid()]],
  ])('refuses %s with %s and writes nothing', async (_what, expected, args) => {
    const [passportId, uid] = await args();
    const before = await counts();
    const r = await provision(passportId, uid, brand.key);
    expect(r.data?.provisionNfcTag ?? null).toBeNull();
    expect(code(r), JSON.stringify(r.errors)).toBe(expected);
    expect(await counts()).toEqual(before);
  });

  it('refuses a UID bound to another unit, and a second tag for a unit (CONFLICT), and a revoked unit', async () => {
    const [a, b, c] = await mint(3);
    const tag = await bind(a!);
    const taken = await provision(b!.id, tag.uid, brand.key);
    expect(code(taken)).toBe('CONFLICT');
    expect(taken.errors![0]!.message).toContain('uid');
    const second = await provision(a!.id, newUid(), brand.key);
    expect(code(second)).toBe('CONFLICT');
    expect(second.errors![0]!.message).toContain('passportId');
    const revoked = await s.gql('mutation($id: ID!) { revokePassport(passportId: $id, reason: STOLEN) { status } }', { id: c!.id }, brand.key);
    expect(revoked.errors).toBeUndefined();
    expect(code(await provision(c!.id, newUid(), brand.key))).toBe('CONFLICT');
    expect(await tagRow(tag.uid)).toMatchObject({ passport_id: a!.id });
  });

  it('binds exactly one of two tags raced onto one unit, and one tag raced onto two units to exactly one (race)', async () => {
    const [a, b, c] = await mint(3);
    const two = await Promise.all([provision(a!.id, newUid(), brand.key), provision(a!.id, newUid(), brand.key)]);
    expect(two.map((r) => (r.errors ? code(r) : 'OK')).sort()).toEqual(['CONFLICT', 'OK']);
    expect((await sql<{ n: number }>('select count(*)::int as n from nfc_tag where passport_id = ?', [a!.id]))[0]!.n).toBe(1);

    const uid = newUid();
    const one = await Promise.all([provision(b!.id, uid, brand.key), provision(c!.id, uid, brand.key)]);
    expect(one.map((r) => (r.errors ? code(r) : 'OK')).sort()).toEqual(['CONFLICT', 'OK']);
    expect((await sql<{ n: number }>('select count(*)::int as n from nfc_tag where uid = ?', [uid]))[0]!.n).toBe(1);
  });
});

describe('verifyScan with an NFC SUN tap', () => {
  it('answers AUTHENTIC for a valid tap and stores its counter; the same message again is an NFC_REPLAY (HIGH), as is an older one', async () => {
    const [u] = await mint(1);
    const tag = await bind(u!);
    const first = tap(tag, 7);
    const v = await ok({ digitalLink: u!.link, nfc: first });
    expect(v.verdict).toBe('AUTHENTIC');
    expect(v.reasons).toContain("This tag's secure message matches the brand's key.");
    expect(v.alerts).toEqual([]);
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 7 });
    expect((await tagRow(tag.uid))!.last_read_at).not.toBeNull();

    const replay = await ok({ digitalLink: u!.link, nfc: first }, brand.key); // the brand sees alert evidence
    expect(replay.verdict).toBe('SUSPICIOUS');
    expect(replay.reasons[0]).toBe("This tag's tap counter did not advance, so this tap may be a recorded copy.");
    expect(replay.alerts).toMatchObject([{ kind: 'NFC_REPLAY', severity: 'HIGH', count: 1, evidence: { counter: 7, lastCounter: 7 } }]);

    const older = await ok({ gtin, serial: u!.serial, nfc: tap(tag, 6) });
    expect(older.verdict).toBe('SUSPICIOUS');
    expect(older.alerts).toMatchObject([{ kind: 'NFC_REPLAY', count: 2 }]);
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 7 });

    const next = await ok({ gtin, serial: u!.serial, nfc: tap(tag, 8) });
    expect(next.alerts).toEqual([]);
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 8 });
  });

  it('reads the tap from picc_data and cmac in the Digital Link, as the tag writes its URL, over GraphQL and the resolver', async () => {
    const [u] = await mint(1);
    const tag = await bind(u!);
    const url = (counter: number) => {
      const m = tap(tag, counter);
      return tag.provisioning.sunUrl.replace(/picc_data=0+/, `picc_data=${m.piccData}`).replace(/cmac=0+/, `cmac=${m.cmac}`);
    };
    expect((await ok({ digitalLink: url(1) })).verdict).toBe('AUTHENTIC');
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 1 });

    const tapped = new URL(url(2));
    const res = await fetch(`${s.url}${tapped.pathname}${tapped.search}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { verdict: string }).verdict).toBe('AUTHENTIC');
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 2 });

    // A link and an input that disagree are refused.
    const r = await scan({ digitalLink: url(3), nfc: tap(tag, 3) });
    expect(code(r)).toBe('BAD_USER_INPUT');
  });

  it('calls a wrong CMAC COUNTERFEIT with a CRITICAL INVALID_SIGNATURE alert, and does not move the counter', async () => {
    const [u] = await mint(1);
    const tag = await bind(u!);
    await ok({ digitalLink: u!.link, nfc: tap(tag, 3) });
    const m = tap(tag, 4);
    const flipped = m.cmac.slice(0, 15) + (m.cmac[15] === '0' ? '1' : '0');
    const v = await ok({ digitalLink: u!.link, nfc: { piccData: m.piccData, cmac: flipped } }, brand.key);
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons[0]).toBe("This tag's secure message does not match the brand's key.");
    expect(v.alerts).toMatchObject([{ kind: 'INVALID_SIGNATURE', severity: 'CRITICAL', evidence: { nfcMac: 'INVALID' } }]);
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 3 });
    // The genuine message with that counter is still accepted afterwards.
    expect((await ok({ digitalLink: u!.link, nfc: m })).verdict).toBe('AUTHENTIC');
  });

  it('calls a tap under another brand\'s keys, or altered PICC data, COUNTERFEIT', async () => {
    const [u] = await mint(1);
    const tag = await bind(u!);
    const [x] = await mint(1, 'NFC_SUN', otherBrand.key, otherGtin);
    const foreign = (await provision(x!.id, tag.uid, otherBrand.key)).data!.provisionNfcTag; // same UID, other brand: allowed
    const underOther = simulateSunMessage({ uid: hex(tag.uid), readCounter: 1, keys: { metaRead: hex(foreign.sdmMetaReadKey), fileRead: hex(foreign.sdmFileReadKey) } });
    expect((await ok({ digitalLink: u!.link, nfc: underOther })).verdict).toBe('COUNTERFEIT');
    const m = tap(tag, 1);
    const altered = (m.piccData[0] === 'A' ? 'B' : 'A') + m.piccData.slice(1);
    const v = await ok({ digitalLink: u!.link, nfc: { piccData: altered, cmac: m.cmac } });
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(kinds(v)).toEqual(['INVALID_SIGNATURE']);
    expect(await tagRow(tag.uid)).toMatchObject({ passport_id: u!.id, last_counter: null });
  });

  it('calls the genuine tag of another unit COUNTERFEIT (it vouches for that unit only) and leaves its counter alone', async () => {
    const [a, b] = await mint(2);
    const tagA = await bind(a!);
    await bind(b!);
    const v = await ok({ digitalLink: b!.link, nfc: tap(tagA, 5) }, brand.key);
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons[0]).toBe('This tag belongs to another unit of the brand, not to this one.');
    expect(v.alerts).toMatchObject([{ kind: 'INVALID_SIGNATURE', severity: 'CRITICAL', evidence: { nfcMac: 'VALID', nfcTag: 'OTHER_UNIT' } }]);
    expect(await tagRow(tagA.uid)).toMatchObject({ last_counter: null });
    // On its own unit the same tap is fine.
    expect((await ok({ digitalLink: a!.link, nfc: tap(tagA, 5) })).verdict).toBe('AUTHENTIC');
  });

  it('calls a tag with the brand\'s keys that was never bound COUNTERFEIT, also on a unit with no tag, and on an unknown serial', async () => {
    const [u] = await mint(1);
    const uid = newUid();
    const keys = deriveTagKeys(brandNfcMasterKey(s.services.masterKey, brand.id), hex(uid));
    const m = simulateSunMessage({ uid: hex(uid), readCounter: 1, keys });
    const v = await ok({ digitalLink: u!.link, nfc: m }, brand.key);
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons[0]).toBe('This tag was never registered to a unit by the brand.');
    expect(v.alerts).toMatchObject([{ kind: 'INVALID_SIGNATURE', evidence: { nfcTag: 'UNPROVISIONED' } }]);
    expect(await sql('select 1 from nfc_tag where uid = ?', [uid])).toEqual([]);

    const unknown = await ok({ gtin, serial: 'NOSUCHSERIAL00000', nfc: m });
    expect(unknown.verdict).toBe('COUNTERFEIT');
    expect(kinds(unknown)).toEqual(['INVALID_SIGNATURE', 'UNKNOWN_SERIAL']);
  });

  it.each<[string, (m: { piccData: string; cmac: string }, link: string) => Record<string, unknown>, string]>([
    ['piccData of 31 characters', (m, link) => ({ digitalLink: link, nfc: { ...m, piccData: m.piccData.slice(1) } }), 'nfc.piccData'],
    ['piccData that is not hex', (m, link) => ({ digitalLink: link, nfc: { ...m, piccData: 'Z'.repeat(32) } }), 'nfc.piccData'],
    ['a 10,000-character piccData', (m, link) => ({ digitalLink: link, nfc: { ...m, piccData: 'A'.repeat(10_000) } }), 'nfc.piccData'],
    ['a cmac of 17 characters', (m, link) => ({ digitalLink: link, nfc: { ...m, cmac: `${m.cmac}0` } }), 'nfc.cmac'],
    ['an empty cmac', (m, link) => ({ digitalLink: link, nfc: { ...m, cmac: '' } }), 'nfc.cmac'],
    ['picc_data in the link without cmac', (m, link) => ({ digitalLink: `${link}&picc_data=${m.piccData}` }), 'digitalLink'],
    ['lower-case hex in the link (a tag mirrors upper case)', (m, link) => ({ digitalLink: `${link}&picc_data=${m.piccData.toLowerCase()}&cmac=${m.cmac}` }), 'digitalLink'],
  ])('refuses %s with BAD_USER_INPUT and records nothing', async (_what, input, field) => {
    const [u] = await mint(1);
    const tag = await bind(u!);
    const before = await counts();
    const r = await scan(input(tap(tag, 1), u!.link));
    expect(r.data?.verifyScan ?? null).toBeNull();
    expect(code(r), JSON.stringify(r.errors)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toContain(field);
    expect(await counts()).toEqual(before);
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: null });
  });

  it('accepts exactly one of 10 concurrent taps with the same counter; the other 9 are replays grouped in one alert (race)', async () => {
    const [u] = await mint(1);
    const tag = await bind(u!);
    const m = tap(tag, 42);
    const results = await Promise.all(Array.from({ length: 10 }, () => scan({ gtin, serial: u!.serial, nfc: m }, retailer.key)));
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    const verdicts = results.map((r) => r.data!.verifyScan.verdict).sort();
    expect(verdicts).toEqual(['AUTHENTIC', ...Array(9).fill('SUSPICIOUS')]);
    const rows = await sql<{ count: number; severity: string }>("select count, severity::text as severity from fraud_alert where passport_id = ? and kind = 'NFC_REPLAY'", [u!.id]);
    expect(rows).toEqual([{ count: 9, severity: 'HIGH' }]);
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 42 });
  });

  it('accepts increasing counters raced out of order only while they increase (race)', async () => {
    const [u] = await mint(1);
    const tag = await bind(u!);
    const results = await Promise.all([3, 1, 2].map((c) => scan({ gtin, serial: u!.serial, nfc: tap(tag, c) }, retailer.key)));
    expect(results.filter((r) => r.errors)).toEqual([]);
    // Whatever order they were locked in, the stored counter is the highest and only reads that advanced it are clean.
    expect(await tagRow(tag.uid)).toMatchObject({ last_counter: 3 });
    const clean = results.filter((r) => r.data!.verifyScan.verdict === 'AUTHENTIC').length;
    const replays = (await sql<{ count: number }>("select count from fraud_alert where passport_id = ? and kind = 'NFC_REPLAY'", [u!.id]))[0]?.count ?? 0;
    expect(clean + replays).toBe(3);
    expect(clean).toBeGreaterThanOrEqual(1);
  });
});
