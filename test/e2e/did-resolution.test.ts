import { type DIDDocument, Resolver, type ResolverRegistry } from 'did-resolver';
import { getResolver } from 'web-did-resolver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jwkToPublicKey, multibaseToPublicKey, verifyProof } from '../../src/crypto/index.js';
import { brandWithModel } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';

// did:web resolution of our documents by resolvers we did not write (did-resolver + web-did-resolver),
// over real HTTP: web-did-resolver's fetch (cross-fetch) is replaced by one that sends its
// https://localhost:4000/... requests to the test server, and refuses any other origin.
const PUBLIC_ORIGIN = 'https://localhost:4000';
const net = vi.hoisted(() => ({ server: '', requested: [] as string[] }));
vi.mock('cross-fetch', () => ({
  default: async (url: string) => {
    const u = new URL(url);
    if (u.origin !== 'https://localhost:4000') throw new Error(`no network in tests: ${url}`);
    net.requested.push(u.pathname);
    return fetch(`${net.server}${u.pathname}${u.search}`);
  },
}));

const PLATFORM_DID = 'did:web:localhost%3A4000';
// web-did-resolver is typed against did-resolver 4; the method-resolver call it implements is the same in 6.
const resolver = new Resolver(getResolver() as unknown as ResolverRegistry);

let s: TestServer;
let brand: Awaited<ReturnType<typeof brandWithModel>>;
let credential: Record<string, unknown> & { proof: { verificationMethod: string } };
let kid: string;

beforeAll(async () => {
  s = await startTestServer({ DPP_RESOLVER_HOST: PUBLIC_ORIGIN });
  net.server = s.url;
  brand = await brandWithModel(s, { prefix: '4012345', item: '88001' });
  const [unit] = await brand.mint(1);
  const r = await s.gql<{ passport: { verifiableCredential: typeof credential } }>('query($id: ID!) { passport(id: $id) { verifiableCredential } }', { id: unit!.id }, brand.key);
  credential = r.data!.passport.verifiableCredential;
  kid = credential.proof.verificationMethod.split('#')[1]!;
});
afterAll(async () => {
  await s?.stop();
});

/**
 * Dereferences a DID URL `<did>#<fragment>` to the Ed25519 key of a verification method that the
 * resolved document authorises for assertions (signing credentials), or undefined.
 */
async function assertionKey(didUrl: string): Promise<Uint8Array | undefined> {
  const { didDocument, didResolutionMetadata } = await resolver.resolve(didUrl);
  if (!didDocument || didResolutionMetadata.error) return undefined;
  const did = didUrl.split('#')[0]!;
  const absolute = (id: string) => (id.startsWith('#') ? `${did}${id}` : id);
  const asserts = (didDocument.assertionMethod ?? []).some((m) => absolute(typeof m === 'string' ? m : m.id) === didUrl);
  const vm = (didDocument.verificationMethod ?? []).find((m) => absolute(m.id) === didUrl && m.controller === did);
  return asserts && vm?.publicKeyMultibase ? multibaseToPublicKey(vm.publicKeyMultibase) : undefined;
}

async function resolveDocument(did: string): Promise<DIDDocument> {
  const r = await resolver.resolve(did);
  expect(r.didResolutionMetadata.error, r.didResolutionMetadata.message as string | undefined).toBeUndefined();
  return r.didDocument!;
}

describe('did:web resolution of brand and platform keys', () => {
  it('a brand\'s kid resolves under the brand\'s DID, to the key in the JWKS, and verifies its credential', async () => {
    const brandDid = `did:web:localhost%3A4000:brands:${brand.id}`;
    expect(credential.issuer).toBe(brandDid);
    expect(credential.proof.verificationMethod).toBe(`${brandDid}#${kid}`);
    const key = await assertionKey(`${brandDid}#${kid}`);
    expect(key).toBeDefined();
    const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(key).toEqual(jwkToPublicKey(jwks.keys.find((k) => k.kid === kid)));
    expect(net.requested).toContain(`/brands/${brand.id}/did.json`);
    expect(verifyProof(credential, () => key)).toEqual({ verified: true, reasons: [] });
  });

  it('the same kid does not resolve under the platform\'s DID, whose document lists no brand key', async () => {
    const platform = await resolveDocument(PLATFORM_DID);
    expect(platform.id).toBe(PLATFORM_DID);
    expect(net.requested).toContain('/.well-known/did.json');
    expect(platform.verificationMethod).toEqual([]);
    expect(platform.assertionMethod).toEqual([]);
    expect(platform.authentication).toEqual([]);
    expect(await assertionKey(`${PLATFORM_DID}#${kid}`)).toBeUndefined();

    // A credential whose proof names the platform's DID for the brand's key verifies with nothing.
    const forged = { ...credential, proof: { ...credential.proof, verificationMethod: `${PLATFORM_DID}#${kid}` } };
    const key = await assertionKey(forged.proof.verificationMethod);
    expect(verifyProof(forged, () => key).reasons).toContain(`unknown verification method: ${PLATFORM_DID}#${kid}`);
  });

  it('an unknown brand, or a brand\'s kid under another brand\'s DID, does not resolve either', async () => {
    const other = await brandWithModel(s, { prefix: '4012346', item: '88002' });
    await other.mint(1);
    expect(await assertionKey(`did:web:localhost%3A4000:brands:${other.id}#${kid}`)).toBeUndefined();
    const unknown = await resolver.resolve('did:web:localhost%3A4000:brands:3f0e7a8e-1c6e-4a55-9d8a-1f0e2d3c4b5a');
    expect(unknown.didResolutionMetadata.error).toBe('notFound');
  });
});
