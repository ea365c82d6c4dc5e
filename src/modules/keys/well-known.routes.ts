import type { MikroORM } from '@mikro-orm/postgresql';
import { type Response, Router } from 'express';
import type { Config } from '../../config/config.js';
import { publicKeyToJwk } from '../../crypto/index.js';
import { isUuid } from '../../db/ids.js';
import { brandDid, type DidKey, didDocument, platformDid } from './did.js';
import { signingKeyService } from './signing-key.service.js';

/** Keys the platform itself controls and signs with; brands' keys live under their own DIDs. */
const PLATFORM_KEYS: readonly DidKey[] = [];

/** Public keys are public: any origin may read them, and caches may keep them for five minutes. */
function sendPublic(res: Response, body: unknown): void {
  res.setHeader('cache-control', 'public, max-age=300');
  res.setHeader('access-control-allow-origin', '*');
  res.json(body);
}

/**
 * Unauthenticated key publication: `/.well-known/jwks.json` (every brand's keys as one JWKS, for
 * offline verifiers), `/.well-known/did.json` (the platform's did:web document, with the platform's
 * own keys only) and `/brands/:brandId/did.json` (one brand's). Only ACTIVE and RETIRED keys appear;
 * a revoked key disappears at the latest when caches expire.
 */
export function wellKnownRouter(orm: MikroORM, config: Config): Router {
  const router = Router();

  router.get('/.well-known/jwks.json', async (_req, res) => {
    const keys = await signingKeyService.publishedKeys(orm.em.fork());
    sendPublic(res, { keys: keys.map((k) => publicKeyToJwk(k.publicKey, k.kid)) });
  });

  // Brands' keys are not the platform's: listing them here made whatever a brand signed resolve as
  // signed by the platform. The platform controls no signing key yet, so its document has none.
  router.get('/.well-known/did.json', (_req, res) => {
    sendPublic(res, didDocument(platformDid(config), PLATFORM_KEYS));
  });

  router.get('/brands/:brandId/did.json', async (req, res) => {
    const { brandId } = req.params;
    const keys = isUuid(brandId) ? await signingKeyService.publishedKeys(orm.em.fork(), brandId) : [];
    if (!keys.length) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    sendPublic(res, didDocument(brandDid(config, brandId), keys));
  });

  return router;
}
