import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { historyService } from '../../src/modules/history/history.service.js';
import { withFlippedSignature } from '../support/live.js';
import { startResolverServer } from '../support/resolver-server.js';
import type { TestServer } from '../support/server.js';

let s: TestServer;
let brand: { id: string; key: string };
let recycler: { id: string; key: string };
let gtin: string;
let units: { id: string; link: string }[];

const MODEL_NAME = 'Bike <script>alert(1)</script> & "Co"';

/** The unit's Digital Link on the test server (its resolver host is its own address, so redirects can be followed). */
function local(link: string): string {
  const u = new URL(link);
  return `${s.url}${u.pathname}${u.search}`;
}

const flipped = withFlippedSignature;

// Follows the resolver's 307 to the verification result, as a phone's browser does.
const get = (url: string, accept?: string, headers: Record<string, string> = {}) => fetch(url, { headers: { ...(accept ? { accept } : {}), ...headers } });

async function scanCount(): Promise<number> {
  const [row] = await s.db.orm.em.fork().getConnection().execute<{ n: number }[]>('select count(*)::int as n from scan_event');
  return row!.n;
}

beforeAll(async () => {
  s = await startResolverServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['7612399'] });
  recycler = await s.org('RECYCLER');
  const body = '761239900001';
  gtin = body + gtinCheckDigit(body);
  const c = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: MODEL_NAME, category: 'bicycles' } }, brand.key);
  if (c.errors) throw new Error(JSON.stringify(c.errors));
  const m = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }',
    { i: { gtin, quantity: 5, lot: 'L42', idempotencyKey: 'resolver' } },
    brand.key,
  );
  if (m.errors) throw new Error(JSON.stringify(m.errors));
  await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: m.data!.mintPassports.id }, brand.key);
  units = await Promise.all(
    m.data!.mintPassports.passports.map(async (p) => ({
      id: p.id,
      link: (await s.gql<{ passport: { digitalLink: string } }>('query($id: ID!) { passport(id: $id) { digitalLink } }', { id: p.id }, brand.key)).data!.passport.digitalLink,
    })),
  );
});
afterAll(async () => {
  await s?.stop();
});

describe('GS1 Digital Link resolver', () => {
  it('carries the lot qualifier and a signature in the minted links', () => {
    expect(units[0]!.link).toMatch(/\/01\/\d{14}\/10\/L42\/21\/[^/?]+\?sig=/);
  });

  it('answers browsers with an accessible, escaped HTML page under a strict CSP', async () => {
    const res = await get(local(units[0]!.link), 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(res.headers.get('vary')).toMatch(/Accept/i);
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<title>[^<]+<\/title>/);
    expect(html).toContain('Verdict: Authentic');
    expect(html).toContain('Bike &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;');
    expect(html).not.toContain('<script>');
    expect(html).not.toMatch(/<script|<link|src=/i);
    expect(html).not.toContain('What to do');
  });

  it('answers machines with JSON', async () => {
    const res = await get(local(units[0]!.link), 'application/json');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      verdict: 'AUTHENTIC',
      reasons: expect.any(Array),
      passport: { gtin: gtin.padStart(14, '0'), lot: 'L42', status: 'SIGNED', brand: { id: brand.id }, model: { name: MODEL_NAME, category: 'bicycles' } },
    });
    expect(new Date(body.scannedAt as string).getTime()).toBeGreaterThan(0);
  });

  it('answers an RFC 9264 linkset by Accept and by ?linkType=linkset, one entry per level, without recording a scan', async () => {
    const link = local(units[1]!.link);
    const before = await scanCount();
    for (const res of [await get(link, 'application/linkset+json'), await get(`${link}&linkType=linkset`)]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/linkset\+json/);
      const body = (await res.json()) as { linkset: Record<string, unknown>[] };
      expect(body.linkset.map((e) => e.anchor)).toEqual([units[1]!.link.split('?')[0], `${s.url}/01/${gtin.padStart(14, '0')}`]);
      const [unit, product] = body.linkset as [Record<string, unknown>, Record<string, unknown>];
      const result = `${s.url}/verification${new URL(units[1]!.link).pathname}`;
      expect(unit['https://gs1.org/voc/defaultLink']).toEqual([{ href: result, title: 'Verification result' }]);
      expect(unit['https://gs1.org/voc/verificationService']).toEqual(expect.arrayContaining([expect.objectContaining({ href: result, type: 'application/json' })]));
      expect(product['https://gs1.org/voc/pip']).toEqual([expect.objectContaining({ href: `${s.url}/product/01/${gtin.padStart(14, '0')}` })]);
    }
    expect(await scanCount()).toBe(before);
  });

  it('checks ?sig=: a flipped signature is COUNTERFEIT, with a "What to do" page', async () => {
    const res = await get(local(flipped(units[2]!.link)), 'application/json');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { verdict: string }).verdict).toBe('COUNTERFEIT');
    const page = await (await get(local(flipped(units[2]!.link)), 'text/html')).text();
    expect(page).toContain('Verdict: Counterfeit');
    expect(page).toContain('What to do');
  });

  it('answers 404 with a verification result for a serial never minted', async () => {
    const res = await get(`${s.url}/01/${gtin}/21/NEVERMINTED1`, 'application/json');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ verdict: 'UNKNOWN', passport: null, serial: 'NEVERMINTED1' });
    const page = await get(`${s.url}/01/${gtin}/21/NEVERMINTED1`, 'text/html');
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('What to do');
  });

  it('answers 410 for end-of-life and recycled units', async () => {
    const unit = units[3]!;
    await historyService.appendEvent(s.db.orm.em.fork() as EntityManager, { passportId: unit.id, type: 'END_OF_LIFE', actorId: recycler.id, payload: { reason: 'worn out' } });
    const eol = await get(local(unit.link), 'application/json');
    expect(eol.status).toBe(410);
    expect(await eol.json()).toMatchObject({ passport: { status: 'END_OF_LIFE' } });
    await historyService.appendEvent(s.db.orm.em.fork() as EntityManager, { passportId: unit.id, type: 'RECYCLED', actorId: recycler.id, payload: {} });
    const res = await get(local(unit.link), 'application/json');
    expect(res.status).toBe(410);
    expect(await res.json()).toMatchObject({ verdict: expect.any(String), passport: { status: 'RECYCLED' } });
  });

  it('answers 400 for malformed identifiers, as JSON or HTML', async () => {
    const bad = await get(`${s.url}/01/12345/21/ABC`, 'application/json');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'BAD_USER_INPUT' } });
    const malformedPage = await get(`${s.url}/01/${gtin}/10/LOT/21/`, 'text/html');
    expect(malformedPage.status).toBe(400);
    expect(malformedPage.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await malformedPage.text()).toContain('<html lang="en">');
    const order = await get(`${s.url}/01/${gtin}/21/A/10/B`, 'application/json');
    expect(order.status).toBe(400);
  });

  it('records every resolve followed to its verification result as one scan', async () => {
    const before = await scanCount();
    await get(local(units[4]!.link), 'text/html');
    await get(local(units[4]!.link), 'application/json');
    await get(`${local(units[4]!.link)}&linkType=linkset`); // the linkset: not a scan
    await fetch(local(units[4]!.link), { redirect: 'manual' }); // the redirect alone: not a scan
    await get(`${s.url}/01/${gtin}/21/NOSUCH2`, 'application/json');
    await get(`${s.url}/01/12345/21/ABC`, 'application/json'); // malformed: not a scan
    expect(await scanCount()).toBe(before + 3);
  });

  it('answers HEAD with the redirect a GET would have, and the result page its status, and records no scan', async () => {
    const before = await scanCount();
    const head = (url: string, accept = 'application/json') => fetch(url, { method: 'HEAD', headers: { accept }, redirect: 'manual' });
    const redirect = await head(local(units[2]!.link), 'text/html');
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe(`${s.url}/verification${new URL(units[2]!.link).pathname}${new URL(units[2]!.link).search}`);
    expect(redirect.headers.get('link')).toContain('rel="linkset"');
    const result = (u: string) => `${s.url}/verification${new URL(u, s.url).pathname}`;
    const ok = await head(result(units[2]!.link), 'text/html');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await head(result(`/01/${gtin}/21/NOSUCH3`))).status).toBe(404);
    expect((await head(result(units[3]!.link))).status).toBe(410); // recycled above
    expect((await head(`${s.url}/01/12345/21/ABC`)).status).toBe(400);
    expect((await head(result('/01/12345/21/ABC'))).status).toBe(400);
    expect(await scanCount()).toBe(before);
  });

  it('refuses a bad bearer key with 401 and accepts a good one', async () => {
    expect((await get(local(units[4]!.link), 'application/json', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await get(local(units[4]!.link), 'application/json', { authorization: `Bearer ${brand.key}` })).status).toBe(200);
  });

  it('describes itself at /.well-known/gs1resolver', async () => {
    const res = await get(`${s.url}/.well-known/gs1resolver`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ name: expect.any(String), resolverRoot: new URL(units[0]!.link).origin, supportedPrimaryKeys: ['01'] });
    expect(body.supportedLinkType).toEqual(expect.arrayContaining([{ namespace: 'https://gs1.org/voc/', prefix: 'gs1:' }]));
  });
});

describe('GS1 Digital Link resolver rate limit', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startResolverServer({ DPP_RATE_LIMIT_ANON_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  it('limits anonymous resolves with 429 and Retry-After', async () => {
    const url = `${limited.url}/01/${gtin}/21/ANY1`;
    const statuses: number[] = [];
    // Each resolve is one request, and the verification result it redirects to another.
    for (let i = 0; i < 3; i++) statuses.push((await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual' })).status);
    expect(statuses).toEqual([307, 307, 307]);
    const fourth = await get(url, 'application/json');
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await fourth.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });
});
