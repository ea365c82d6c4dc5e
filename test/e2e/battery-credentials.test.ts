import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jwsKid, verifyVcJwt } from '../../src/crypto/vc-jose.js';
import { verifyOffline } from '../../src/verify/offline-verifier.js';
import { expectPublicOnly } from '../support/battery-annex.js';
import { batteryPass, createModel, gtinFor, mintSigned, ok, type Org, sell } from '../support/battery-fixtures.js';
import { exampleCondition, modelData } from '../support/battery-pass.js';
import { BATTERY_PASS_CONTEXT } from '../../src/modules/passports/credential-context.js';
import { expandSafely, shippedContextsLoader } from '../support/jsonld.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors, vectorsDir } from '../unit/vectors.js';

// The signed credentials of a battery unit carry its public battery pass (Annex XIII point 1) and nothing else of it.
const HOST = 'https://id.example.com';
const CONTEXT_URL = `${HOST}/contexts/dpp/v1`;
const addFormats = addFormatsModule.default;
const VC = 'query($id: ID!, $p: CredentialProfile!, $s: CredentialSecuring) { passport(id: $id) { verifiableCredential(profile: $p, securing: $s) } }';

let s: TestServer;
let brand: Org;
let recycler: Org;
let unit: string;
let plain: string;
let full: Record<string, any>;
let pub: Record<string, any>;
let jwks: { keys: Record<string, unknown>[] };

async function credential(key: string | undefined, profile: 'NATIVE' | 'UNTP_DPP', securing: 'DATA_INTEGRITY' | 'JOSE', id = unit): Promise<Record<string, any>> {
  return ok(await s.gql<{ passport: { verifiableCredential: Record<string, any> } }>(VC, { id, p: profile, s: securing }, key)).passport.verifiableCredential;
}

/** The payload of an enveloped vc+jwt, verified with the brand's published key. */
async function unenvelope(jws: string): Promise<Record<string, any>> {
  const jwk = jwks.keys.find((k) => jwsKid(jws)?.endsWith(`#${k.kid}`))!;
  expect(jwk).toBeDefined();
  return verifyVcJwt(jws, jwk as never);
}

describeVectors('battery data in the signed credentials (native and UNTP)', () => {
  beforeAll(async () => {
    s = await startTestServer({ DPP_RESOLVER_HOST: HOST });
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614142'] });
    recycler = await s.org('RECYCLER');
    const retailer = await s.org('RETAILER');
    const gtin = gtinFor('0614142', '00001');
    ok(await createModel(s, brand.key, gtin, { category: 'LMT', data: modelData() }));
    [unit] = await mintSigned(s, brand.key, gtin);
    await sell(s, unit!, retailer.id);
    ok(await s.gql('mutation($i: BatteryConditionInput!) { recordBatteryCondition(input: $i) { seq } }', { i: { passportId: unit, condition: exampleCondition() } }, brand.key));
    const g2 = gtinFor('0614142', '00002');
    ok(await createModel(s, brand.key, g2));
    [plain] = await mintSigned(s, brand.key, g2);
    full = (await batteryPass(s, unit!, brand.key))!;
    pub = (await batteryPass(s, unit!))!;
    jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as typeof jwks;
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('native: carries the public battery pass, expands in safe mode, and its proof verifies (and fails once altered)', async () => {
    const vc = await credential(brand.key, 'NATIVE', 'DATA_INTEGRITY');
    expect(vc['@context']).toEqual(['https://www.w3.org/ns/credentials/v2', CONTEXT_URL, BATTERY_PASS_CONTEXT]);
    expect(vc.credentialSubject.batteryPass).toEqual(pub);
    await expect(expandSafely(vc, shippedContextsLoader(CONTEXT_URL))).resolves.toHaveLength(1);
    expect(verifyOffline(vc, jwks as never)).toMatchObject({ valid: true, kind: 'credential' });
    const altered = structuredClone(vc);
    altered.credentialSubject.batteryPass.generalProductInformation.batteryMass = 1;
    expect(verifyOffline(altered, jwks as never).valid).toBe(false);
    const jose = await unenvelope((await credential(brand.key, 'NATIVE', 'JOSE')).id.slice('data:application/vc+jwt,'.length));
    expect(jose.credentialSubject.batteryPass).toEqual(pub);
  });

  it('native: holds no attribute of points 2, 3 or 4, attribute by attribute, even read by the brand or a recycler', async () => {
    for (const key of [brand.key, recycler.key]) {
      const counts = expectPublicOnly((await credential(key, 'NATIVE', 'DATA_INTEGRITY')).credentialSubject.batteryPass, full);
      // The unit has attributes on both sides, so the check above was not vacuous.
      expect(counts.shown).toBeGreaterThan(30);
      expect(counts.hidden).toBeGreaterThan(20);
    }
  });

  it('UNTP: product.characteristics carries the public battery pass in every view and form; signature verifies', async () => {
    for (const key of [undefined, recycler.key, brand.key]) {
      const di = await credential(key, 'UNTP_DPP', 'DATA_INTEGRITY');
      expect(verifyOffline(di, jwks as never).valid).toBe(true);
      const jose = await unenvelope((await credential(key, 'UNTP_DPP', 'JOSE')).id.slice('data:application/vc+jwt,'.length));
      for (const doc of [di, jose]) {
        expect(doc.credentialSubject.product.characteristics).toEqual({ type: ['Characteristics'], batteryPass: pub });
        expectPublicOnly(doc.credentialSubject.product.characteristics.batteryPass, full);
      }
    }
    const served = (await (await fetch(`${s.url}/credentials/untp-dpp/${unit}`)).json()) as { id: string };
    const payload = await unenvelope(served.id.slice('data:application/vc+jwt,'.length));
    expect(payload.credentialSubject.product.characteristics.batteryPass).toEqual(pub);
    expect(payload.credentialSubject.product.characteristics.batteryPass.performance.batteryCondition).toEqual({
      roundTripEfficiencyat50PerCentCycleLife: exampleCondition().roundTripEfficiencyat50PerCentCycleLife,
    });
  });

  it('UNTP: the battery credential still validates against the UNTP DPP 0.6.0 schema', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(vectorsDir!, 'untp', 'digitalProductPassport-0.6.0.schema.json'), 'utf8')));
    const { proof: _proof, ...doc } = await credential(undefined, 'UNTP_DPP', 'DATA_INTEGRITY');
    validate(doc);
    expect(validate.errors ?? []).toEqual([]);
  });

  it('a unit that is not a battery carries no battery data and keeps the two contexts', async () => {
    const vc = await credential(brand.key, 'NATIVE', 'DATA_INTEGRITY', plain);
    expect(vc['@context']).toHaveLength(2);
    expect(vc.credentialSubject).not.toHaveProperty('batteryPass');
    expect((await credential(undefined, 'UNTP_DPP', 'DATA_INTEGRITY', plain)).credentialSubject.product).not.toHaveProperty('characteristics');
  });
});
