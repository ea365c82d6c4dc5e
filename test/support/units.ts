import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { eventHash, type EventDraft, insertEvents } from '../../src/modules/history/chain.js';
import { MintBatch, Passport } from '../../src/modules/passports/passport.entity.js';
import { ProductModel } from '../../src/modules/product-models/product-model.entity.js';
import type { TestServer } from './server.js';

// Units for EPCIS tests: product models, signing, and units with given serials on any test server.

/** When units with given serials were made: before GS1's examples (2005). */
export const MADE_FIXED = '2005-01-01T00:00:00.000Z';

export async function model(server: TestServer, key: string, g: string): Promise<string> {
  const r = await server.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { gtin } }', { i: { gtin: g, name: `Model ${g}` } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return g.padStart(14, '0');
}

export async function sign(server: TestServer, key: string, ids: string[]): Promise<void> {
  const r = await server.gql('mutation($i: SignInput!) { signPassports(input: $i) { signed } }', { i: { passportIds: ids } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}

/**
 * Units with GIVEN serials (GS1's example documents name serials 2017 and 2018; a round trip needs the same
 * identity on a second server). Minting always draws random serials, so this inserts what minting would have
 * written, through the ORM: a batch, the passports, and each unit's MINTED event (hashed with the same
 * `eventHash` and written with the same `insertEvents` as minting). Signing then goes through the API, so
 * everything after the MINTED event is the product's own code path.
 */
export async function unitsWithSerials(server: TestServer, org: { id: string; key: string }, g: string, serials: string[], lot: string | null = null): Promise<string[]> {
  const ids: string[] = [];
  await (server.db.orm.em.fork() as EntityManager).transactional(async (trx) => {
    const tx = trx as EntityManager;
    const m = await tx.findOneOrFail(ProductModel, { gtin: g });
    const batchId = uuidv7();
    tx.create(MintBatch, {
      id: batchId,
      brand: org.id,
      model: m.id,
      gtin: g,
      quantity: serials.length,
      idempotencyKey: `fixed-${randomBytes(6).toString('hex')}`,
      requestHash: '0'.repeat(64),
      lot,
      site: null,
      carrier: 'QR',
      destinationMarkets: [],
    });
    const now = new Date();
    const made = new Date(MADE_FIXED);
    const events: (EventDraft & { id: string; hash: string })[] = [];
    for (const serial of serials) {
      const id = uuidv7();
      const draft: EventDraft = {
        passportId: id,
        seq: 1,
        type: 'MINTED',
        occurredAt: now,
        recordedAt: now,
        actorId: org.id,
        payload: { batchId, gtin: g, serial, lot, site: null, carrier: 'QR' },
        prevHash: null,
      };
      const hash = eventHash(draft);
      tx.create(Passport, {
        id,
        gtin: g,
        serial,
        brand: org.id,
        model: m.id,
        batch: batchId,
        lot,
        site: null,
        manufacturedAt: made,
        carrier: 'QR',
        destinationMarkets: [],
        status: 'MINTED',
        headHash: hash,
        headSeq: 1,
        claimCodeHash: randomBytes(32).toString('hex'),
      });
      events.push({ ...draft, id: uuidv7(), hash });
      ids.push(id);
    }
    await tx.flush();
    await insertEvents(tx, events);
  });
  await sign(server, org.key, ids);
  return ids;
}

