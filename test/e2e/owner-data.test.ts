import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyHistory } from '../../src/modules/history/history.service.js';
import { assertionFor, brandWithModel, claimUnit, codeOf, type Owner, reasonOf, registerOwner, sell } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The data subject's rights of an owner (README "Privacy"): `myData` and `deleteMyAccount`. */
let s: TestServer;
let brand: Awaited<ReturnType<typeof brandWithModel>>;
let alice: Owner;
let bob: Owner;
let units: { id: string; serial: string; claimCode: string }[];
const NAME = 'Alexandrine Privacyname';
const ISSUE = 'Screen flickers after my holiday in Porto zq7';
const MY_DATA = '{ myData }';
const DELETE = 'mutation($a: JSON!) { deleteMyAccount(assertion: $a) }';

const sql = async <T = Record<string, unknown>>(q: string, p: unknown[] = []) => (await s.db.orm.em.fork().getConnection().execute(q, p)) as T[];
const credentialIdsOf = async (ownerId: string) => (await sql<{ credential_id: string }>('select credential_id from passkey_credential where owner_id = ?', [ownerId])).map((r) => r.credential_id);

/** Rows of every table of the schema whose text holds `needle`, as `table: count`. */
async function search(needle: string): Promise<Record<string, number>> {
  const tables = await sql<{ table_name: string }>("select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'");
  const found: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = await sql<{ n: number }>(`select count(*)::int as n from "${table_name}" t where t::text like ?`, [`%${needle}%`]);
    if (row!.n) found[table_name] = row!.n;
  }
  return found;
}

beforeAll(async () => {
  s = await startTestServer({ DPP_RETENTION_INTERVAL_MS: '0' });
  brand = await brandWithModel(s, { prefix: '0614144', item: '30001' });
  units = await brand.mint(3);
  for (const u of units) await sell(s, u.id);
  alice = await registerOwner(s, undefined, NAME);
  bob = await registerOwner(s, undefined, 'Bob Other');
  await claimUnit(s, alice, units[0]!);
  await claimUnit(s, alice, units[1]!);
  const { assertion } = await assertionFor(s, alice, 'WARRANTY_CLAIM', units[0]!.id);
  const filed = await s.gql('mutation($i: WarrantyClaimInput!, $a: JSON!) { fileWarrantyClaim(input: $i, assertion: $a) { id } }', { i: { passportId: units[0]!.id, issue: ISSUE }, a: assertion }, alice.token);
  if (filed.errors) throw new Error(JSON.stringify(filed.errors));
  const offer = await assertionFor(s, alice, 'OFFER_TRANSFER', units[1]!.id);
  const offered = await s.gql('mutation($p: ID!, $a: JSON!) { offerOwnershipTransfer(passportId: $p, assertion: $a) { id } }', { p: units[1]!.id, a: offer.assertion }, alice.token);
  if (offered.errors) throw new Error(JSON.stringify(offered.errors));
});
afterAll(async () => {
  await s?.stop();
});

describe('myData', () => {
  it("exports everything held about the signed-in owner, and nothing of anyone else's", async () => {
    const r = await s.gql<{ myData: Record<string, any> }>(MY_DATA, {}, alice.token);
    expect(r.errors).toBeUndefined();
    const d = r.data!.myData;
    expect(d.account).toMatchObject({ id: alice.ownerId, displayName: NAME });
    expect(d.passkeys.map((p: { credentialId: string }) => p.credentialId)).toEqual(await credentialIdsOf(alice.ownerId));
    expect(d.passkeys[0]).not.toHaveProperty('publicKey');
    expect(d.sessions.length).toBeGreaterThanOrEqual(1);
    expect(d.ownerships.map((o: { passportId: string; endedAt: unknown }) => [o.passportId, o.endedAt]).sort()).toEqual([[units[0]!.id, null], [units[1]!.id, null]].sort());
    expect(d.transfers).toMatchObject([{ passportId: units[1]!.id, status: 'OPEN', role: 'OFFERED' }]);
    expect(d.warrantyClaims).toMatchObject([{ passportId: units[0]!.id, issue: ISSUE, status: 'OPEN' }]);

    const theirs = await s.gql<{ myData: Record<string, unknown> }>(MY_DATA, {}, bob.token);
    expect(JSON.stringify(theirs.data!.myData)).not.toContain(NAME);
    expect(JSON.stringify(theirs.data!.myData)).not.toContain(ISSUE);
    expect(codeOf(await s.gql(MY_DATA))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(MY_DATA, {}, brand.key))).toBe('FORBIDDEN');
  });
});

describe('deleteMyAccount', () => {
  it('refuses an assertion that is not a fresh DELETE_ACCOUNT one of the signed-in owner', async () => {
    // Another owner's session with this owner's passkey, and this owner's challenge sent from another session.
    const bobsChallenge = await s.gql<{ beginPasskeyAuthentication: { options: unknown } }>(
      'mutation { beginPasskeyAuthentication(purpose: DELETE_ACCOUNT) { sessionId options } }', {}, bob.token);
    // (Bob's challenge lists Bob's passkeys; Alice's authenticator answers it with hers anyway.)
    const forged = alice.auth.get({ ...(bobsChallenge.data!.beginPasskeyAuthentication.options as object), allowCredentials: [] } as never);
    const r1 = await s.gql(DELETE, { a: forged }, bob.token);
    expect([codeOf(r1), reasonOf(r1)]).toEqual(['FORBIDDEN', 'CREDENTIAL_OF_ANOTHER_OWNER']);
    const own = await assertionFor(s, alice, 'DELETE_ACCOUNT', null);
    const r2 = await s.gql(DELETE, { a: own.assertion }, bob.token);
    expect([codeOf(r2), reasonOf(r2)]).toEqual(['UNAUTHENTICATED', 'WRONG_SESSION']);
    const wrongPurpose = await assertionFor(s, alice, 'CLAIM_OWNERSHIP', units[2]!.id);
    const r3 = await s.gql(DELETE, { a: wrongPurpose.assertion }, alice.token);
    expect([codeOf(r3), reasonOf(r3)]).toEqual(['UNAUTHENTICATED', 'WRONG_PURPOSE']);
    expect(codeOf(await s.gql(DELETE, { a: { not: 'an assertion' } }, alice.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql('mutation($p: ID) { beginPasskeyAuthentication(purpose: DELETE_ACCOUNT, passportId: $p) { sessionId } }', { p: units[0]!.id }, alice.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql('mutation { beginPasskeyAuthentication(purpose: DELETE_ACCOUNT) { sessionId } }'))).toBe('UNAUTHENTICATED');
    // Nothing was erased.
    expect((await sql('select 1 from owner where id = ? and erased_at is null', [alice.ownerId])).length).toBe(1);
    expect(await search(NAME)).toMatchObject({ owner: 1 });
  });

  it('erases the account: no table holds the name, the credential ids or the claim text; the history still verifies', async () => {
    const credentialIds = await credentialIdsOf(alice.ownerId);
    const historyBefore = await Promise.all(units.slice(0, 2).map((u) => verifyHistory(s.db.orm.em.fork() as EntityManager, u.id)));
    const { assertion } = await assertionFor(s, alice, 'DELETE_ACCOUNT', null);
    const r = await s.gql<{ deleteMyAccount: boolean }>(DELETE, { a: assertion }, alice.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.deleteMyAccount).toBe(true);

    for (const needle of [NAME, ISSUE, ...credentialIds]) expect([needle, await search(needle)]).toEqual([needle, {}]);
    // The session is gone with the account.
    expect(codeOf(await s.gql(MY_DATA, {}, alice.token))).toBe('UNAUTHENTICATED');
    // Units are unowned; the open offer is cancelled; each unit took one event naming no one, and its chain verifies.
    expect(await sql('select 1 from ownership where owner_id = ? and ended_at is null', [alice.ownerId])).toEqual([]);
    expect((await sql<{ status: string }>('select status::text as status from transfer_offer where passport_id = ?', [units[1]!.id])).map((o) => o.status)).toEqual(['CANCELLED']);
    for (const [i, u] of units.slice(0, 2).entries()) {
      const after = await verifyHistory(s.db.orm.em.fork() as EntityManager, u.id);
      expect(after).toMatchObject({ valid: true, length: historyBefore[i]!.length + 1 });
      const [last] = await sql<{ type: string; actor_id: string | null; payload: unknown }>('select type::text as type, actor_id, payload from lifecycle_event where passport_id = ? order by seq desc limit 1', [u.id]);
      expect(last).toEqual({ type: 'OWNERSHIP_TRANSFERRED', actor_id: null, payload: { step: 'RELINQUISHED' } });
    }
    expect(JSON.stringify(await sql('select * from lifecycle_event where passport_id in (?, ?)', [units[0]!.id, units[1]!.id]))).not.toContain(alice.ownerId);
    // The brand keeps the claim's facts for its fraud figures, without the text.
    const claims = await s.gql<{ warrantyClaims: { edges: { node: { issue: string; status: string; riskScore: number } }[] } }>(
      '{ warrantyClaims(first: 10) { edges { node { issue status riskScore } } } }', {}, brand.key);
    expect(claims.data!.warrantyClaims.edges.map((e) => [e.node.issue, e.node.status])).toEqual([['', 'OPEN']]);
    // Bob is untouched.
    expect((await s.gql<{ myData: { account: { displayName: string } } }>(MY_DATA, {}, bob.token)).data!.myData.account.displayName).toBe('Bob Other');
  });

  it('leaves a relinquished unit unclaimable by claim code: the state machine lets only a SOLD unit be claimed', async () => {
    const { assertion } = await assertionFor(s, bob, 'CLAIM_OWNERSHIP', units[0]!.id);
    const r = await s.gql('mutation($p: ID!, $c: String!, $a: JSON!) { claimOwnership(passportId: $p, claimCode: $c, assertion: $a) { ownerId } }', { p: units[0]!.id, c: units[0]!.claimCode, a: assertion }, bob.token);
    expect([codeOf(r), reasonOf(r)]).toEqual(['CONFLICT', 'NOT_SOLD']);
  });
});
