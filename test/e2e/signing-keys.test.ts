import { createDecipheriv, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, getPublicKey, jwkToPublicKey, multibaseToPublicKey, toBase64Url, verify } from '../../src/crypto/index.js';
import { deriveKey } from '../../src/crypto/master-key.js';
import { brandDid, didDocument, platformDid, verificationMethodId } from '../../src/modules/keys/did.js';
import { LocalEncryptedKeyStore } from '../../src/modules/keys/local-key-store.js';
import { SigningKey } from '../../src/modules/keys/signing-key.entity.js';
import { kidFor, signingKeyService } from '../../src/modules/keys/signing-key.service.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Key = {
  kid: string;
  status: 'ACTIVE' | 'RETIRED' | 'REVOKED';
  algorithm: string;
  publicKeyJwk: Record<string, string>;
  brandId: string;
  createdAt: string;
  retiredAt: string | null;
  revokedAt: string | null;
  revocationReason: string | null;
};
type Jwks = { keys: { kid: string; kty: string; crv: string; x: string }[] };
type DidDoc = {
  '@context': string[];
  id: string;
  verificationMethod: { id: string; type: string; controller: string; publicKeyMultibase: string }[];
  assertionMethod: string[];
  authentication: string[];
};

const FIELDS = 'kid status algorithm publicKeyJwk brandId createdAt retiredAt revokedAt revocationReason';
const LIST = `{ signingKeys { ${FIELDS} } }`;
const ROTATE = `mutation { rotateSigningKey { ${FIELDS} } }`;
const REVOKE = `mutation($kid: ID!, $reason: String!) { revokeSigningKey(kid: $kid, reason: $reason) { ${FIELDS} } }`;
const HOST = 'localhost%3A4000';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ DPP_RESOLVER_HOST: 'http://localhost:4000' });
});
afterAll(async () => {
  await s?.stop();
});

async function rotate(key: string): Promise<Key> {
  const r = await s.gql<{ rotateSigningKey: Key }>(ROTATE, {}, key);
  expect(r.errors).toBeUndefined();
  return r.data!.rotateSigningKey;
}

async function list(key: string): Promise<Key[]> {
  const r = await s.gql<{ signingKeys: Key[] }>(LIST, {}, key);
  expect(r.errors).toBeUndefined();
  return r.data!.signingKeys;
}

async function getJson<T>(path: string): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${s.url}${path}`);
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

const jwksKids = async () => (await getJson<Jwks>('/.well-known/jwks.json')).body.keys.map((k) => k.kid);

async function rows(brandId: string) {
  const em = s.db.orm.em.fork();
  const all = await em.find(SigningKey, { brand: brandId });
  return { total: all.length, active: all.filter((k) => k.status === 'ACTIVE'), all };
}

describe('pure helpers', () => {
  it('computes the RFC 7638 thumbprint as kid (RFC 8037 appendix A.3 vector)', () => {
    expect(kidFor(fromBase64Url('11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'))).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('builds did:web identifiers with the port colon percent-encoded, and Multikey DID documents', () => {
    const local = { resolverHost: 'http://localhost:4000' };
    const prod = { resolverHost: 'https://id.example.com' };
    expect(platformDid(local)).toBe('did:web:localhost%3A4000');
    expect(platformDid(prod)).toBe('did:web:id.example.com');
    expect(platformDid({ resolverHost: 'id.example.com' })).toBe('did:web:id.example.com');
    const brand = '3f0e7a8e-1c6e-4a55-9d8a-1f0e2d3c4b5a';
    expect(brandDid(prod, brand)).toBe(`did:web:id.example.com:brands:${brand}`);
    expect(verificationMethodId(local, brand, 'abc')).toBe(`did:web:localhost%3A4000:brands:${brand}#abc`);

    const publicKey = getPublicKey(randomBytes(32));
    const doc = didDocument('did:web:id.example.com', [{ kid: 'k1', publicKey }]);
    expect(doc).toMatchObject({
      '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
      id: 'did:web:id.example.com',
      verificationMethod: [{ id: 'did:web:id.example.com#k1', type: 'Multikey', controller: 'did:web:id.example.com' }],
      assertionMethod: ['did:web:id.example.com#k1'],
      authentication: ['did:web:id.example.com#k1'],
    });
    expect(multibaseToPublicKey(doc.verificationMethod[0]!.publicKeyMultibase)).toEqual(publicKey);
  });
});

describe('rotation and publication', () => {
  it("creates a brand's first ACTIVE key, retires it on the next rotation and keeps publishing it", async () => {
    const brand = await s.org('BRAND');
    expect(await list(brand.key)).toEqual([]);

    const first = await rotate(brand.key);
    expect(first).toMatchObject({ status: 'ACTIVE', algorithm: 'Ed25519', brandId: brand.id, retiredAt: null, revokedAt: null });
    expect(first.publicKeyJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: first.kid });
    expect(first.kid).toBe(kidFor(jwkToPublicKey(first.publicKeyJwk)));

    const second = await rotate(brand.key);
    expect(second.kid).not.toBe(first.kid);
    const keys = await list(brand.key);
    expect(keys.map((k) => [k.kid, k.status])).toEqual([
      [second.kid, 'ACTIVE'],
      [first.kid, 'RETIRED'],
    ]);
    expect(keys[1]!.retiredAt).not.toBeNull();

    const jwks = await getJson<Jwks>('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    expect(jwks.body.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([first.kid, second.kid]));
    expect(jwks.body.keys.find((k) => k.kid === first.kid)).toEqual(first.publicKeyJwk);

    // The platform's document holds the platform's own keys (none): never a brand's.
    const platform = await getJson<DidDoc>('/.well-known/did.json');
    expect(platform.status).toBe(200);
    expect(platform.headers.get('cache-control')).toBe('public, max-age=300');
    expect(platform.body.id).toBe(`did:web:${HOST}`);
    expect(platform.body.verificationMethod).toEqual([]);
    expect(platform.body.assertionMethod).toEqual([]);

    const own = await getJson<DidDoc>(`/brands/${brand.id}/did.json`);
    expect(own.status).toBe(200);
    const did = `did:web:${HOST}:brands:${brand.id}`;
    expect(own.body.id).toBe(did);
    expect(own.body.verificationMethod.map((vm) => vm.id)).toEqual([`${did}#${first.kid}`, `${did}#${second.kid}`]);
    const vm = own.body.verificationMethod.find((v) => v.id === `${did}#${first.kid}`)!;
    expect(vm).toMatchObject({ type: 'Multikey', controller: did });
    expect(toBase64Url(multibaseToPublicKey(vm.publicKeyMultibase))).toBe(first.publicKeyJwk.x);
    expect(own.body.assertionMethod).toEqual(own.body.verificationMethod.map((v) => v.id));
    expect(own.body.authentication).toEqual(own.body.verificationMethod.map((v) => v.id));
  });

  it('revocation shows REVOKED with its reason and removes the key from JWKS and the brand\'s DID document', async () => {
    const brand = await s.org('BRAND');
    const first = await rotate(brand.key);
    const second = await rotate(brand.key);

    const r = await s.gql<{ revokeSigningKey: Key }>(REVOKE, { kid: first.kid, reason: '  private key leaked  ' }, brand.key);
    expect(r.errors).toBeUndefined();
    expect(r.data!.revokeSigningKey).toMatchObject({ kid: first.kid, status: 'REVOKED', revocationReason: 'private key leaked' });
    expect(r.data!.revokeSigningKey.revokedAt).not.toBeNull();

    const kids = await jwksKids();
    expect(kids).not.toContain(first.kid);
    expect(kids).toContain(second.kid);
    const own = await getJson<DidDoc>(`/brands/${brand.id}/did.json`);
    expect(own.body.verificationMethod.map((v) => v.id)).toEqual([`did:web:${HOST}:brands:${brand.id}#${second.kid}`]);

    // Idempotent: the first time and reason stay.
    const again = await s.gql<{ revokeSigningKey: Key }>(REVOKE, { kid: first.kid, reason: 'another reason' }, brand.key);
    expect(again.errors).toBeUndefined();
    expect(again.data!.revokeSigningKey).toMatchObject({
      status: 'REVOKED',
      revocationReason: 'private key leaked',
      revokedAt: r.data!.revokeSigningKey.revokedAt,
    });
    // A rotation retires only the ACTIVE key; the revoked one stays revoked.
    await rotate(brand.key);
    const after = await list(brand.key);
    expect(after.find((k) => k.kid === first.kid)?.status).toBe('REVOKED');
    expect(after.find((k) => k.kid === second.kid)?.status).toBe('RETIRED');
  });

  it('revoking the ACTIVE key leaves none; the next signer or rotation creates a fresh one', async () => {
    const brand = await s.org('BRAND');
    const first = await rotate(brand.key);
    const r = await s.gql<{ revokeSigningKey: Key }>(REVOKE, { kid: first.kid, reason: 'compromised' }, brand.key);
    expect(r.errors).toBeUndefined();
    expect((await rows(brand.id)).active).toHaveLength(0);
    expect((await getJson(`/brands/${brand.id}/did.json`)).status).toBe(404);

    const signer = await signingKeyService.activeSigner(s.db.orm.em.fork(), s.services, brand.id);
    expect(signer.kid).not.toBe(first.kid);
    const next = await rotate(brand.key);
    const keys = await list(brand.key);
    expect(keys.map((k) => [k.kid, k.status])).toEqual(
      expect.arrayContaining([
        [first.kid, 'REVOKED'],
        [signer.kid, 'RETIRED'],
        [next.kid, 'ACTIVE'],
      ]),
    );
    expect(keys).toHaveLength(3);
  });

  it('answers 404 JSON for an unknown brand, a brand without keys and a malformed id', async () => {
    const brand = await s.org('BRAND');
    for (const id of [brand.id, '3f0e7a8e-1c6e-4a55-9d8a-1f0e2d3c4b5a', 'not-a-uuid', "1' or '1'='1"]) {
      const res = await getJson<{ error: string }>(`/brands/${encodeURIComponent(id)}/did.json`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'not found' });
    }
  });
});

describe('access', () => {
  it('answers UNAUTHENTICATED to anonymous callers', async () => {
    for (const [q, v] of [[LIST, {}], [ROTATE, {}], [REVOKE, { kid: 'x', reason: 'y' }]] as const) {
      const r = await s.gql(q, v);
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a retailer rotating, revoking or listing keys (FORBIDDEN)', async () => {
    const retailer = await s.org('RETAILER');
    for (const [q, v] of [[ROTATE, {}], [REVOKE, { kid: 'x', reason: 'y' }], [LIST, {}]] as const) {
      const r = await s.gql(q, v, retailer.key);
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await s.db.orm.em.fork().count(SigningKey, { brand: retailer.id })).toBe(0);
  });

  it("answers NOT_FOUND to a brand revoking another brand's key, which stays untouched; lists only its own", async () => {
    const a = await s.org('BRAND');
    const b = await s.org('BRAND');
    const keyA = await rotate(a.key);
    const keyB = await rotate(b.key);

    const r = await s.gql(REVOKE, { kid: keyA.kid, reason: 'hostile' }, b.key);
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await list(a.key)).map((k) => [k.kid, k.status])).toEqual([[keyA.kid, 'ACTIVE']]);
    expect((await list(b.key)).map((k) => k.kid)).toEqual([keyB.kid]);

    // Regulators, customs and the platform see every brand's keys.
    for (const kind of ['REGULATOR', 'CUSTOMS']) {
      const org = await s.org(kind);
      expect((await list(org.key)).map((k) => k.kid)).toEqual(expect.arrayContaining([keyA.kid, keyB.kid]));
    }
    expect((await list(s.platformKey)).map((k) => k.kid)).toEqual(expect.arrayContaining([keyA.kid, keyB.kid]));
    // The platform is not a brand: it cannot rotate or revoke.
    expect((await s.gql(ROTATE, {}, s.platformKey)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('bad input', () => {
  it('refuses an empty, blank or 501-character reason and an unknown kid, and changes nothing', async () => {
    const brand = await s.org('BRAND');
    const key = await rotate(brand.key);
    for (const reason of ['', '   ', 'x'.repeat(501)]) {
      const r = await s.gql(REVOKE, { kid: key.kid, reason }, brand.key);
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    for (const kid of ['unknown', 'x'.repeat(65)]) {
      const r = await s.gql(REVOKE, { kid, reason: 'why not' }, brand.key);
      expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    // An empty ID is refused where input enters, naming the argument (issue 15), before any lookup.
    const empty = await s.gql(REVOKE, { kid: '', reason: 'why not' }, brand.key);
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'EMPTY_ID' });
    expect((await s.gql(REVOKE, { reason: 'no kid' }, brand.key)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await list(brand.key)).map((k) => [k.kid, k.status])).toEqual([[key.kid, 'ACTIVE']]);

    const ok = await s.gql<{ revokeSigningKey: Key }>(REVOKE, { kid: key.kid, reason: 'y'.repeat(500) }, brand.key);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.revokeSigningKey.revocationReason).toHaveLength(500);
  });
});

describe('races', () => {
  it('8 concurrent rotations of one brand end with one ACTIVE key and 8 keys in total', async () => {
    const brand = await s.org('BRAND');
    const results = await Promise.all(Array.from({ length: 8 }, () => s.gql<{ rotateSigningKey: Key }>(ROTATE, {}, brand.key)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const { total, active, all } = await rows(brand.id);
    expect(total).toBe(8);
    expect(active).toHaveLength(1);
    expect(all.filter((k) => k.status === 'RETIRED')).toHaveLength(7);
    expect(new Set(results.map((r) => r.data!.rotateSigningKey.kid)).size).toBe(8);
  });

  it('8 concurrent rotations after an existing key retire it too: 9 keys, one ACTIVE', async () => {
    const brand = await s.org('BRAND');
    await rotate(brand.key);
    const results = await Promise.all(Array.from({ length: 8 }, () => s.gql(ROTATE, {}, brand.key)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const { total, active } = await rows(brand.id);
    expect(total).toBe(9);
    expect(active).toHaveLength(1);
  });

  it('8 concurrent first activeSigner calls create exactly one key and all sign with it', async () => {
    const brand = await s.org('BRAND');
    let generated = 0;
    const keyStore = s.services.keyStore;
    const counting = { ...s.services, keyStore: { name: keyStore.name, sign: keyStore.sign.bind(keyStore), generate: () => (generated++, keyStore.generate()) } };
    const signers = await Promise.all(
      Array.from({ length: 8 }, () => signingKeyService.activeSigner(s.db.orm.em.fork(), counting, brand.id)),
    );
    expect(generated).toBeGreaterThan(1); // the race really happened: losers hit the unique index and re-read
    expect(new Set(signers.map((x) => x.kid)).size).toBe(1);
    const { total, active } = await rows(brand.id);
    expect(total).toBe(1);
    expect(active.map((k) => k.kid)).toEqual([signers[0]!.kid]);
  });

  it('activeSigner inside callers\' transactions: the loser\'s transaction survives the unique violation', async () => {
    const brand = await s.org('BRAND');
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, () =>
        s.db.orm.em.fork().transactional(async (tx) => {
          const signer = await signingKeyService.activeSigner(tx, s.services, brand.id);
          // The caller goes on using its transaction after the call.
          return { kid: signer.kid, active: await tx.count(SigningKey, { brand: brand.id, status: 'ACTIVE' }) };
        }),
      ),
    );
    expect(new Set(outcomes.map((o) => o.kid)).size).toBe(1);
    for (const o of outcomes) expect(o.active).toBe(1);
    expect((await rows(brand.id)).total).toBe(1);
  });

  it('activeSigner and rotations racing still leave exactly one ACTIVE key', async () => {
    const brand = await s.org('BRAND');
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => signingKeyService.activeSigner(s.db.orm.em.fork(), s.services, brand.id)),
      ...Array.from({ length: 4 }, () => s.gql(ROTATE, {}, brand.key)),
    ]);
    for (const r of results.slice(4)) expect((r as { errors?: unknown }).errors).toBeUndefined();
    const { active, total } = await rows(brand.id);
    expect(active).toHaveLength(1);
    expect(total).toBeGreaterThanOrEqual(4);
    expect(total).toBeLessThanOrEqual(5);
  });

  it('activeSigner refuses an organisation that is not a brand', async () => {
    const retailer = await s.org('RETAILER');
    for (const id of [retailer.id, '3f0e7a8e-1c6e-4a55-9d8a-1f0e2d3c4b5a', 'nope']) {
      await expect(signingKeyService.activeSigner(s.db.orm.em.fork(), s.services, id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});

describe('signatures and private keys', () => {
  it('a signature by activeSigner verifies with the JWK published at /.well-known/jwks.json', async () => {
    const brand = await s.org('BRAND');
    const signer = await signingKeyService.activeSigner(s.db.orm.em.fork(), s.services, brand.id);
    const messages = [new TextEncoder().encode('{"gtin":"09506000134352","serial":"ABC"}'), new TextEncoder().encode('second')];
    const [sig1, sig2] = await signer.sign(messages);

    const jwks = await getJson<Jwks>('/.well-known/jwks.json');
    const jwk = jwks.body.keys.find((k) => k.kid === signer.kid);
    expect(jwk).toBeDefined();
    const publicKey = jwkToPublicKey(jwk);
    expect(verify(sig1!, messages[0]!, publicKey)).toBe(true);
    expect(verify(sig2!, messages[1]!, publicKey)).toBe(true);
    expect(verify(sig1!, messages[1]!, publicKey)).toBe(false);

    const verified = await signingKeyService.keysByKid(s.db.orm.em.fork(), [signer.kid, 'unknown']);
    expect([...verified.keys()]).toEqual([signer.kid]);
    expect(verified.get(signer.kid)).toMatchObject({ status: 'ACTIVE', brandId: brand.id, revokedAt: null, publicKey });
  });

  it('stores the private key only encrypted under the master key', async () => {
    const brand = await s.org('BRAND');
    const signer = await signingKeyService.activeSigner(s.db.orm.em.fork(), s.services, brand.id);
    const row = await s.db.orm.em.fork().findOneOrFail(SigningKey, { kid: signer.kid });
    expect(row.keyStore).toBe('local-aes-gcm');

    // Decrypt the reference as the key store does, to learn the seed and prove the row does not contain it.
    const [, iv, sealed] = row.privateKeyRef.split('.');
    const bytes = Buffer.from(sealed!, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(s.services.masterKey, 'signing-key-encryption'), Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const der = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
    const seed = der.subarray(der.length - 32);
    expect(toBase64Url(getPublicKey(seed))).toBe(row.publicKey);
    const stored = JSON.stringify(row);
    for (const form of [seed.toString('hex'), seed.toString('base64'), seed.toString('base64url'), der.toString('base64'), der.toString('base64url')]) {
      expect(stored).not.toContain(form);
    }

    // Without the master key the reference is useless; with it (a fresh store, no cache) it signs.
    const message = randomBytes(32);
    await expect(new LocalEncryptedKeyStore(randomBytes(32)).sign(row.privateKeyRef, [message])).rejects.toThrow();
    const [sig] = await new LocalEncryptedKeyStore(s.services.masterKey).sign(row.privateKeyRef, [message]);
    expect(verify(sig!, message, fromBase64Url(row.publicKey))).toBe(true);
  });

  it('a REVOKED key is absent from publishedKeys but still known to keysByKid with its revocation', async () => {
    const brand = await s.org('BRAND');
    const key = await rotate(brand.key);
    await s.gql(REVOKE, { kid: key.kid, reason: 'lost HSM' }, brand.key);
    const em = s.db.orm.em.fork();
    expect((await signingKeyService.publishedKeys(em)).map((k) => k.kid)).not.toContain(key.kid);
    expect(await signingKeyService.publishedKeys(em, brand.id)).toEqual([]);
    const byKid = await signingKeyService.keysByKid(em, [key.kid]);
    expect(byKid.get(key.kid)).toMatchObject({ status: 'REVOKED', revocationReason: 'lost HSM', brandId: brand.id });
    expect(byKid.get(key.kid)!.revokedAt).toBeInstanceOf(Date);
  });
});
