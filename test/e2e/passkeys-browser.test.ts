import { type Browser, type BrowserContext, type CDPSession, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_PAGE_CSP } from '../../src/modules/ownership/owner-page.routes.js';
import { MeOwnerDocument, PassportOwnershipDocument } from '../documents/ownership.js';
import { brandWithModel } from '../support/owners.js';
import { chromiumFor } from '../support/requires.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The proof that real clients work: Debian's Chromium (or DPP_CHROMIUM_PATH), driven through playwright-core,
// with the Chrome // DevTools Protocol's virtual authenticators (one per person, each in its own browser context) making
// real passkeys on the page the server serves at /owner, and refusing on cue (WebAuthn.setResponseOverrideBits,
// WebAuthn.setCredentialProperties). Everything a person does goes through the page: labels, buttons
// and the status region; the API is used only as the brand and retailer, and to check the outcome.

// Skipped with one line saying how to run it when no browser is found; a failure under CI (see support/requires.ts).
const CHROMIUM = chromiumFor('the real-browser passkey tests (test/e2e/passkeys-browser.test.ts)');
const suite = CHROMIUM ? describe : describe.skip;

type Person = { context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string; problems: string[] };
type Outcome = { state: string; text: string; reason: string | null };
type Unit = { id: string; claimCode: string };

let s: TestServer;
let browser: Browser | undefined;
let brand: Awaited<ReturnType<typeof brandWithModel>>;
let retailer: { id: string; key: string };
const people: Person[] = [];

beforeAll(async () => {
  s = await startTestServer();
  brand = await brandWithModel(s, { prefix: '0614141', item: '77001' });
  retailer = await s.org('RETAILER');
  // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start; the page is our own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await s?.stop();
});

/** A minted, signed unit sold through the API (a retailer's retail_selling custody event), with its claim code. */
async function soldUnit(): Promise<Unit> {
  const [unit] = await brand.mint(1);
  const sold = await s.gql('mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { seq } }', { i: { passportIds: [unit!.id], bizStep: 'retail_selling', disposition: 'retail_sold', country: 'DE' } }, retailer.key);
  expect(sold.errors).toBeUndefined();
  return unit!;
}

/** A person: a browser context with its own virtual platform authenticator (resident keys, user verification), on the owner page. */
async function person(): Promise<Person> {
  const context = await browser!.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  // The RP ID is localhost, so the page must be on http://localhost (a secure context), not 127.0.0.1.
  await page.goto(`http://localhost:${s.port}/owner`);
  const p = { context, page, cdp, authenticatorId, problems };
  people.push(p);
  return p;
}

/** Clicks a button and waits for the page's next outcome in its status region (role=status, aria-live). */
async function press(p: Person, button: Locator): Promise<Outcome> {
  const status = p.page.getByRole('status');
  const seq = Number(await status.getAttribute('data-seq'));
  await button.click();
  await p.page.locator(`#status[data-seq="${seq + 1}"]`).waitFor({ timeout: 15_000 });
  return { state: (await status.getAttribute('data-state'))!, text: (await status.textContent())!, reason: await status.getAttribute('data-reason') };
}

const form = (p: Person, title: string) => p.page.getByRole('form', { name: title });

async function register(p: Person, displayName: string): Promise<Outcome> {
  await p.page.getByLabel('Your name').fill(displayName);
  return press(p, p.page.getByRole('button', { name: 'Create account with a passkey' }));
}

async function claim(p: Person, unit: Unit): Promise<Outcome> {
  const f = form(p, 'Claim a product');
  await f.getByLabel('Passport ID').fill(unit.id);
  await f.getByLabel('Claim code').fill(unit.claimCode);
  return press(p, f.getByRole('button', { name: 'Claim ownership' }));
}

async function offer(p: Person, passportId: string): Promise<Outcome> {
  const f = form(p, 'Pass a product on');
  await f.getByLabel('Passport ID').fill(passportId);
  return press(p, f.getByRole('button', { name: 'Offer transfer' }));
}

async function accept(p: Person, passportId: string, code: string): Promise<Outcome> {
  const f = form(p, 'Receive a product');
  await f.getByLabel('Passport ID').fill(passportId);
  await f.getByLabel('Transfer code').fill(code);
  return press(p, f.getByRole('button', { name: 'Accept transfer' }));
}

async function fileWarrantyClaim(p: Person, passportId: string, issue: string): Promise<Outcome> {
  const f = form(p, 'Warranty service');
  await f.getByLabel('Passport ID').fill(passportId);
  await f.getByLabel('What is wrong?').fill(issue);
  return press(p, f.getByRole('button', { name: 'File warranty claim' }));
}

/** The passport ids in the page's "My products" list. */
async function listed(p: Person): Promise<string[]> {
  return p.page.locator('#passports li').evaluateAll((items) => items.map((li) => li.getAttribute('data-passport-id')!));
}

/** The owner session token the page keeps (in sessionStorage only), for checking the outcome through the API. */
async function tokenOf(p: Person): Promise<string> {
  const stored = await p.page.evaluate(() => ({ session: sessionStorage.getItem('dpp.ownerToken'), local: localStorage.length }));
  expect(stored.local).toBe(0);
  expect(stored.session).toMatch(/^dpo_/);
  return stored.session!;
}

async function ownerIdOf(p: Person): Promise<string> {
  const me = await s.gql(MeOwnerDocument, {}, await tokenOf(p));
  expect(me.errors).toBeUndefined();
  return me.data!.me.owner!.id;
}

async function credentials(p: Person) {
  return (await p.cdp.send('WebAuthn.getCredentials', { authenticatorId: p.authenticatorId })).credentials;
}

async function brandView(passportId: string) {
  const r = await s.gql(PassportOwnershipDocument, { id: passportId }, brand.key);
  expect(r.errors).toBeUndefined();
  return r.data!.passport;
}

async function history(passportId: string) {
  const r = await s.gql<{ passport: { history: { edges: { node: { type: string; actorId: string | null; payload: Record<string, unknown> } }[] } } }>(
    'query($id: ID!) { passport(id: $id) { history { edges { node { type actorId payload } } } } }',
    { id: passportId },
    brand.key,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.passport.history.edges.map((e) => e.node);
}

suite('passkeys in a real browser: Chromium with CDP virtual authenticators on /owner', () => {
  let unit: Unit;
  let alex: Person;
  let blair: Person;

  it('serves the owner page with a strict Content-Security-Policy and nothing inline', async () => {
    const res = await fetch(`${s.url}/owner`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(OWNER_PAGE_CSP);
    expect(OWNER_PAGE_CSP).toContain("script-src 'self'");
    expect(OWNER_PAGE_CSP).not.toContain('unsafe');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // every script is a file from this origin
    expect(html).not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//); // no third-party resources
    const js = await fetch(`${s.url}/owner/owner.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('creates an owner account with a passkey, signs out and in again, and claims a sold unit with its claim code', async () => {
    unit = await soldUnit();
    alex = await person();

    const registered = await register(alex, 'Alex Example');
    expect(registered).toMatchObject({ state: 'ok', text: 'Account created. Signed in as Alex Example.' });
    const [credential, ...more] = await credentials(alex);
    expect(more).toEqual([]);
    expect(credential).toMatchObject({ isResidentCredential: true, rpId: 'localhost', userName: 'Alex Example' });

    expect(await press(alex, alex.page.getByRole('button', { name: 'Sign out' }))).toMatchObject({ state: 'ok', text: 'Signed out.' });
    expect(await alex.page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await press(alex, alex.page.getByRole('button', { name: 'Sign in with a passkey' }))).toMatchObject({ state: 'ok', text: 'Signed in as Alex Example.' });

    expect(await claim(alex, unit)).toMatchObject({ state: 'ok', text: 'The product is yours: ownership claimed.' });
    expect(await listed(alex)).toEqual([unit.id]);
    expect(await brandView(unit.id)).toMatchObject({ status: 'OWNED', currentOwnership: { ownerId: await ownerIdOf(alex), acquiredVia: 'CLAIM' } });
  });

  it('offers a transfer (the page shows the one-time code); a second person with their own passkey accepts it', async () => {
    const offered = await offer(alex, unit.id);
    expect(offered.state).toBe('ok');
    const code = (await alex.page.locator('#offer-code').textContent())!;
    expect(code.length).toBeGreaterThan(10);
    expect(offered.text).toContain(code);
    await expect.poll(() => alex.page.locator('#offer-result').isVisible()).toBe(true);

    blair = await person();
    expect(await register(blair, 'Blair Example')).toMatchObject({ state: 'ok' });
    expect(await credentials(blair)).toHaveLength(1);
    expect((await credentials(blair))[0]!.credentialId).not.toBe((await credentials(alex))[0]!.credentialId);

    expect(await accept(blair, unit.id, code)).toMatchObject({ state: 'ok', text: 'Transfer accepted: the product is yours.' });
    expect(await listed(blair)).toEqual([unit.id]);
  });

  it('the brand sees the ownership moved, and the history has OWNERSHIP_CLAIMED and OWNERSHIP_TRANSFERRED events naming no one', async () => {
    const blairId = await ownerIdOf(blair);
    expect(await brandView(unit.id)).toMatchObject({ status: 'OWNED', currentOwnership: { ownerId: blairId, acquiredVia: 'TRANSFER', until: null } });

    const events = await history(unit.id);
    expect(events.map((e) => e.type)).toEqual(['MINTED', 'SIGNED', 'CUSTODY', 'OWNERSHIP_CLAIMED', 'OWNERSHIP_TRANSFERRED', 'OWNERSHIP_TRANSFERRED']);
    expect(events.slice(3).map((e) => [e.actorId, e.payload.via ?? e.payload.step])).toEqual([
      [null, 'CLAIM_CODE'],
      [null, 'OFFERED'],
      [null, 'ACCEPTED'],
    ]);
    const text = JSON.stringify(events);
    for (const personal of [blairId, await ownerIdOf(alex), 'Alex', 'Blair', unit.claimCode]) expect(text).not.toContain(personal);
  });

  it('the former owner can no longer act: offering again is refused (NOT_THE_OWNER); the new owner files a warranty claim', async () => {
    const again = await offer(alex, unit.id);
    expect(again).toMatchObject({ state: 'error', reason: 'NOT_THE_OWNER' });
    expect(again.text).toContain('You are not the current owner of this product. (NOT_THE_OWNER)');
    expect(await fileWarrantyClaim(alex, unit.id, 'The screen flickers')).toMatchObject({ state: 'error', reason: 'NOT_THE_OWNER' });
    expect(await press(alex, alex.page.getByRole('button', { name: 'Refresh the list' }))).toMatchObject({ state: 'ok', text: 'You own 0 products.' });
    expect(await listed(alex)).toEqual([]);

    const filed = await fileWarrantyClaim(blair, unit.id, 'The screen flickers');
    expect(filed).toMatchObject({ state: 'ok' });
    expect(filed.text).toMatch(/^Warranty claim filed\. Reference [0-9a-f-]{36}; the brand will review it \(status open\)\.$/);
    const claims = await s.gql<{ passport: { warrantyClaims: { issue: string; status: string }[] } }>('query($id: ID!) { passport(id: $id) { warrantyClaims { issue status } } }', { id: unit.id }, brand.key);
    expect(claims.data!.passport.warrantyClaims).toEqual([{ issue: 'The screen flickers', status: 'OPEN' }]);
    expect((await history(unit.id)).at(-1)!.type).toBe('WARRANTY_CLAIMED');
  });

  describe('refusals the virtual authenticator produces on cue, shown on the page with their reason', () => {
    let casey: Person;
    let caseyUnit: Unit;
    const bits = (p: Person, o: { isBadUV?: boolean; isBadUP?: boolean; isBogusSignature?: boolean }) =>
      p.cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId: p.authenticatorId, isBadUV: false, isBadUP: false, isBogusSignature: false, ...o });

    beforeAll(async () => {
      if (!browser) return;
      caseyUnit = await soldUnit();
      casey = await person();
      expect(await register(casey, 'Casey Example')).toMatchObject({ state: 'ok' });
    });

    it.each([
      ['isBadUV', 'USER_VERIFICATION_REQUIRED'],
      ['isBadUP', 'USER_PRESENCE_REQUIRED'],
      ['isBogusSignature', 'BAD_SIGNATURE'],
    ] as const)('%s: the claim is refused with %s and writes nothing', async (bit, reason) => {
      await bits(casey, { [bit]: true });
      try {
        const refused = await claim(casey, caseyUnit);
        expect(refused).toMatchObject({ state: 'error', reason });
        expect(refused.text).toContain(`(${reason})`);
      } finally {
        await bits(casey, {});
      }
      expect(await brandView(caseyUnit.id)).toMatchObject({ status: 'SOLD', currentOwnership: null });
    });

    it('a signature counter that goes back (WebAuthn.setCredentialProperties) is refused with COUNTER_REGRESSION', async () => {
      // With the override bits reset, the same passkey claims the unit: nothing above used up the claim code.
      expect(await claim(casey, caseyUnit)).toMatchObject({ state: 'ok' });
      const token = await tokenOf(casey);
      const before = (await s.gql(MeOwnerDocument, {}, token)).data!.me.owner!.passkeys[0]!.signCount;
      const [credential] = await credentials(casey);
      expect(credential!.signCount).toBe(before);
      expect(before).toBeGreaterThan(1);

      // As if the passkey had been cloned from an earlier state: its next assertion reports 1.
      await casey.cdp.send('WebAuthn.setCredentialProperties', { authenticatorId: casey.authenticatorId, credentialId: credential!.credentialId, signCount: 0 });
      const refused = await offer(casey, caseyUnit.id);
      expect(refused).toMatchObject({ state: 'error', reason: 'COUNTER_REGRESSION' });
      expect(refused.text).toContain('(COUNTER_REGRESSION)');
      expect((await s.gql(MeOwnerDocument, {}, token)).data!.me.owner!.passkeys[0]!.signCount).toBe(before);
      expect((await history(caseyUnit.id)).at(-1)!.type).toBe('OWNERSHIP_CLAIMED'); // no offer was made
    });
  });

  it('no page error and no Content-Security-Policy violation in any browser context', () => {
    expect(people.length).toBe(3);
    expect(people.flatMap((p) => p.problems)).toEqual([]);
  });
});
