import type { Config } from '../../config/config.js';
import type { JsonObject } from '../../crypto/data-integrity.js';
import { signVcJwt } from '../../crypto/vc-jose.js';
import { verificationMethodId } from '../keys/did.js';
import type { Signer } from '../keys/signing-key.service.js';
import { secureCredential } from './credential.js';
import { envelope } from './untp.js';

/** How a credential is secured: an embedded eddsa-jcs-2022 proof, or enveloped as a vc+jwt (VC-JOSE-COSE). */
export type Securing = 'DATA_INTEGRITY' | 'JOSE';

/** Secures a credential by the brand's signer in the form asked for; the private key stays in the KeyStore. */
export async function secureAs(config: Config, brandId: string, signer: Signer, document: JsonObject, securing: Securing): Promise<JsonObject> {
  if (securing === 'DATA_INTEGRITY') return secureCredential(config, brandId, signer, document);
  const jws = await signVcJwt(document, verificationMethodId(config, brandId, signer.kid), async (m) => (await signer.sign([m]))[0]!);
  return envelope(jws);
}
