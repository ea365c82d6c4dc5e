import { Writable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ApiKeyCache, type OrganizationViewer } from '../../src/modules/organizations/api-key-cache.js';
import { startApiKeyListener } from '../../src/modules/organizations/api-key-listener.js';
import { hashApiKey, organizationService } from '../../src/modules/organizations/organization.service.js';

const viewer = (n: number): OrganizationViewer => ({ kind: 'ORGANIZATION', organizationId: `org-${n}`, orgKind: 'BRAND', apiKeyId: `key-${n}` });

/** A cache on a hand-driven clock. */
function cacheAt(ttlMs = 1000, maxEntries = 10_000) {
  const clock = { now: 0 };
  return { cache: new ApiKeyCache({ ttlMs, maxEntries, now: () => clock.now }), clock };
}

describe('ApiKeyCache', () => {
  it('answers a stored lookup until its key is evicted, and only that key', () => {
    const { cache } = cacheAt();
    expect(cache.store('h1', viewer(1), cache.ticket())).toBe(true);
    expect(cache.store('h2', viewer(2), cache.ticket())).toBe(true);
    expect(cache.get('h1')).toEqual(viewer(1));
    cache.evictKey('key-1');
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toEqual(viewer(2));
    expect(cache.size).toBe(1);
  });

  it('does not store a lookup that started before an eviction (the revocation race), but does one started after', () => {
    const { cache } = cacheAt();
    const before = cache.ticket(); // the lookup's SELECT is about to see the key valid…
    cache.evictKey('key-1'); // …and the revocation's eviction lands before it returns
    expect(cache.store('h1', viewer(1), before)).toBe(false);
    expect(cache.get('h1')).toBeUndefined();
    // An eviction of any key (and a clear) counts: the generation is per cache, not per key.
    const other = cache.ticket();
    cache.evictKey('key-9');
    expect(cache.store('h1', viewer(1), other)).toBe(false);
    const cleared = cache.ticket();
    cache.clear();
    expect(cache.store('h1', viewer(1), cleared)).toBe(false);
    expect(cache.store('h1', viewer(1), cache.ticket())).toBe(true);
    expect(cache.get('h1')).toEqual(viewer(1));
  });

  it('forgets entries after the TTL', () => {
    const { cache, clock } = cacheAt(1000);
    cache.store('h1', viewer(1), cache.ticket());
    clock.now = 999;
    expect(cache.get('h1')).toEqual(viewer(1));
    clock.now = 1000;
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const { cache } = cacheAt(1000, 3);
    for (const n of [1, 2, 3, 4]) cache.store(`h${n}`, viewer(n), cache.ticket());
    expect(cache.size).toBe(3);
    expect(cache.get('h1')).toBeUndefined();
    expect([2, 3, 4].map((n) => cache.get(`h${n}`)?.apiKeyId)).toEqual(['key-2', 'key-3', 'key-4']);
    // Storing a key again renews its place rather than adding a second entry.
    cache.store('h2', viewer(2), cache.ticket());
    cache.store('h5', viewer(5), cache.ticket());
    expect(cache.get('h3')).toBeUndefined();
    expect(cache.get('h2')).toEqual(viewer(2));
  });

  it('with a TTL of 0 stores and answers nothing', () => {
    const { cache } = cacheAt(0);
    expect(cache.enabled).toBe(false);
    expect(cache.ticket()).toBeUndefined();
    expect(cache.store('h1', viewer(1), 0)).toBe(false);
    expect(cache.get('h1')).toBeUndefined();
  });

  it('off while revocations cannot reach it: cleared, bypassed, and back on empty without lookups begun before', () => {
    const { cache } = cacheAt();
    cache.store('h1', viewer(1), cache.ticket());
    const before = cache.ticket();
    cache.setListening(false);
    expect(cache.enabled).toBe(false);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.ticket()).toBeUndefined();
    expect(cache.store('h2', viewer(2), before)).toBe(false);
    cache.setListening(true);
    expect(cache.get('h1')).toBeUndefined(); // a revocation may have been missed while off
    expect(cache.store('h2', viewer(2), before)).toBe(false); // its SELECT may predate the LISTEN
    expect(cache.store('h2', viewer(2), cache.ticket())).toBe(true);
  });

  it('hands out entries nobody can change', () => {
    const { cache } = cacheAt();
    const v = viewer(1);
    cache.store('h1', v, cache.ticket());
    v.orgKind = 'PLATFORM';
    expect(cache.get('h1')?.orgKind).toBe('BRAND');
    expect(Object.isFrozen(cache.get('h1'))).toBe(true);
  });
});

describe('organizationService.authenticate with a cache', () => {
  const secret = 'dpp_' + 'x'.repeat(43);
  const row = { id: 'key-1', organization_id: 'org-1', kind: 'BRAND' };
  /** An entity manager whose only statement answers `row` after running `during` (a revocation landing mid-query). */
  const fakeEm = (during: () => void, calls: { n: number }) =>
    ({
      getTransactionContext: () => undefined,
      getConnection: () => ({
        getClient: () => ({
          executeQuery: async () => {
            calls.n++;
            during();
            return { rows: [row] };
          },
        }),
      }),
    }) as unknown as EntityManager;

  it('stores a lookup and answers the next from memory', async () => {
    const { cache } = cacheAt();
    const calls = { n: 0 };
    const em = fakeEm(() => undefined, calls);
    expect(await organizationService.authenticate(em, secret, cache)).toMatchObject({ apiKeyId: 'key-1' });
    expect(await organizationService.authenticate(em, secret, cache)).toMatchObject({ apiKeyId: 'key-1' });
    expect(calls.n).toBe(1);
    expect(cache.get(hashApiKey(secret))?.apiKeyId).toBe('key-1');
  });

  it('does not store a lookup whose key was evicted while its SELECT ran', async () => {
    const { cache } = cacheAt();
    const calls = { n: 0 };
    const em = fakeEm(() => cache.evictKey('key-1'), calls);
    expect(await organizationService.authenticate(em, secret, cache)).toMatchObject({ apiKeyId: 'key-1' });
    expect(cache.get(hashApiKey(secret))).toBeUndefined();
    await organizationService.authenticate(em, secret, cache);
    expect(calls.n).toBe(2);
  });

  it('works without a cache, asking the database every time', async () => {
    const calls = { n: 0 };
    const em = fakeEm(() => undefined, calls);
    await organizationService.authenticate(em, secret);
    await organizationService.authenticate(em, secret);
    expect(calls.n).toBe(2);
  });
});

describe('API key revocation listener', () => {
  it('keeps the cache off while PostgreSQL cannot be reached, retrying with a doubling, jittered delay up to the cap, until closed', async () => {
    const lines: { msg: string; backoffMs?: number; retryInMs?: number }[] = [];
    const log = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    const { cache } = cacheAt();
    cache.store('h1', viewer(1), cache.ticket());
    // Port 1 on loopback: connection refused at once.
    const listener = await startApiKeyListener('postgres://postgres@127.0.0.1:1/none', cache, log, { minRetryMs: 20, maxRetryMs: 80 });
    expect(listener.listening).toBe(false);
    expect(cache.enabled).toBe(false);
    expect(cache.get('h1')).toBeUndefined();
    const downs = () => lines.filter((l) => l.msg.includes('listener down'));
    for (const end = Date.now() + 5000; downs().length < 12 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    const seen12 = downs().slice(0, 12);
    expect(seen12.map((l) => l.backoffMs)).toEqual([20, 40, ...Array(10).fill(80)]);
    // Each wait lies between half the backoff and all of it, and varies (replicas do not reconnect in lockstep).
    for (const l of seen12) expect(l.retryInMs).toBeGreaterThanOrEqual(l.backoffMs! / 2);
    for (const l of seen12) expect(l.retryInMs).toBeLessThanOrEqual(l.backoffMs!);
    expect(new Set(seen12.slice(2).map((l) => l.retryInMs)).size).toBeGreaterThan(1);
    expect(cache.enabled).toBe(false);
    await listener.close();
    const seen = lines.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.length).toBe(seen);
  });
});
