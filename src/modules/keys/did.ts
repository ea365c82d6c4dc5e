import type { Config } from '../../config/config.js';
import { publicKeyMultibase } from '../../crypto/index.js';

/** A did:web DID document with Multikey verification methods. */
export type DidDocument = {
  '@context': string[];
  id: string;
  verificationMethod: { id: string; type: 'Multikey'; controller: string; publicKeyMultibase: string }[];
  assertionMethod: string[];
  authentication: string[];
};

/** A key to list in a DID document. */
export type DidKey = { kid: string; publicKey: Uint8Array };

type HostConfig = Pick<Config, 'resolverHost'>;

/**
 * The did:web method-specific id of the resolver host: host and port, the port's colon
 * percent-encoded. Any path in resolverHost is ignored: the documents are served from the root.
 */
function didWebHost(config: HostConfig): string {
  const raw = config.resolverHost.trim();
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  return url.host.replaceAll(':', '%3A');
}

/**
 * `did:web:<host>`, resolved at `/.well-known/did.json`. Its document lists only keys the platform
 * itself controls (none today): a brand's keys belong to the brand's own DID, never to this one.
 */
export function platformDid(config: HostConfig): string {
  return `did:web:${didWebHost(config)}`;
}

/** `did:web:<host>:brands:<brandId>`, resolved at `/brands/<brandId>/did.json`. */
export function brandDid(config: HostConfig, brandId: string): string {
  return `did:web:${didWebHost(config)}:brands:${brandId}`;
}

/** The verification method of one brand key: `<brandDid>#<kid>`. */
export function verificationMethodId(config: HostConfig, brandId: string, kid: string): string {
  return `${brandDid(config, brandId)}#${kid}`;
}

/** A DID document whose keys (`<did>#<kid>`) may both assert (sign credentials) and authenticate. */
export function didDocument(did: string, keys: readonly DidKey[]): DidDocument {
  const verificationMethod = keys.map((k) => ({
    id: `${did}#${k.kid}`,
    type: 'Multikey' as const,
    controller: did,
    publicKeyMultibase: publicKeyMultibase(k.publicKey),
  }));
  const ids = verificationMethod.map((vm) => vm.id);
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: did,
    verificationMethod,
    assertionMethod: ids,
    authentication: [...ids],
  };
}
