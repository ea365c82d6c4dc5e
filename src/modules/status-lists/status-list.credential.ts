import type { Config } from '../../config/config.js';
import type { JsonObject } from '../../crypto/data-integrity.js';
import { signVcJwt } from '../../crypto/vc-jose.js';
import { brandDid, verificationMethodId } from '../keys/did.js';
import type { Signer } from '../keys/signing-key.service.js';
import { secureCredential } from '../passports/credential.js';
import { encodeList } from './bitstring.js';
import { type StoredList, statusListUrl } from './status-list.service.js';

export type ListFormat = 'data-integrity' | 'vc+jwt';

const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The unsecured BitstringStatusListCredential of one list (W3C Bitstring Status List v1.0 §2.2). */
export function statusListCredential(config: Config, list: StoredList): JsonObject {
  const url = statusListUrl(config, list.brandId, list.id);
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    id: url,
    type: ['VerifiableCredential', 'BitstringStatusListCredential'],
    issuer: brandDid(config, list.brandId),
    validFrom: seconds(list.updatedAt),
    credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: list.purpose, encodedList: encodeList(list.bits) },
  };
}

/** Signed lists by (list, version, key, format): a list is signed again only after it or the brand's key changed. */
const signed = new Map<string, string>();
const MAX_CACHED = 1_000;

/** The list's credential secured by the brand's active key, as JSON text (Data Integrity) or a compact JWS. */
export async function securedStatusList(config: Config, list: StoredList, signer: Signer, format: ListFormat): Promise<string> {
  const key = `${list.id}:${list.version}:${signer.kid}:${format}`;
  const hit = signed.get(key);
  if (hit !== undefined) return hit;
  const credential = statusListCredential(config, list);
  const body =
    format === 'vc+jwt'
      ? await signVcJwt(credential, verificationMethodId(config, list.brandId, signer.kid), async (m) => (await signer.sign([m]))[0]!)
      : JSON.stringify(await secureCredential(config, list.brandId, signer, credential));
  if (signed.size >= MAX_CACHED) signed.delete(signed.keys().next().value!);
  signed.set(key, body);
  return body;
}
