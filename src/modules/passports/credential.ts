import { base58 } from '@scure/base';
import { createProofConfig, EDDSA_JCS_2022, proofHashData, type JsonObject } from '../../crypto/data-integrity.js';
import type { AppServices } from '../../context/services.js';
import { formatDigitalLink } from '../../gs1/index.js';
import { brandDid, verificationMethodId } from '../keys/did.js';
import type { Signer } from '../keys/signing-key.service.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import type { IProductModel } from '../product-models/product-model.entity.js';
import { BATTERY_PASS_CONTEXT, credentialContexts } from './credential-context.js';
import { statusEntry } from '../status-lists/status-list.service.js';
import type { IPassport } from './passport.entity.js';
import { unitUris } from './unit-uris.js';

const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The unsecured W3C VC 2.0 document describing one unit. Every term is defined by VC 2.0 or by our
 * context (credential-context.ts), so it expands in JSON-LD safe mode; the proof signs the JSON (JCS).
 * `battery`: a battery unit's public battery pass (Annex XIII point 1 only), carried as `batteryPass`.
 */
export function passportCredential(config: AppServices['config'], p: IPassport, model: IProductModel, brand: IOrganization, battery?: JsonObject | null): JsonObject {
  const { sgtinUri } = unitUris(config, brand, p);
  return {
    '@context': battery ? [...credentialContexts(config), BATTERY_PASS_CONTEXT] : credentialContexts(config),
    id: `urn:uuid:${p.id}`,
    type: ['VerifiableCredential', 'DigitalProductPassportCredential'],
    issuer: brandDid(config, brand.id),
    validFrom: seconds(p.signedAt ?? p.createdAt),
    credentialSubject: {
      id: formatDigitalLink({ host: config.resolverHost, gtin: p.gtin, serial: p.serial, lot: p.lot ?? undefined }),
      type: 'Product',
      gtin: p.gtin,
      serial: p.serial,
      sgtin: sgtinUri,
      ...(p.lot ? { lot: p.lot } : {}),
      ...(p.site ? { site: p.site } : {}),
      manufacturedAt: seconds(p.manufacturedAt),
      carrier: p.carrier,
      status: p.status,
      model: { gtin: model.gtin, name: model.name, ...(model.category ? { category: model.category } : {}) },
      brand: { id: brandDid(config, brand.id), name: brand.name },
      ...(p.signature && p.kid ? { identitySignature: { kid: p.kid, algorithm: 'Ed25519', value: p.signature } } : {}),
      ...(battery ? { batteryPass: battery } : {}),
    },
    // Units minted before status lists existed have no entry, and their credentials carry none.
    ...(p.statusListId && p.statusIndex != null
      ? { credentialStatus: statusEntry(config, brand.id, { listId: p.statusListId, index: p.statusIndex }) }
      : {}),
  };
}

/**
 * Secures a credential with an `eddsa-jcs-2022` Data Integrity proof made by the brand's signer
 * (the private key never leaves the KeyStore: only the 64-byte hash data is signed).
 */
export async function secureCredential(config: AppServices['config'], brandId: string, signer: Signer, document: JsonObject): Promise<JsonObject> {
  const proofConfig = createProofConfig(document, {
    type: 'DataIntegrityProof',
    cryptosuite: EDDSA_JCS_2022,
    created: seconds(new Date()),
    verificationMethod: verificationMethodId(config, brandId, signer.kid),
    proofPurpose: 'assertionMethod',
  });
  const [signature] = await signer.sign([proofHashData(document, proofConfig)]);
  return { ...document, proof: { ...proofConfig, proofValue: `z${base58.encode(signature!)}` } };
}
