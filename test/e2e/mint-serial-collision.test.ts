import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { generateSerial } from '../../src/gs1/serial.js';
import { LifecycleEvent } from '../../src/modules/history/lifecycle-event.entity.js';
import { Passport } from '../../src/modules/passports/passport.entity.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Serials are 80 random bits, so a collision never happens by chance in a test: the generator is made to
// repeat an existing unit's serial, and the mint must write a fresh one instead, never touch the old unit.
vi.mock('../../src/gs1/serial.js', async (original) => {
  const real = await original<typeof import('../../src/gs1/serial.js')>();
  return { ...real, generateSerial: vi.fn(real.generateSerial) };
});

let s: TestServer;
let key: string;
const body = '061414199901';
const gtin = body + gtinCheckDigit(body);
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id serial } } }';
type Minted = { mintPassports: { passports: { id: string; serial: string }[] } };

beforeAll(async () => {
  s = await startTestServer();
  key = (await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] })).key;
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Collision model' } }, key);
  expect(r.errors).toBeUndefined();
  await s.gql('mutation { rotateSigningKey { kid } }', {}, key);
});
afterAll(async () => {
  await s?.stop();
});

describe('mint: a serial that is already taken', () => {
  it('is drawn again; every unit is new, signed, with its own history, and the earlier unit is unchanged', async () => {
    const first = await s.gql<Minted>(MINT, { i: { gtin, quantity: 1, idempotencyKey: 'first', sign: true } }, key);
    const taken = first.data!.mintPassports.passports[0]!;
    const before = await s.db.orm.em.fork().findOneOrFail(Passport, { id: taken.id });

    vi.mocked(generateSerial).mockReturnValueOnce(taken.serial).mockReturnValueOnce(taken.serial);
    const second = await s.gql<Minted>(MINT, { i: { gtin, quantity: 3, idempotencyKey: 'second', sign: true } }, key);
    expect(second.errors).toBeUndefined();
    const units = second.data!.mintPassports.passports;
    expect(units).toHaveLength(3);
    expect(new Set(units.map((u) => u.serial)).size).toBe(3);
    expect(units.map((u) => u.serial)).not.toContain(taken.serial);
    // The mint really drew the taken serial (twice: the first retry collides again).
    expect(vi.mocked(generateSerial).mock.results.filter((r) => r.value === taken.serial)).toHaveLength(3);

    const em = s.db.orm.em.fork();
    expect(await em.count(Passport, { gtin: gtin.padStart(14, '0') })).toBe(4);
    for (const u of units) expect(await em.count(LifecycleEvent, { passport: u.id })).toBe(2);
    // No MINTED or SIGNED event of a unit that lost its serial was written.
    expect(await em.count(LifecycleEvent, {})).toBe(8);
    const after = await em.findOneOrFail(Passport, { id: taken.id });
    expect([after.headHash, after.signature, after.batch.id]).toEqual([before.headHash, before.signature, before.batch.id]);
  });
});
