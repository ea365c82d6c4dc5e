import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createProof, generateKeyPair, publicKeyToJwk, type JsonObject } from '../../src/crypto/index.js';
import type { AppServices } from '../../src/context/services.js';
import { kidFor } from '../../src/modules/keys/signing-key.service.js';
import { passportCredential } from '../../src/modules/passports/credential.js';
import { DPP_CONTEXT_BYTES, dppContextUrl } from '../../src/modules/passports/credential-context.js';
import { CARRIERS, PASSPORT_STATUSES, type IPassport } from '../../src/modules/passports/passport.entity.js';
import type { IOrganization } from '../../src/modules/organizations/organization.entity.js';
import type { IProductModel } from '../../src/modules/product-models/product-model.entity.js';
import { verifyOffline } from '../../src/verify/offline-verifier.js';
import { expandSafely, expansionWarnings, SHIPPED_DPP_CONTEXT_FILE, shippedContextsLoader, shippedDppContext } from '../support/jsonld.js';

const config = { resolverHost: 'https://id.example.com' } as AppServices['config'];
const CONTEXT_URL = 'https://id.example.com/contexts/dpp/v1';
const loader = shippedContextsLoader(CONTEXT_URL);
const brand = { id: '2b7e1b0c-3f4a-4c1e-9a55-0d6f3b2c1a90', name: 'Example Brand', gs1CompanyPrefixes: ['4012345'] } as unknown as IOrganization;
const GTIN = '04012345000016';

function unit(over: Partial<Record<keyof IPassport, unknown>> = {}): IPassport {
  return {
    id: '6f1c1c57-2f44-4f0e-8a1e-0b6a1d0c9e11',
    gtin: GTIN,
    serial: 'YM5RA6K3ZA4K03BH',
    lot: 'L42',
    site: 'Plant 1',
    manufacturedAt: new Date('2026-03-01T08:00:00.123Z'),
    carrier: 'QR',
    status: 'SIGNED',
    signature: 'c2lnbmF0dXJl',
    kid: 'kid-1',
    signedAt: new Date('2026-03-01T09:00:00Z'),
    createdAt: new Date('2026-03-01T08:00:00Z'),
    ...over,
  } as unknown as IPassport;
}
const model = (category: string | null = 'Bicycles') => ({ gtin: GTIN, name: 'City bike', category }) as unknown as IProductModel;

/** Every shape the credential takes: each status and carrier, with and without lot, site, category and identity signature. */
function variants(): { name: string; vc: JsonObject }[] {
  const out: { name: string; vc: JsonObject }[] = [];
  for (const status of PASSPORT_STATUSES) out.push({ name: `status ${status}`, vc: passportCredential(config, unit({ status }), model(), brand) });
  for (const carrier of CARRIERS) out.push({ name: `carrier ${carrier}`, vc: passportCredential(config, unit({ carrier }), model(), brand) });
  out.push({ name: 'no lot, site or category', vc: passportCredential(config, unit({ lot: null, site: null }), model(null), brand) });
  out.push({ name: 'no identity signature', vc: passportCredential(config, unit({ signature: null, kid: null, signedAt: null }), model(), brand) });
  return out;
}

describe('the passport credential as JSON-LD', () => {
  it('names VC 2.0 and then our context, at this deployment\'s origin', () => {
    expect(passportCredential(config, unit(), model(), brand)['@context']).toEqual(['https://www.w3.org/ns/credentials/v2', CONTEXT_URL]);
    expect(dppContextUrl({ resolverHost: 'id.example.com' })).toBe(CONTEXT_URL);
    expect(dppContextUrl({ resolverHost: 'http://localhost:4000' })).toBe('http://localhost:4000/contexts/dpp/v1');
    expect(dppContextUrl({ resolverHost: 'https://example.com/dpp/' })).toBe('https://example.com/contexts/dpp/v1');
  });

  for (const { name, vc } of variants()) {
    it(`expands and converts to RDF in safe mode with only the shipped contexts: ${name}`, async () => {
      const secured = createProof(vc, { privateKey: generateKeyPair().privateKey, verificationMethod: `did:web:id.example.com:brands:${brand.id}#k` });
      const [doc] = await expandSafely(secured, loader);
      const subject = (doc!['https://www.w3.org/2018/credentials#credentialSubject'] as Record<string, unknown>[])[0]!;
      expect(subject['@type']).toEqual(['https://schema.org/IndividualProduct']);
      expect(subject['https://ref.gs1.org/voc/gtin']).toEqual([{ '@value': GTIN }]);
      expect(subject['https://ref.gs1.org/voc/productionDateTime']).toEqual([{ '@type': 'http://www.w3.org/2001/XMLSchema#dateTime', '@value': '2026-03-01T08:00:00Z' }]);
    });
  }

  it('the old credential (VC 2.0 context only) fails safe mode, and a lenient expansion drops every term of ours', async () => {
    const vc = passportCredential(config, unit(), model(), brand);
    const old = { ...vc, '@context': ['https://www.w3.org/ns/credentials/v2'] };
    await expect(expandSafely(old, loader)).rejects.toThrow(/Safe mode validation error/);
    const dropped = (await expansionWarnings(old, loader)).map((e) => String(e.details?.property ?? e.details?.type));
    expect(dropped.sort()).toEqual(
      ['brand', 'carrier', 'gtin', 'identitySignature', 'lot', 'manufacturedAt', 'model', 'serial', 'sgtin', 'site', 'status', 'Product', 'DigitalProductPassportCredential'].sort(),
    );
  });

  it('verification does not depend on the context: credentials signed with the old context and with ours both verify offline', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const kid = kidFor(publicKey);
    const jwks = { keys: [publicKeyToJwk(publicKey, kid)] };
    const vm = `did:web:id.example.com:brands:${brand.id}#${kid}`;
    const vc = passportCredential(config, unit(), model(), brand);
    for (const doc of [vc, { ...vc, '@context': ['https://www.w3.org/ns/credentials/v2'] }]) {
      const secured = createProof(doc, { privateKey, verificationMethod: vm });
      expect(verifyOffline(secured, jwks)).toMatchObject({ valid: true, kind: 'credential', kid });
      expect(verifyOffline({ ...secured, validFrom: '2020-01-01T00:00:00Z' }, jwks).valid).toBe(false);
    }
  });
});

describe('our context file', () => {
  const context = shippedDppContext()['@context'];
  const terms = (ctx: Record<string, unknown>, scope = ''): [string, string][] =>
    Object.entries(ctx).flatMap(([term, def]): [string, string][] => {
      if (term.startsWith('@') || term === 'id' || term === 'type') return [];
      const d = (typeof def === 'string' ? { '@id': def } : def) as { '@id': string; '@context'?: Record<string, unknown> };
      return [[`${scope}${term}`, d['@id']], ...(d['@context'] ? terms(d['@context'], `${scope}${term}.`) : [])];
    });

  it('is the bytes the server module serves, and protects every term', () => {
    expect(Buffer.compare(DPP_CONTEXT_BYTES, readFileSync(SHIPPED_DPP_CONTEXT_FILE))).toBe(0);
    expect(context['@protected']).toBe(true);
    expect(context['@version']).toBe(1.1);
  });

  it('maps every term to an absolute IRI, each documented in the README\'s vocabulary table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Passport credential vocabulary'));
    const table = section.slice(0, section.indexOf('\n### ', 10));
    const all = terms(context);
    expect(all.length).toBeGreaterThanOrEqual(17);
    for (const [term, iri] of all) {
      expect(iri, term).toMatch(/^(https:\/\/|urn:uuid:)[^\s]+$/);
      expect(table.split('\n').some((line) => line.includes(`\`${term}\``) && line.includes(iri)), `README documents ${term} as ${iri}`).toBe(true);
    }
  });
});
