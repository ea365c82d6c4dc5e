import { readFileSync } from 'node:fs';
import { Router } from 'express';
import type { Config } from '../../config/config.js';

/** The W3C VC 2.0 base context; always first in a credential's `@context`. */
export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';

/** Where every deployment serves the passport credential's JSON-LD context (see README, "Credential vocabulary"). */
export const DPP_CONTEXT_PATH = '/contexts/dpp/v1';

/**
 * The context exactly as shipped (`contexts/dpp-v1.jsonld`, copied next to the compiled module by
 * the build), served byte for byte so every copy of v1 is the same document. v1 never changes:
 * a new or changed term means a v2 file and path.
 */
export const DPP_CONTEXT_BYTES: Buffer = readFileSync(new URL('./contexts/dpp-v1.jsonld', import.meta.url));

/**
 * The context's URL on this deployment: the resolver host's origin (https unless the host names
 * http) and {@link DPP_CONTEXT_PATH}. Like the DID documents, it is served from the root, so any
 * path in resolverHost is ignored.
 */
export function dppContextUrl(config: Pick<Config, 'resolverHost'>): string {
  const raw = config.resolverHost.trim();
  return new URL(DPP_CONTEXT_PATH, /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`).href;
}

/**
 * The one term a battery unit's credential adds, `batteryPass`: the public part of its EU battery passport (Annex
 * XIII point 1, Battery Pass 1.2.0 names) as a JSON literal (`@json`), so the consortium's names need no terms
 * of their own. Inline, because v1 never changes; it only adds a term, so v1's protection is untouched.
 */
export const BATTERY_PASS_CONTEXT = {
  '@version': 1.1,
  '@protected': true,
  batteryPass: { '@id': 'urn:uuid:ae8c843a-59ea-4a67-80e5-c6ebb4e22505#batteryPass', '@type': '@json' },
} as const;

/** A credential's `@context`: VC 2.0, then ours, which defines every other term the credential uses. */
export function credentialContexts(config: Pick<Config, 'resolverHost'>): string[] {
  return [VC_V2_CONTEXT, dppContextUrl(config)];
}

/**
 * `GET /contexts/dpp/v1`: public, any origin (JSON-LD processors in browsers fetch it), cacheable for
 * a year since the versioned document never changes.
 */
export function credentialContextRouter(): Router {
  const router = Router();
  router.get(DPP_CONTEXT_PATH, (_req, res) => {
    res.setHeader('content-type', 'application/ld+json');
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('x-content-type-options', 'nosniff');
    res.send(DPP_CONTEXT_BYTES);
  });
  return router;
}
