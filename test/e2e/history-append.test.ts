import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/raw.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { eventHash } from '../../src/modules/history/chain.js';
import { appendEvent, appendEventsForMany, type EventSpec, type LockedPassport, verifyHistory } from '../../src/modules/history/history.service.js';
import { Passport } from '../../src/modules/passports/passport.entity.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;
const PREFIX = '0614141';
let batchNo = 0;

const em = () => s.db.orm.em.fork() as EntityManager;

type Minted = { mintPassports: { id: string; passports: { id: string }[] } };

/** Mints `quantity` units of the test model and signs the first `signed` of them (all by default). */
async function units(quantity: number, signed = quantity): Promise<string[]> {
  const r = await s.gql<Minted>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }',
    { i: { gtin, quantity, idempotencyKey: `history-${batchNo++}` } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const ids = r.data!.mintPassports.passports.map((p) => p.id);
  if (signed > 0) {
    const sign = await s.gql('mutation($i: SignInput!) { signPassports(input: $i) { signed } }', { i: { passportIds: ids.slice(0, signed) } }, brand.key);
    if (sign.errors) throw new Error(JSON.stringify(sign.errors));
  }
  return ids;
}

type StoredEvent = { seq: number; type: string; prev_hash: string | null; hash: string };

async function events(passportId: string): Promise<StoredEvent[]> {
  return rawQuery<StoredEvent>(em(), 'select seq, type, prev_hash, hash from lifecycle_event where passport_id = $1 order by seq', [passportId]);
}

async function head(passportId: string) {
  const [row] = await rawQuery<{ status: string; head_seq: number; head_hash: string }>(em(), 'select status, head_seq, head_hash from passport where id = $1', [passportId]);
  return row!;
}

/** Rewrites stored history the way only someone with table-owner rights could: trigger off, change, trigger on, one transaction. */
async function forge(sql: string, params: unknown[]): Promise<void> {
  await em().transactional(async (tx) => {
    await rawQuery(tx as EntityManager, 'alter table lifecycle_event disable trigger lifecycle_event_append_only', []);
    await rawQuery(tx as EntityManager, sql, params);
    await rawQuery(tx as EntityManager, 'alter table lifecycle_event enable trigger lifecycle_event_append_only', []);
  });
}

const tamper = (passportId: string, note = 'seal broken'): Parameters<typeof appendEvent>[1] => ({
  passportId,
  type: 'TAMPER_REPORTED',
  actorId: brand.id,
  payload: { note },
});

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: [PREFIX] });
  const body = `${PREFIX}12345`;
  gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'History model', warrantyMonths: 24 } }, brand.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
});
afterAll(async () => {
  await s?.stop();
});

describe('appending to the history', () => {
  it('gives a minted and signed unit a valid history of 2 whose head is the passport head', async () => {
    const [id] = await units(1);
    const v = await verifyHistory(em(), id!);
    const h = await head(id!);
    expect(v).toEqual({ valid: true, length: 2, headHash: h.head_hash });
    expect((await events(id!)).map((e) => e.type)).toEqual(['MINTED', 'SIGNED']);
  });

  it('appends an event with the next seq, linked to the head, recomputable, and moves the status', async () => {
    const [id] = await units(1);
    const before = await head(id!);
    const occurredAt = new Date(Date.now() - 60_000);
    const r = await appendEvent(em(), {
      passportId: id!,
      type: 'CUSTODY',
      occurredAt,
      actorId: brand.id,
      payload: { bizStep: 'urn:epcglobal:cbv:bizstep:shipping', readPoint: 'urn:epc:id:sgln:0614141.00001.0', at: occurredAt, dropped: undefined },
    });
    expect(r.status).toBe('IN_SUPPLY_CHAIN');
    expect(r.previousStatus).toBe('SIGNED');
    expect(r.event).toMatchObject({ passportId: id, seq: 3, type: 'CUSTODY', prevHash: before.head_hash, occurredAt });
    // The payload is stored and hashed as JSON: the date became its ISO string, the undefined member vanished.
    expect(r.event.payload).toEqual({ bizStep: 'urn:epcglobal:cbv:bizstep:shipping', readPoint: 'urn:epc:id:sgln:0614141.00001.0', at: occurredAt.toISOString() });
    const { id: eventId, hash, ...draft } = r.event;
    expect(eventHash(draft)).toBe(hash);
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await head(id!)).toEqual({ status: 'IN_SUPPLY_CHAIN', head_seq: 3, head_hash: hash });
    expect(await verifyHistory(em(), id!)).toEqual({ valid: true, length: 3, headHash: hash });
  });

  it('keeps one unbroken chain under 20 concurrent appends to one passport, each with its own entity manager', async () => {
    const [id] = await units(1);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendEvent(
          em(),
          i % 2 === 0
            ? { passportId: id!, type: 'CUSTODY', actorId: brand.id, payload: { n: i }, bizStep: 'receiving' }
            : { ...tamper(id!, `report ${i}`), payload: { n: i } },
        ),
      ),
    );
    expect(results.map((r) => r.event.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 3));
    const stored = await events(id!);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.prev_hash).toBe(stored[i - 1]!.hash);
    expect(await head(id!)).toEqual({ status: 'IN_SUPPLY_CHAIN', head_seq: 22, head_hash: stored[21]!.hash });
    expect(await verifyHistory(em(), id!)).toEqual({ valid: true, length: 22, headHash: stored[21]!.hash });
  });

  it('walks a unit through its life, then refuses anything after RECYCLED', async () => {
    const [id] = await units(1);
    const steps: [EventSpec['type'], string?][] = [
      ['CUSTODY', 'shipping'],
      ['CUSTODY', 'retail_selling'],
      ['OWNERSHIP_CLAIMED'],
      ['OWNERSHIP_TRANSFERRED'],
      ['WARRANTY_CLAIMED'],
      ['SERVICED'],
      ['END_OF_LIFE'],
      ['RECYCLED'],
    ];
    const statuses: string[] = [];
    for (const [type, bizStep] of steps) statuses.push((await appendEvent(em(), { passportId: id!, type, bizStep, actorId: brand.id, payload: {} })).status);
    expect(statuses).toEqual(['IN_SUPPLY_CHAIN', 'SOLD', 'OWNED', 'OWNED', 'OWNED', 'OWNED', 'END_OF_LIFE', 'RECYCLED']);
    await expect(appendEvent(em(), { ...tamper(id!), type: 'SOLD' })).rejects.toMatchObject({ code: 'CONFLICT', details: { from: 'RECYCLED', event: 'SOLD' } });
    expect(await verifyHistory(em(), id!)).toMatchObject({ valid: true, length: 10 });
  });

  it('refuses an illegal move (RECYCLED on a SIGNED unit) with CONFLICT and writes nothing', async () => {
    const [id] = await units(1);
    const before = { head: await head(id!), events: await events(id!) };
    await expect(appendEvent(em(), { ...tamper(id!), type: 'RECYCLED' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('Illegal status move: SIGNED → RECYCLED'),
      details: { passportId: id, from: 'SIGNED', event: 'RECYCLED' },
    });
    expect({ head: await head(id!), events: await events(id!) }).toEqual(before);
  });

  it('answers NOT_FOUND for an unknown or malformed passport id', async () => {
    await expect(appendEvent(em(), tamper(randomUUID()))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(appendEvent(em(), tamper('not-a-uuid'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(verifyHistory(em(), randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(verifyHistory(em(), 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses malformed events with BAD_USER_INPUT and writes nothing', async () => {
    const [id] = await units(1);
    const before = await events(id!);
    const bad: Partial<Parameters<typeof appendEvent>[1]>[] = [
      { type: 'NOPE' as never },
      { type: 'MINTED' },
      { type: 'SIGNED' },
      { occurredAt: new Date(Date.now() + 3 * 86_400_000) },
      { occurredAt: new Date('invalid') },
      { actorId: 'someone' },
      { payload: [] as never },
      { payload: { text: 'nul \u0000 inside' } },
      { payload: { text: 'lone \ud800 surrogate' } },
      { payload: { big: 'x'.repeat(70_000) } },
      { type: 'CUSTODY', bizStep: 'shipping', payload: { bizStep: 'retail_selling' } },
      { payload: { deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) } },
    ];
    for (const patch of bad) {
      await expect(appendEvent(em(), { ...tamper(id!), ...patch }), JSON.stringify(patch)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    // A backslash before "u0000" is an ordinary string, not a NUL.
    await expect(appendEvent(em(), { ...tamper(id!), payload: { text: 'C:\\u0000\\ud800' } })).resolves.toMatchObject({ status: 'SIGNED' });
    // The same business step in two spellings is no contradiction.
    await expect(
      appendEvent(em(), { passportId: id!, type: 'CUSTODY', bizStep: 'retail_selling', actorId: brand.id, payload: { bizStep: 'urn:epcglobal:cbv:bizstep:retail_selling' } }),
    ).resolves.toMatchObject({ status: 'SOLD' });
    expect(await events(id!)).toHaveLength(before.length + 2);
    expect(await verifyHistory(em(), id!)).toMatchObject({ valid: true, length: 4 });
  });

  it('joins the caller\'s transaction: appends inside it chain on each other and roll back with it', async () => {
    const [id] = await units(1);
    const before = await head(id!);
    await expect(
      em().transactional(async (tx) => {
        const a = await appendEvent(tx as EntityManager, tamper(id!, 'one'));
        const b = await appendEvent(tx as EntityManager, tamper(id!, 'two'));
        expect([a.event.seq, b.event.seq]).toEqual([3, 4]);
        expect(b.event.prevHash).toBe(a.event.hash);
        throw new Error('caller aborts');
      }),
    ).rejects.toThrow('caller aborts');
    expect(await head(id!)).toEqual(before);
    expect(await events(id!)).toHaveLength(2);

    const committed = await em().transactional(async (tx) => {
      await appendEvent(tx as EntityManager, tamper(id!, 'one'));
      return appendEvent(tx as EntityManager, { passportId: id!, type: 'SOLD', actorId: brand.id, payload: {} });
    });
    expect(committed.status).toBe('SOLD');
    expect(await verifyHistory(em(), id!)).toEqual({ valid: true, length: 4, headHash: committed.event.hash });
  });

  it('refreshes a passport the caller\'s entity manager already holds', async () => {
    const [id] = await units(1);
    const mine = em();
    const loaded = await mine.findOneOrFail(Passport, { id: id! });
    expect(loaded.status).toBe('SIGNED');
    loaded.site = 'Pending edit';
    const r = await appendEvent(mine, { passportId: id!, type: 'CUSTODY', actorId: brand.id, payload: {} });
    expect(loaded).toMatchObject({ status: 'IN_SUPPLY_CHAIN', headSeq: 3, headHash: r.event.hash, site: 'Pending edit' });
    // The caller's unflushed edit was not written by the append's own transaction, and still flushes as the caller's.
    const [before] = await rawQuery<{ site: string | null }>(em(), 'select site from passport where id = $1', [id]);
    expect(before!.site).toBeNull();
    await mine.flush();
    expect(await head(id!)).toEqual({ status: 'IN_SUPPLY_CHAIN', head_seq: 3, head_hash: r.event.hash });
    const [after] = await rawQuery<{ site: string | null }>(em(), 'select site from passport where id = $1', [id]);
    expect(after!.site).toBe('Pending edit');
  });
});

describe('one event for many passports', () => {
  it('appends to every unit in one transaction, in input order, with the builder seeing each locked row', async () => {
    const ids = await units(5);
    const seen: LockedPassport[] = [];
    const results = await appendEventsForMany(em(), [...ids, ids[0]!], (p) => {
      seen.push(p);
      return { type: 'CUSTODY', actorId: brand.id, payload: { bizStep: 'shipping', epc: `${p.gtin}.${p.serial}` } };
    });
    expect(results.map((r) => r.event.passportId)).toEqual(ids);
    expect(results.every((r) => r.event.seq === 3 && r.status === 'IN_SUPPLY_CHAIN')).toBe(true);
    expect(seen.map((p) => p.id)).toEqual([...ids].sort());
    expect(seen.every((p) => p.status === 'SIGNED' && p.headSeq === 2 && p.brandId === brand.id)).toBe(true);
    for (const id of ids) expect(await verifyHistory(em(), id)).toMatchObject({ valid: true, length: 3 });
  });

  it('writes nothing for any unit when one move is illegal, and names that unit', async () => {
    const ids = await units(5, 4); // the fifth stays MINTED, so it cannot take custody
    const unsigned = ids[4]!;
    const before = await Promise.all(ids.map(async (id) => ({ head: await head(id), events: await events(id) })));
    await expect(appendEventsForMany(em(), ids, { type: 'CUSTODY', actorId: brand.id, payload: { bizStep: 'shipping' } })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(unsigned),
      details: { passportId: unsigned, from: 'MINTED', event: 'CUSTODY' },
    });
    expect(await Promise.all(ids.map(async (id) => ({ head: await head(id), events: await events(id) })))).toEqual(before);
  });

  it('writes nothing when one id is unknown (NOT_FOUND) or the builder refuses a unit', async () => {
    const ids = await units(3);
    const before = await Promise.all(ids.map((id) => events(id)));
    const missing = randomUUID();
    await expect(appendEventsForMany(em(), [...ids, missing], { type: 'TAMPER_REPORTED', actorId: brand.id, payload: {} })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { id: missing },
    });
    await expect(
      appendEventsForMany(em(), ids, (p) => {
        if (p.id === ids[1]) throw new Error('not this one');
        return { type: 'TAMPER_REPORTED', actorId: brand.id, payload: {} };
      }),
    ).rejects.toThrow('not this one');
    expect(await Promise.all(ids.map((id) => events(id)))).toEqual(before);
    expect(await appendEventsForMany(em(), [], { type: 'TAMPER_REPORTED', actorId: brand.id, payload: {} })).toEqual([]);
  });

  it('does not deadlock when overlapping calls list the same units in opposite orders', async () => {
    const ids = await units(6);
    const forward = ids;
    const backward = [...ids].reverse();
    const calls = Array.from({ length: 8 }, (_, i) =>
      i % 3 === 2
        ? appendEvent(em(), tamper(ids[i % ids.length]!, `single ${i}`)).then(() => undefined)
        : appendEventsForMany(em(), i % 2 ? forward : backward, { type: 'TAMPER_REPORTED', actorId: brand.id, payload: { call: i } }).then(() => undefined),
    );
    await Promise.all(calls);
    const lengths = await Promise.all(ids.map(async (id) => (await verifyHistory(em(), id))));
    expect(lengths.every((v) => v.valid)).toBe(true);
    expect(lengths.reduce((n, v) => n + v.length, 0)).toBe(6 * 2 + 6 * 6 + 2);
  });
});

describe('verifying the history', () => {
  async function unitWithHistory(extra: number): Promise<string> {
    const [id] = await units(1);
    for (let i = 0; i < extra; i++) await appendEvent(em(), tamper(id!, `report ${i}`));
    expect(await verifyHistory(em(), id!)).toMatchObject({ valid: true, length: 2 + extra });
    return id!;
  }

  it('names an event whose stored content was altered', async () => {
    const id = await unitWithHistory(3);
    await forge(`update lifecycle_event set payload = '{"note":"nothing to see"}' where passport_id = $1 and seq = 3`, [id]);
    const v = await verifyHistory(em(), id);
    expect(v).toMatchObject({ valid: false, length: 5, firstBrokenSeq: 3, reason: expect.stringContaining('hash') });
    // And the trigger is back on: ordinary updates are refused again.
    await expect(rawQuery(em(), `update lifecycle_event set payload = '{}' where passport_id = $1`, [id])).rejects.toThrow(/append-only/);
  });

  it('names the event after one that was altered and re-hashed (its link no longer holds)', async () => {
    const id = await unitWithHistory(3);
    const [row] = await rawQuery<{ id: string; seq: number; type: string; actor_id: string; prev_hash: string; occurred_at: string; recorded_at: string }>(
      em(),
      `select id, seq, type, actor_id, prev_hash,
         to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at,
         to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_at
       from lifecycle_event where passport_id = $1 and seq = 3`,
      [id],
    );
    const payload = { note: 'rewritten' };
    const hash = eventHash({
      passportId: id,
      seq: 3,
      type: row!.type as never,
      occurredAt: new Date(row!.occurred_at),
      recordedAt: new Date(row!.recorded_at),
      actorId: row!.actor_id,
      payload,
      prevHash: row!.prev_hash,
    });
    await forge(`update lifecycle_event set payload = $2::jsonb, hash = $3 where id = $1`, [row!.id, JSON.stringify(payload), hash]);
    expect(await verifyHistory(em(), id)).toMatchObject({ valid: false, firstBrokenSeq: 4, reason: expect.stringContaining('prevHash') });
  });

  it('names a deleted event, a timestamp moved by a microsecond, and a truncated tail', async () => {
    const gap = await unitWithHistory(2);
    await forge('delete from lifecycle_event where passport_id = $1 and seq = 2', [gap]);
    expect(await verifyHistory(em(), gap)).toMatchObject({ valid: false, length: 3, firstBrokenSeq: 2, reason: expect.stringContaining('missing') });

    const micro = await unitWithHistory(2);
    await forge(`update lifecycle_event set occurred_at = occurred_at + interval '1 microsecond' where passport_id = $1 and seq = 4`, [micro]);
    expect(await verifyHistory(em(), micro)).toMatchObject({ valid: false, firstBrokenSeq: 4 });

    const tail = await unitWithHistory(2);
    await forge('delete from lifecycle_event where passport_id = $1 and seq = 4', [tail]);
    expect(await verifyHistory(em(), tail)).toMatchObject({ valid: false, length: 3, firstBrokenSeq: 4 });
  });

  it('detects a passport head that is not the last event', async () => {
    const id = await unitWithHistory(1);
    await rawQuery(em(), `update passport set head_hash = repeat('0', 64) where id = $1`, [id]);
    expect(await verifyHistory(em(), id)).toMatchObject({ valid: false, length: 3, headHash: '0'.repeat(64), firstBrokenSeq: 3, reason: expect.stringContaining('head') });
  });
});
