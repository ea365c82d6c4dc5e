import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { base58 } from '@scure/base';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { contexts } from '@digitalbazaar/credentials-context';
import { expandSafely } from '../support/jsonld.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors, vectorsDir } from '../unit/vectors.js';

const run = promisify(execFile);
// ajv-formats is CommonJS: see test/unit/epcis.test.ts for why `.default`.
const addFormats = addFormatsModule.default;
let s: TestServer;
let brand: { id: string; key: string };
let recycler: { id: string; key: string };
let regulator: { id: string; key: string };
let unitId: string;
let dir: string;

const dpp = {
  materials: [
    { name: 'aluminium 6061', massPercent: 60, recycledContentPercent: 50, origin: 'NO' },
    { name: 'ABS', massPercent: 40, recycledContentPercent: 25 },
  ],
  repair: { repairabilityScore: 7.5, instructionsUrl: 'https://acme.example/repair' },
  disassembly: { instructionsUrl: 'https://acme.example/disassembly' },
  documents: [{ title: 'User manual', url: 'https://acme.example/manual.pdf', type: 'MANUAL', language: 'en' }],
};

async function credential(key: string | undefined, args = 'profile: UNTP_DPP'): Promise<{ value?: Record<string, any>; code?: string }> {
  const r = await s.gql<{ passport: { verifiableCredential: Record<string, any> } }>(`query($id: ID!) { passport(id: $id) { verifiableCredential(${args}) } }`, { id: unitId }, key);
  return { value: r.data?.passport?.verifiableCredential ?? undefined, code: r.errors?.[0]?.extensions?.code as string | undefined };
}

/** RFC 7515 compact JWS checked by hand (RFC 8037 EdDSA) with node:crypto and a key from the brand's did:web document. */
async function verifyJwsIndependently(jws: string): Promise<Record<string, any>> {
  const [h, p, sig] = jws.split('.');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
  expect(header).toMatchObject({ alg: 'EdDSA', typ: 'vc+jwt' });
  const did = (await (await fetch(`${s.url}/brands/${brand.id}/did.json`)).json()) as { verificationMethod: { id: string; publicKeyMultibase: string }[] };
  const method = did.verificationMethod.find((m) => m.id === header.kid)!;
  expect(method).toBeDefined();
  const multikey = base58.decode(method.publicKeyMultibase.slice(1)); // 'z' = base58btc; 0xed 0x01 = Ed25519 public key
  expect([...multikey.slice(0, 2)]).toEqual([0xed, 0x01]);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), multikey.slice(2)]);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  expect(edVerify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(sig!, 'base64url'))).toBe(true);
  return JSON.parse(Buffer.from(p!, 'base64url').toString());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dpp-untp-'));
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['4006384'] });
  recycler = await s.org('RECYCLER');
  regulator = await s.org('REGULATOR');
  const body = '400638400001';
  const gtin = body + gtinCheckDigit(body);
  const model = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'UNTP drill', dpp } }, brand.key);
  expect(model.errors).toBeUndefined();
  const minted = await s.gql<{ mintPassports: { passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity: 1, lot: 'L7', site: 'https://facilities.acme.example/leipzig', idempotencyKey: 'untp', sign: true } },
    brand.key,
  );
  unitId = minted.data!.mintPassports.passports[0]!.id;
  const custody = await s.gql('mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { seq } }', {
    i: { passportIds: [unitId], bizStep: 'shipping', disposition: 'in_transit', bizLocation: 'urn:epc:id:sgln:4006384.00001.0' },
  }, brand.key);
  expect(custody.errors).toBeUndefined();
});

async function traceability(key: string | undefined, args = ''): Promise<{ value?: Record<string, any>; code?: string }> {
  const r = await s.gql<{ passport: { traceabilityCredential: Record<string, any> } }>(`query($id: ID!) { passport(id: $id) { traceabilityCredential${args} } }`, { id: unitId }, key);
  return { value: r.data?.passport?.traceabilityCredential ?? undefined, code: r.errors?.[0]?.extensions?.code as string | undefined };
}
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('UNTP DigitalProductPassport', () => {
  it('is an EnvelopedVerifiableCredential by default: a vc+jwt that verifies with the brand\'s did:web key', async () => {
    const { value } = await credential(brand.key);
    expect(value).toMatchObject({ type: 'EnvelopedVerifiableCredential', '@context': ['https://www.w3.org/ns/credentials/v2'] });
    expect(value!.id).toMatch(/^data:application\/vc\+jwt,/);
    const payload = await verifyJwsIndependently(value!.id.slice('data:application/vc+jwt,'.length));
    expect(payload.type).toEqual(['DigitalProductPassport', 'VerifiableCredential']);
    expect(payload.issuer).toEqual({ type: ['CredentialIssuer'], id: expect.stringMatching(new RegExp(`^did:web:.+:brands:${brand.id}$`)), name: expect.any(String) });
    expect(payload.credentialSubject.product).toMatchObject({ serialNumber: expect.any(String), batchNumber: 'L7', productionDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(payload.credentialSubject.product.producedAtFacility).toEqual({ id: 'https://facilities.acme.example/leipzig', name: 'https://facilities.acme.example/leipzig' });
    expect(payload.credentialSubject.circularityScorecard.recycledContent).toBe(0.4);
    expect(payload.credentialStatus).toMatchObject({ type: 'BitstringStatusListEntry', statusPurpose: 'revocation' });
  });

  it('gives the public tier the public view and refuses it the NATIVE credential', async () => {
    const anon = await credential(undefined);
    const payload = await verifyJwsIndependently(anon.value!.id.slice('data:application/vc+jwt,'.length));
    const product = payload.credentialSubject.product;
    expect(product.productionDate).toBeUndefined();
    expect(product.producedAtFacility).toBeUndefined();
    expect(payload.credentialSubject.materialsProvenance.map((m: any) => m.originCountry)).toEqual([undefined, undefined]);
    expect(payload.credentialSubject.circularityScorecard.repairInformation).toBeUndefined();
    expect(product.furtherInformation).toEqual([{ type: ['Link'], linkURL: 'https://acme.example/manual.pdf', linkName: 'User manual', linkType: 'MANUAL' }]);
    expect((await credential(undefined, 'profile: NATIVE')).code).toBe('FORBIDDEN');
    const full = await credential(recycler.key);
    const recyclerView = await verifyJwsIndependently(full.value!.id.slice('data:application/vc+jwt,'.length));
    expect(recyclerView.credentialSubject.materialsProvenance[0].originCountry).toBe('NO');
  });

  it('DATA_INTEGRITY on request: an eddsa-jcs-2022 proof that verifies independently (canonicalize + node:crypto)', async () => {
    const { value: vc } = await credential(brand.key, 'profile: UNTP_DPP, securing: DATA_INTEGRITY');
    const { proof, ...document } = vc!;
    const { proofValue, ...config } = proof;
    config['@context'] = document['@context'];
    const sha = (x: unknown) => createHash('sha256').update(canonicalize(x)!).digest();
    const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    const jwk = jwks.keys.find((k) => proof.verificationMethod.endsWith(`#${k.kid}`))!;
    const key = createPublicKey({ key: jwk as never, format: 'jwk' });
    expect(edVerify(null, Buffer.concat([sha(config), sha(document)]), key, base58.decode(proofValue.slice(1)))).toBe(true);
  });

  it('NATIVE keeps DATA_INTEGRITY by default and can be enveloped too', async () => {
    expect((await credential(brand.key, 'profile: NATIVE')).value!.proof.cryptosuite).toBe('eddsa-jcs-2022');
    const jose = await credential(brand.key, 'profile: NATIVE, securing: JOSE');
    expect((await verifyJwsIndependently(jose.value!.id.slice(24))).type).toContain('DigitalProductPassportCredential');
  });

  it('dpp verify reads the enveloped form and the bare JWS, and refuses an altered payload', async () => {
    const { value } = await credential(brand.key);
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, await (await fetch(`${s.url}/.well-known/jwks.json`)).text());
    const enveloped = join(dir, 'enveloped.json');
    writeFileSync(enveloped, JSON.stringify(value));
    const bare = join(dir, 'bare.jwt');
    const jws = value!.id.slice('data:application/vc+jwt,'.length) as string;
    writeFileSync(bare, jws);
    const dpp = async (...a: string[]) => run(process.execPath, ['dist/src/cli/dpp.js', 'verify', ...a]).then((r) => ({ code: 0, out: r.stdout }), (e) => ({ code: e.code as number, out: e.stdout as string }));
    expect((await dpp(enveloped, '--keys', jwks)).out).toMatch(/^VALID \(credential\)/);
    expect((await dpp(bare, '--keys', jwks)).code).toBe(0);
    const [h, p, sig] = jws.split('.');
    const altered = JSON.parse(Buffer.from(p!, 'base64url').toString());
    altered.credentialSubject.product.serialNumber = 'FORGED';
    writeFileSync(bare, `${h}.${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${sig}`);
    const r = await dpp(bare, '--keys', jwks);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^INVALID/);
  });
});

describe('GET /credentials/untp-dpp/<id>', () => {
  it('serves the public view to anyone, enveloped or as a bare vc+jwt; 404 for unknown ids', async () => {
    const res = await fetch(`${s.url}/credentials/untp-dpp/${unitId}`);
    expect(res.status).toBe(200);
    const enveloped = (await res.json()) as Record<string, any>;
    const payload = await verifyJwsIndependently(enveloped.id.slice('data:application/vc+jwt,'.length));
    expect(payload.credentialSubject.product.productionDate).toBeUndefined();
    const bare = await fetch(`${s.url}/credentials/untp-dpp/${unitId}`, { headers: { accept: 'application/vc+jwt' } });
    expect(bare.headers.get('content-type')).toMatch(/^application\/vc\+jwt/);
    expect((await verifyJwsIndependently(await bare.text())).id).toBe(payload.id);
    expect((await fetch(`${s.url}/credentials/untp-dpp/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await fetch(`${s.url}/credentials/untp-dpp/nope`)).status).toBe(404);
  });
});

describe('UNTP credentials as JSON-LD', () => {
  it('expand in jsonld safe mode with the shipped VC 2.0 context; UNTP terms are left to the schema check', async () => {
    // The UNTP contexts cannot be fetched here: a stand-in maps their terms with @vocab, so this checks the VC 2.0
    // structure (issuer, validFrom, credentialStatus, proof) strictly and UNTP's own terms only by the schema tests.
    const loader = async (url: string) => {
      if (url === 'https://www.w3.org/ns/credentials/v2') return { contextUrl: null, documentUrl: url, document: contexts.get(url) };
      if (url.startsWith('https://test.uncefact.org/vocabulary/untp/')) return { contextUrl: null, documentUrl: url, document: { '@context': { '@vocab': url } } };
      throw new Error(`no network: ${url}`);
    };
    const dppDi = (await credential(brand.key, 'profile: UNTP_DPP, securing: DATA_INTEGRITY')).value!;
    const dteDi = (await traceability(brand.key, '(securing: DATA_INTEGRITY)')).value!;
    const enveloped = (await credential(brand.key)).value!;
    for (const doc of [dppDi, dteDi, enveloped]) await expect(expandSafely(doc, loader as never)).resolves.toHaveLength(1);
  });
});

describe('UNTP DigitalTraceabilityEvent', () => {
  it('carries the unit\'s custody events for authorities, enveloped as vc+jwt; FORBIDDEN below', async () => {
    const { value } = await traceability(regulator.key);
    const dte = await verifyJwsIndependently(value!.id.slice('data:application/vc+jwt,'.length));
    expect(dte.type).toEqual(['DigitalTraceabilityEvent', 'VerifiableCredential']);
    expect(dte.credentialSubject).toHaveLength(1);
    expect(dte.credentialSubject[0]).toMatchObject({
      type: ['ObjectEvent', 'Event'],
      action: 'observe',
      bizStep: 'https://ref.gs1.org/cbv/BizStep-shipping',
      disposition: 'https://ref.gs1.org/cbv/Disp-in_transit',
      bizLocation: 'urn:epc:id:sgln:4006384.00001.0',
      epcList: [{ type: ['Item'], id: expect.stringMatching(/\/01\/\d{14}\/21\/[0-9A-Z]{16}$/), name: 'UNTP drill' }],
    });
    for (const key of [undefined, recycler.key]) expect((await traceability(key)).code).toBe('FORBIDDEN');
  });
});

describeVectors('UNTP DTE 0.6.0 schema (uncefact/tests-untp)', () => {
  it('validates the traceability credential in both forms', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(vectorsDir!, 'untp', 'digitalTraceabilityEvent-0.6.0.schema.json'), 'utf8')));
    const jose = await verifyJwsIndependently((await traceability(brand.key)).value!.id.slice('data:application/vc+jwt,'.length));
    const { proof: _proof, ...di } = (await traceability(brand.key, '(securing: DATA_INTEGRITY)')).value!;
    for (const p of [jose, di]) {
      validate(p);
      expect(validate.errors ?? []).toEqual([]);
    }
    expect(validate({ ...jose, credentialSubject: [{ ...jose.credentialSubject[0], action: 'OBSERVE' }] })).toBe(false);
  });
});

describeVectors('UNTP DPP 0.6.0 schema (uncefact/tests-untp)', () => {
  it('validates the credential of every tier and securing form', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(vectorsDir!, 'untp', 'digitalProductPassport-0.6.0.schema.json'), 'utf8')));
    const payloads = [];
    for (const key of [brand.key, recycler.key, undefined]) {
      const { value } = await credential(key);
      payloads.push(await verifyJwsIndependently(value!.id.slice('data:application/vc+jwt,'.length)));
      const { proof: _proof, ...di } = (await credential(key, 'profile: UNTP_DPP, securing: DATA_INTEGRITY')).value!;
      payloads.push(di);
    }
    for (const p of payloads) {
      const ok = validate(p);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
    // The oracle does fail: a passport without the required issuer name is refused.
    expect(validate({ ...payloads[0], issuer: { type: ['CredentialIssuer'], id: payloads[0].issuer.id } })).toBe(false);
  });
});
