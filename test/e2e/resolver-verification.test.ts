import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { chromiumFor } from '../support/requires.js';
import { startResolverServer } from '../support/resolver-server.js';
import type { TestServer } from '../support/server.js';

// The redirect model keeps scan verification: a unit's Digital Link redirects (307) to its verification result,
// which records the scan once and shows the verdict; the UNTP passport is a link of signed units only; a
// revoked unit's JSON answer says so. A real browser follows the redirect as a phone's camera app would.

const UNTP_DPP = 'https://test.uncefact.org/vocabulary/linkTypes/dpp';
const CHROMIUM = chromiumFor('the real-browser resolver test (test/e2e/resolver-verification.test.ts)');

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;

const local = (link: string) => `${s.url}${new URL(link).pathname}${new URL(link).search}`;

async function scanCount(): Promise<number> {
  const [row] = (await s.db.orm.em.fork().getConnection().execute('select count(*)::int as n from scan_event')) as { n: number }[];
  return row!.n;
}

async function mint(sign: boolean, key: string): Promise<{ id: string; link: string }> {
  const r = await s.gql<{ mintPassports: { passports: { id: string; digitalLink: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id digitalLink } } }',
    { i: { gtin, quantity: 1, sign, idempotencyKey: key } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const p = r.data!.mintPassports.passports[0]!;
  return { id: p.id, link: p.digitalLink };
}

beforeAll(async () => {
  s = await startResolverServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0755555'] });
  const body = '075555500001';
  gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
  const m = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Verified bike' } }, brand.key);
  if (m.errors) throw new Error(JSON.stringify(m.errors));
});
afterAll(async () => {
  await s?.stop();
});

describe('the UNTP passport link (untp:dpp)', () => {
  it('is offered for a signed unit, at /credentials/untp-dpp/<passportId>, and redirected to', async () => {
    const unit = await mint(true, 'untp-signed');
    const res = await fetch(`${local(unit.link)}&linkType=linkset`);
    const body = (await res.json()) as { linkset: Record<string, unknown>[] };
    const href = `${s.url}/credentials/untp-dpp/${unit.id}`;
    expect(body.linkset[0]![UNTP_DPP]).toEqual([{ href, title: 'Digital Product Passport (UNTP)', type: 'application/json' }]);
    for (const t of ['untp:dpp', UNTP_DPP]) {
      const r = await fetch(`${local(unit.link)}&linkType=${encodeURIComponent(t)}`, { redirect: 'manual' });
      expect(r.status).toBe(307);
      expect(r.headers.get('location')!.split('?')[0]).toBe(href);
    }
    const credential = await fetch(`${local(unit.link)}&linkType=untp:dpp`);
    expect(credential.status).toBe(200);
    expect(JSON.stringify(await credential.json())).toContain('EnvelopedVerifiableCredential');
  });

  it('is not offered for an unsigned unit (404 with the linkset)', async () => {
    const unit = await mint(false, 'untp-unsigned');
    const body = (await (await fetch(`${local(unit.link)}?linkType=linkset`)).json()) as { linkset: Record<string, unknown>[] };
    expect(body.linkset.flatMap((e) => Object.keys(e))).not.toContain(UNTP_DPP);
    expect((await fetch(`${local(unit.link)}?linkType=untp:dpp`, { redirect: 'manual' })).status).toBe(404);
  });
});

describe('a revoked unit', () => {
  it("answers JSON that says it is revoked: verdict REVOKED, revoked true, passport status REVOKED", async () => {
    const unit = await mint(true, 'revoked');
    const r = await s.gql('mutation($id: ID!) { revokePassport(passportId: $id, reason: STOLEN, note: "gone") { status } }', { id: unit.id }, brand.key);
    expect(r.errors).toBeUndefined();
    const res = await fetch(local(unit.link), { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ verdict: 'REVOKED', revoked: true, passport: { status: 'REVOKED' } });
    const page = await (await fetch(local(unit.link), { headers: { accept: 'text/html' } })).text();
    expect(page).toContain('Verdict: Revoked');
  });
});

describe.skipIf(!CHROMIUM)('a real browser (Chromium) following the Digital Link', () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start; the page is our own.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('lands on the verification result, shows the verdict, and records one scan, not two', async () => {
    const unit = await mint(true, 'browser');
    const before = await scanCount();
    const page = await browser!.newPage();
    const response = await page.goto(local(unit.link));
    expect(response!.status()).toBe(200);
    expect(page.url()).toBe(`${s.url}/verification${new URL(unit.link).pathname}${new URL(unit.link).search}`);
    await expect(page.getByRole('heading', { name: 'Verdict: Authentic' }).textContent()).resolves.toContain('Authentic');
    expect(await scanCount()).toBe(before + 1);
    // A result URL for a unit never minted shows no verdict of anything real.
    const forged = await page.goto(`${s.url}/verification/01/${gtin}/21/FORGED123`);
    expect(forged!.status()).toBe(404);
    expect(await page.content()).toContain('Verdict: Unknown');
    await page.close();
  });
});
