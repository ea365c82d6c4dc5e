import type { EntityManager } from '@mikro-orm/postgresql';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { historyService } from '../../src/modules/history/history.service.js';
import {
  AcceptOwnershipTransferDocument,
  BeginPasskeyAuthenticationDocument,
  BeginPasskeyRegistrationDocument,
  ClaimOwnershipDocument,
  FinishPasskeyAuthenticationDocument,
  FinishPasskeyRegistrationDocument,
  OfferOwnershipTransferDocument,
} from '../documents/ownership.js';
import type { AssertionPurpose } from '../gql/graphql.js';
import { type Overrides, SoftAuthenticator } from './soft-authenticator.js';
import type { GqlResponse, TestServer } from './server.js';

export type Owner = { ownerId: string; token: string; auth: SoftAuthenticator };

export const codeOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;
export const reasonOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.reason;

/** The origin the server accepts by default: localhost on the port it bound. */
export function originOf(s: TestServer): string {
  return `http://localhost:${s.port}`;
}

export function authenticator(s: TestServer, opts: Partial<ConstructorParameters<typeof SoftAuthenticator>[0]> = {}): SoftAuthenticator {
  return new SoftAuthenticator({ origin: originOf(s), ...opts });
}

function must<T>(r: GqlResponse<T>): T {
  if (r.errors?.length || !r.data) throw new Error(JSON.stringify(r.errors));
  return r.data;
}

/** A new owner account through the real registration ceremony. */
export async function registerOwner(s: TestServer, auth = authenticator(s), displayName = 'Alex Example'): Promise<Owner> {
  const begin = must(await s.gql(BeginPasskeyRegistrationDocument, { displayName }));
  const response = auth.create(begin.beginPasskeyRegistration.options as never);
  const finish = must(await s.gql(FinishPasskeyRegistrationDocument, { sessionId: begin.beginPasskeyRegistration.sessionId, response }));
  return { ...finish.finishPasskeyRegistration, auth };
}

/** A challenge for `purpose` (and unit) and the authenticator's answer to it. */
export async function assertionFor(s: TestServer, owner: Pick<Owner, 'token' | 'auth'>, purpose: AssertionPurpose, passportId: string | null, o: Overrides = {}) {
  const begin = must(await s.gql(BeginPasskeyAuthenticationDocument, { purpose, passportId }, owner.token));
  return { sessionId: begin.beginPasskeyAuthentication.sessionId, assertion: owner.auth.get(begin.beginPasskeyAuthentication.options as never, o) };
}

/** Signs in with a passkey (SIGN_IN), answering a new session token. */
export async function signIn(s: TestServer, auth: SoftAuthenticator, o: Overrides = {}): Promise<GqlResponse<{ finishPasskeyAuthentication: { ownerId: string; token: string } }>> {
  const begin = must(await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'SIGN_IN', passportId: null }));
  const assertion = auth.get(begin.beginPasskeyAuthentication.options as never, o);
  return s.gql(FinishPasskeyAuthenticationDocument, { sessionId: begin.beginPasskeyAuthentication.sessionId, assertion }) as never;
}

export function gtinFor(prefix: string, item: string): string {
  const body = `${prefix}${item}`.slice(0, 12).padStart(12, '0');
  return (body + gtinCheckDigit(body)).padStart(14, '0');
}

/** A brand with one product model, minting signed units with their claim codes. */
export async function brandWithModel(s: TestServer, opts: { prefix: string; item: string; warrantyMonths?: number | null; authorisedMarkets?: string[] }) {
  const brand = await s.org('BRAND', { gs1CompanyPrefixes: [opts.prefix], markets: ['DE'] });
  const gtin = gtinFor(opts.prefix, opts.item);
  const model = await s.gql(
    'mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }',
    { i: { gtin, name: `Model ${gtin}`, warrantyMonths: opts.warrantyMonths === undefined ? 24 : opts.warrantyMonths, authorisedMarkets: opts.authorisedMarkets ?? ['DE', 'FR'] } },
    brand.key,
  );
  if (model.errors) throw new Error(JSON.stringify(model.errors));
  let batch = 0;
  return {
    ...brand,
    gtin,
    /** Mints (and signs, unless `sign: false`) units; answers their ids and claim codes. */
    async mint(quantity = 1, sign = true): Promise<{ id: string; serial: string; claimCode: string }[]> {
      const r = await s.gql<{ mintPassports: { id: string; passports: { id: string; serial: string; claimCode: string }[] } }>(
        'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial claimCode } } }',
        { i: { gtin, quantity, idempotencyKey: `owners-${opts.item}-${batch++}` } },
        brand.key,
      );
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      if (sign) {
        const sig = await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: r.data!.mintPassports.id }, brand.key);
        if (sig.errors) throw new Error(JSON.stringify(sig.errors));
      }
      return r.data!.mintPassports.passports;
    },
  };
}

/** Sells a unit through a retail_selling custody event (the custody feature's own path). */
export async function sell(s: TestServer, passportId: string, occurredAt?: Date): Promise<void> {
  await historyService.appendEvent(s.db.orm.em.fork() as EntityManager, { passportId, type: 'CUSTODY', actorId: null, occurredAt: occurredAt ?? null, payload: { bizStep: 'retail_selling' } });
}

/** Claims a sold unit for `owner` (claim code + CLAIM_OWNERSHIP assertion); throws on any error. */
export async function claimUnit(s: TestServer, owner: Owner, unit: { id: string; claimCode: string }): Promise<void> {
  const { assertion } = await assertionFor(s, owner, 'CLAIM_OWNERSHIP', unit.id);
  must(await s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion }, owner.token));
}

/** Hands a unit from `from` to `to` through an offer and an accept; throws on any error. */
export async function transferUnit(s: TestServer, from: Owner, to: Owner, passportId: string): Promise<void> {
  const offer = await assertionFor(s, from, 'OFFER_TRANSFER', passportId);
  const { code } = must(await s.gql(OfferOwnershipTransferDocument, { passportId, assertion: offer.assertion }, from.token)).offerOwnershipTransfer;
  const accept = await assertionFor(s, to, 'ACCEPT_TRANSFER', passportId);
  must(await s.gql(AcceptOwnershipTransferDocument, { code, assertion: accept.assertion }, to.token));
}
