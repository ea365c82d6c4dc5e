import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyProof } from '../../src/crypto/data-integrity.js';
import { fromBase64Url, verify } from '../../src/crypto/ed25519.js';
import { jwkToPublicKey } from '../../src/crypto/jwk.js';
import { gtinCheckDigit, parseDigitalLink } from '../../src/gs1/index.js';
import { eventHash } from '../../src/modules/history/chain.js';
import { LifecycleEvent } from '../../src/modules/history/lifecycle-event.entity.js';
import { identityBytes } from '../../src/modules/passports/identity.js';
import { MintBatch, Passport } from '../../src/modules/passports/passport.entity.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let brand: { id: string; key: string };
let other: { id: string; key: string };
const PREFIX = '0614141';
let item = 100000;

/** A fresh valid GTIN-13 under the test brand's company prefix. */
function nextGtin(prefix = PREFIX): string {
  const body = `${prefix}${String(item++).slice(-(12 - prefix.length))}`.padStart(12, '0');
  return body + gtinCheckDigit(body);
}

async function model(key: string, gtin: string) {
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id gtin } }', { i: { gtin, name: `Model ${gtin}`, warrantyMonths: 24 } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return gtin.padStart(14, '0');
}

const MINT = `mutation($i: MintInput!) { mintPassports(input: $i) { id replayed passports { id serial sgtinUri digitalLink claimCode } } }`;
type Minted = { mintPassports: { id: string; replayed: boolean; passports: { id: string; serial: string; sgtinUri: string; digitalLink: string; claimCode: string }[] } };

async function counts() {
  const em = s.db.orm.em.fork();
  return { passports: await em.count(Passport, {}), batches: await em.count(MintBatch, {}), events: await em.count(LifecycleEvent, {}) };
}

async function jwks(): Promise<{ keys: { kid: string }[] }> {
  return (await fetch(`${s.url}/.well-known/jwks.json`)).json() as never;
}

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: [PREFIX], markets: ['DE'] });
  other = await s.org('BRAND', { gs1CompanyPrefixes: ['0700000'] });
});
afterAll(async () => {
  await s?.stop();
});

describe('minting', () => {
  it('mints random, unique GS1 identities with EPC and Digital Link URIs and claim codes', async () => {
    const gtin = await model(brand.key, nextGtin());
    const r = await s.gql<Minted>(MINT, { i: { gtin, quantity: 25, lot: 'L1', site: 'Plant 7', idempotencyKey: 'mint-1' } }, brand.key);
    expect(r.errors).toBeUndefined();
    const units = r.data!.mintPassports.passports;
    expect(units).toHaveLength(25);
    expect(new Set(units.map((u) => u.serial)).size).toBe(25);
    for (const u of units) {
      expect(u.serial).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
      expect(u.sgtinUri).toBe(`urn:epc:id:sgtin:${PREFIX}.${gtin[0]}${gtin.slice(1 + PREFIX.length, 13)}.${u.serial}`);
      expect(u.digitalLink).toBe(`${s.services.config.resolverHost}/01/${gtin}/10/L1/21/${u.serial}`);
      expect(u.claimCode).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    }
    const stored = await s.db.orm.em.fork().findOneOrFail(Passport, { id: units[0]!.id });
    expect(stored.status).toBe('MINTED');
    expect(stored.claimCodeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(units[0]!.claimCode);
  });

  it('answers a retry with the same key with the same batch, and other input under that key with CONFLICT', async () => {
    const gtin = await model(brand.key, nextGtin());
    const input = { gtin, quantity: 3, idempotencyKey: 'retry-me' };
    const first = await s.gql<Minted>(MINT, { i: input }, brand.key);
    const before = await counts();
    const again = await s.gql<Minted>(MINT, { i: input }, brand.key);
    expect(again.data!.mintPassports.replayed).toBe(true);
    expect(again.data!.mintPassports.id).toBe(first.data!.mintPassports.id);
    expect(again.data!.mintPassports.passports.map((p) => [p.id, p.claimCode]).sort()).toEqual(first.data!.mintPassports.passports.map((p) => [p.id, p.claimCode]).sort());
    const different = await s.gql<Minted>(MINT, { i: { ...input, quantity: 4 } }, brand.key);
    expect(different.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  });

  it('makes one batch when the same idempotency key is sent five times at once (race)', async () => {
    const gtin = await model(brand.key, nextGtin());
    const before = await counts();
    const results = await Promise.all(Array.from({ length: 5 }, () => s.gql<Minted>(MINT, { i: { gtin, quantity: 10, idempotencyKey: 'same-time' } }, brand.key)));
    expect(results.every((r) => !r.errors)).toBe(true);
    expect(new Set(results.map((r) => r.data!.mintPassports.id)).size).toBe(1);
    expect(results.filter((r) => !r.data!.mintPassports.replayed)).toHaveLength(1);
    const after = await counts();
    expect(after.batches - before.batches).toBe(1);
    expect(after.passports - before.passports).toBe(10);
  });

  it.each([
    [{ quantity: 0 }, 'quantity'],
    [{ quantity: -5 }, 'quantity'],
    [{ quantity: 100_001 }, 'quantity'],
    [{ gtin: '4006381333932' }, 'gtin'],
    [{ gtin: '12345' }, 'gtin'],
    [{ lot: 'bad lot with spaces and way too long' }, 'lot'],
    [{ carrier: 'BARCODE' }, 'carrier'],
    [{ destinationMarkets: ['ZZ'] }, 'destinationMarkets'],
    [{ idempotencyKey: '' }, 'idempotencyKey'],
  ])('refuses %j with BAD_USER_INPUT naming %s, writing nothing', async (patch, field) => {
    const gtin = await model(brand.key, nextGtin());
    const before = await counts();
    const r = await s.gql(MINT, { i: { gtin, quantity: 2, idempotencyKey: `bad-${field}-${Math.random()}`, ...patch } }, brand.key);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toContain(field);
    expect(await counts()).toEqual(before);
  });

  it('refuses minting another brand\'s GTIN (FORBIDDEN), an unknown GTIN (NOT_FOUND), and non-brands', async () => {
    const gtin = await model(brand.key, nextGtin());
    const before = await counts();
    expect((await s.gql(MINT, { i: { gtin, quantity: 1, idempotencyKey: 'x' } }, other.key)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await s.gql(MINT, { i: { gtin: nextGtin(), quantity: 1, idempotencyKey: 'y' } }, brand.key)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const retailer = await s.org('RETAILER');
    expect((await s.gql(MINT, { i: { gtin, quantity: 1, idempotencyKey: 'z' } }, retailer.key)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await s.gql(MINT, { i: { gtin, quantity: 1, idempotencyKey: 'z' } })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await counts()).toEqual(before);
  });
});

describe('signing, history and credentials', () => {
  let gtin: string;
  let batchId: string;
  let ids: string[];

  beforeAll(async () => {
    gtin = await model(brand.key, nextGtin());
    const r = await s.gql<Minted>(MINT, { i: { gtin, quantity: 6, lot: 'B7', idempotencyKey: 'to-sign' } }, brand.key);
    batchId = r.data!.mintPassports.id;
    ids = r.data!.mintPassports.passports.map((p) => p.id);
  });

  it('signs a batch once even when asked twice at the same time (race), each unit with one SIGNED event', async () => {
    const sign = () => s.gql<{ signPassports: { signed: number; kid: string } }>('mutation($i: SignInput!) { signPassports(input: $i) { signed kid } }', { i: { batchId } }, brand.key);
    const [a, b] = await Promise.all([sign(), sign()]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data!.signPassports.signed + b.data!.signPassports.signed).toBe(6);
    expect((await sign()).data!.signPassports.signed).toBe(0);
    const em = s.db.orm.em.fork();
    expect(await em.count(LifecycleEvent, { passport: { $in: ids }, type: 'SIGNED' })).toBe(6);
  });

  it('signs a batch large enough to go through the worker-thread pool, every signature valid', async () => {
    const bigGtin = await model(brand.key, nextGtin());
    const r = await s.gql<Minted>(MINT, { i: { gtin: bigGtin, quantity: 2500, idempotencyKey: 'pool' } }, brand.key);
    const signed = await s.gql<{ signPassports: { signed: number; kid: string } }>('mutation($i: SignInput!) { signPassports(input: $i) { signed kid } }', { i: { batchId: r.data!.mintPassports.id } }, brand.key);
    expect(signed.data!.signPassports.signed).toBe(2500);
    const jwk = (await jwks()).keys.find((k) => k.kid === signed.data!.signPassports.kid)!;
    const rows = await s.db.orm.em.fork().find(Passport, { batch: r.data!.mintPassports.id });
    expect(rows.every((p) => p.status === 'SIGNED' && verify(fromBase64Url(p.signature!), identityBytes(p), jwkToPublicKey(jwk)))).toBe(true);
  });

  it('gives each unit a signature that verifies with the published JWKS over its identity record, carried in the Digital Link', async () => {
    const r = await s.gql<{ passport: { gtin: string; serial: string; lot: string; digitalLink: string; status: string; signature: { kid: string; algorithm: string; value: string } } }>(
      'query($id: ID!) { passport(id: $id) { gtin serial lot status digitalLink signature { kid algorithm value } } }',
      { id: ids[0] },
      brand.key,
    );
    const p = r.data!.passport;
    expect(p.status).toBe('SIGNED');
    expect(p.signature.algorithm).toBe('Ed25519');
    const link = parseDigitalLink(p.digitalLink);
    expect(link.sig).toBe(p.signature.value);
    const jwk = (await jwks()).keys.find((k) => k.kid === p.signature.kid);
    expect(jwk).toBeDefined();
    const publicKey = jwkToPublicKey(jwk);
    expect(verify(fromBase64Url(p.signature.value), identityBytes(p), publicKey)).toBe(true);
    const flipped = fromBase64Url(p.signature.value);
    flipped[5]! ^= 1;
    expect(verify(flipped, identityBytes(p), publicKey)).toBe(false);
    expect(verify(fromBase64Url(p.signature.value), identityBytes({ ...p, serial: p.serial.slice(1) + 'X' }), publicKey)).toBe(false);
  });

  it('keeps a hash-chained history: MINTED then SIGNED, each hash recomputable', async () => {
    const r = await s.gql<{ passport: { headHash: string; history: { edges: { node: Record<string, any> }[] } } }>(
      'query($id: ID!) { passport(id: $id) { headHash history { edges { node { passportId seq type occurredAt recordedAt actorId payload prevHash hash } } } } }',
      { id: ids[1] },
      brand.key,
    );
    const events = r.data!.passport.history.edges.map((e) => e.node);
    expect(events.map((e) => e.type)).toEqual(['MINTED', 'SIGNED']);
    expect(events[0]!.prevHash).toBeNull();
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(r.data!.passport.headHash).toBe(events[1]!.hash);
    for (const e of events) {
      expect(eventHash({ ...e, occurredAt: new Date(e.occurredAt), recordedAt: new Date(e.recordedAt) } as never)).toBe(e.hash);
    }
  });

  it('refuses to update or delete a history row at the database level', async () => {
    const conn = s.db.orm.em.fork().getConnection();
    await expect(conn.execute(`update lifecycle_event set payload = '{}' where passport_id = ?`, [ids[2]])).rejects.toThrow(/append-only/);
    await expect(conn.execute(`delete from lifecycle_event where passport_id = ?`, [ids[2]])).rejects.toThrow(/append-only/);
  });

  it('refuses to delete a passport at the database level, so no history is ever left without its unit', async () => {
    const conn = s.db.orm.em.fork().getConnection();
    await expect(conn.execute(`delete from passport where id = ?`, [ids[2]])).rejects.toThrow(/never deleted/);
    expect(await s.db.orm.em.fork().count(Passport, { id: ids[2] })).toBe(1);
  });

  it('exports a W3C VC secured with eddsa-jcs-2022 that verifies with the published keys, and fails after any change', async () => {
    const r = await s.gql<{ passport: { verifiableCredential: Record<string, any> } }>('query($id: ID!) { passport(id: $id) { verifiableCredential } }', { id: ids[3] }, brand.key);
    const vc = r.data!.passport.verifiableCredential;
    expect(vc.type).toContain('VerifiableCredential');
    expect(vc.proof.cryptosuite).toBe('eddsa-jcs-2022');
    expect(vc.credentialSubject.gtin).toBe(gtin);
    const keys = (await jwks()).keys;
    const resolve = (vm: string) => {
      const jwk = keys.find((k) => vm.endsWith(`#${k.kid}`));
      return jwk ? jwkToPublicKey(jwk) : undefined;
    };
    expect(verifyProof(vc, resolve)).toEqual({ verified: true, reasons: [] });
    const tampered = structuredClone(vc);
    tampered.credentialSubject.status = 'RECYCLED';
    expect(verifyProof(tampered, resolve).verified).toBe(false);
    const did = await (await fetch(`${s.url}/brands/${brand.id}/did.json`)).json() as { verificationMethod: { id: string }[] };
    expect(did.verificationMethod.map((m) => m.id)).toContain(vc.proof.verificationMethod);
  });

  it('refuses signing another brand\'s units (NOT_FOUND) and bad input, writing nothing', async () => {
    const before = await counts();
    const sign = (input: unknown, key = other.key) => s.gql('mutation($i: SignInput!) { signPassports(input: $i) { signed } }', { i: input }, key);
    expect((await sign({ batchId })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await sign({ passportIds: ids })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await sign({}, brand.key)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await sign({ batchId, passportIds: ids }, brand.key)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await sign({ passportIds: ['nope'] }, brand.key)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await counts()).toEqual(before);
  });
});

describe('minting and signing in one call (sign: true)', () => {
  it('mints signed units: ?sig= in every Digital Link, status SIGNED, a MINTED then SIGNED chain, nothing left to sign', async () => {
    const g = await model(brand.key, nextGtin());
    // Large enough for the worker-thread pool, several units small enough to check one by one.
    const r = await s.gql<Minted>(MINT, { i: { gtin: g, quantity: 2100, lot: 'S1', idempotencyKey: 'mint-and-sign', sign: true } }, brand.key);
    expect(r.errors).toBeUndefined();
    const units = r.data!.mintPassports.passports;
    expect(units).toHaveLength(2100);
    const keys = (await jwks()).keys;
    const rows = await s.db.orm.em.fork().find(Passport, { batch: r.data!.mintPassports.id });
    expect(rows).toHaveLength(2100);
    const byId = new Map(rows.map((p) => [p.id, p]));
    for (const u of units) {
      const row = byId.get(u.id)!;
      const link = parseDigitalLink(u.digitalLink);
      expect(link.sig).toBe(row.signature);
      expect(row.status).toBe('SIGNED');
      expect(row.headSeq).toBe(2);
      const jwk = keys.find((k) => k.kid === row.kid)!;
      expect(verify(fromBase64Url(link.sig!), identityBytes({ gtin: g, serial: u.serial, lot: 'S1' }), jwkToPublicKey(jwk))).toBe(true);
    }
    const v = await s.gql<{ verifyHistory: { valid: boolean; length: number } }>('query($id: ID!) { verifyHistory(passportId: $id) { valid length } }', { id: units[7]!.id }, brand.key);
    expect(v.data?.verifyHistory).toEqual({ valid: true, length: 2 });
    const em = s.db.orm.em.fork();
    expect(await em.count(LifecycleEvent, { passport: { $in: units.map((u) => u.id) }, type: 'SIGNED' })).toBe(2100);
    const again = await s.gql<{ signPassports: { signed: number } }>('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: r.data!.mintPassports.id }, brand.key);
    expect(again.data!.signPassports.signed).toBe(0);
  });

  it('answers a retry with the same signed links, and the key reused without sign (or with) as CONFLICT', async () => {
    const g = await model(brand.key, nextGtin());
    const i = { gtin: g, quantity: 3, idempotencyKey: 'signed-retry', sign: true };
    const [a, b] = await Promise.all([s.gql<Minted>(MINT, { i }, brand.key), s.gql<Minted>(MINT, { i }, brand.key)]);
    expect(a.errors ?? b.errors).toBeUndefined();
    expect(a.data!.mintPassports.id).toBe(b.data!.mintPassports.id);
    const replay = await s.gql<Minted>(MINT, { i }, brand.key);
    expect(replay.data!.mintPassports.replayed).toBe(true);
    const links = (m: Minted) => m.mintPassports.passports.map((p) => p.digitalLink).sort();
    expect(links(replay.data!)).toEqual(links(a.data!));
    expect(links(replay.data!).every((l) => l.includes('?sig='))).toBe(true);
    const before = await counts();
    const unsigned = await s.gql<Minted>(MINT, { i: { ...i, sign: false } }, brand.key);
    expect(unsigned.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  });

  it('keeps a batch minted without sign replayable as before (the option is not part of its request hash)', async () => {
    const g = await model(brand.key, nextGtin());
    const i = { gtin: g, quantity: 2, idempotencyKey: 'unsigned-retry' };
    const first = await s.gql<Minted>(MINT, { i }, brand.key);
    const retry = await s.gql<Minted>(MINT, { i: { ...i, sign: false } }, brand.key);
    expect(retry.data!.mintPassports.id).toBe(first.data!.mintPassports.id);
    expect(retry.data!.mintPassports.passports.every((p) => !p.digitalLink.includes('?sig='))).toBe(true);
    const signedRetry = await s.gql<Minted>(MINT, { i: { ...i, sign: true } }, brand.key);
    expect(signedRetry.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('refuses bad input and another brand\'s GTIN with sign: true, writing nothing', async () => {
    const g = await model(brand.key, nextGtin());
    const before = await counts();
    const mint = (i: unknown, key = brand.key) => s.gql(MINT, { i }, key);
    expect((await mint({ gtin: g, quantity: 0, idempotencyKey: 'bad-0', sign: true })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await mint({ gtin: g, quantity: 100_001, idempotencyKey: 'bad-big', sign: true })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await mint({ gtin: g, quantity: 1, idempotencyKey: 'other', sign: true }, other.key)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);
  });
});

describe('reads', () => {
  it('finds a unit by id, SGTIN and Digital Link, for its brand and authorities, not for another brand', async () => {
    const gtin = await model(brand.key, nextGtin());
    const r = await s.gql<Minted>(MINT, { i: { gtin, quantity: 2, idempotencyKey: 'reads' } }, brand.key);
    const unit = r.data!.mintPassports.passports[0]!;
    const regulator = await s.org('REGULATOR');
    for (const key of [brand.key, regulator.key]) {
      const byId = await s.gql<{ passport: { serial: string } }>('query($id: ID!) { passport(id: $id) { serial } }', { id: unit.id }, key);
      expect(byId.data?.passport?.serial).toBe(unit.serial);
      const bySgtin = await s.gql<{ passportBySgtin: { id: string } }>('query($g: String!, $s: String!) { passportBySgtin(gtin: $g, serial: $s) { id } }', { g: gtin, s: unit.serial }, key);
      expect(bySgtin.data?.passportBySgtin?.id).toBe(unit.id);
      const byLink = await s.gql<{ passportByDigitalLink: { id: string } }>('query($u: String!) { passportByDigitalLink(url: $u) { id model { gtin name } } }', { u: unit.digitalLink }, key);
      expect(byLink.data?.passportByDigitalLink?.id).toBe(unit.id);
      const byEpc = await s.gql<{ passportByDigitalLink: { id: string } }>('query($u: String!) { passportByDigitalLink(url: $u) { id } }', { u: unit.sgtinUri }, key);
      expect(byEpc.data?.passportByDigitalLink?.id).toBe(unit.id);
    }
    // Another brand and anonymous callers find the unit at the public tier: identity yes, manufacture facts no.
    for (const key of [other.key, undefined]) {
      const r = await s.gql<{ passport: { serial: string; site: string | null } }>('query($id: ID!) { passport(id: $id) { serial site } }', { id: unit.id }, key);
      expect(r.data?.passport?.serial).toBe(unit.serial);
      expect(r.data?.passport?.site).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect((await s.gql('query($u: String!) { passportByDigitalLink(url: $u) { id } }', { u: 'https://x.example/01/4006381333932/21/A' }, brand.key)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('pages through a brand\'s passports with a stable cursor and filters, and keeps other brands out', async () => {
    const gtin = await model(brand.key, nextGtin());
    await s.gql<Minted>(MINT, { i: { gtin, quantity: 7, lot: 'PAGE', idempotencyKey: 'page' } }, brand.key);
    const Q = 'query($f: PassportFilter, $first: Int, $after: String) { passports(filter: $f, first: $first, after: $after) { edges { cursor node { id lot } } pageInfo { hasNextPage endCursor } } }';
    type Page = { passports: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { data?: Page | null } = await s.gql<Page>(Q, { f: { gtin, lot: 'PAGE' }, first: 3, after }, brand.key);
      seen.push(...page.data!.passports.edges.map((e) => e.node.id));
      if (!page.data!.passports.pageInfo.hasNextPage) break;
      after = page.data!.passports.pageInfo.endCursor;
      // Units minted between pages must not disturb the walk.
      await s.gql<Minted>(MINT, { i: { gtin, quantity: 1, lot: 'OTHER', idempotencyKey: `between-${seen.length}` } }, brand.key);
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const foreign = await s.gql<Page>(Q, { f: { gtin } }, other.key);
    expect(foreign.data!.passports.edges).toHaveLength(0);
    // A brand naming another brand (or anything but itself) is refused, never answered with its own units.
    for (const brandId of [other.id, 'not-an-id', '00000000-0000-0000-0000-000000000000']) {
      const asked = await s.gql<Page>(Q, { f: { brandId, gtin } }, brand.key);
      expect([asked.data, asked.errors?.[0]?.extensions?.code]).toEqual([null, 'FORBIDDEN']);
    }
    const own = await s.gql<Page>(Q, { f: { brandId: brand.id, gtin, lot: 'PAGE' } }, brand.key);
    expect(own.data!.passports.edges.map((e) => e.node.id)).toEqual(seen);
    const regulator = await s.org('REGULATOR');
    expect((await s.gql<Page>(Q, { f: { brandId: other.id, gtin } }, regulator.key)).data!.passports.edges).toEqual([]);
    expect((await s.gql<Page>(Q, { f: { brandId: brand.id, gtin, lot: 'PAGE' } }, regulator.key)).data!.passports.edges.map((e) => e.node.id)).toEqual(seen);
    const retailer = await s.org('RETAILER');
    expect((await s.gql(Q, {}, retailer.key)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await s.gql(Q, { after: 'garbage' }, brand.key)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
