import type { MikroORM } from '@mikro-orm/postgresql';
import { Router } from 'express';
import type { Config } from '../../config/config.js';
import { VC_JWT_MEDIA_TYPE } from '../../crypto/vc-jose.js';
import { isUuid } from '../../db/ids.js';
import type { KeyStore } from '../keys/key-store.js';
import { signingKeyService } from '../keys/signing-key.service.js';
import { securedStatusList } from './status-list.credential.js';
import { findList } from './status-list.service.js';

/** Verifiers may keep a list this long: a revocation shows within a minute of its commit. */
const MAX_AGE_SECONDS = 60;

/**
 * `GET /status/:brandId/:listId`: a brand's BitstringStatusListCredential, public and cacheable. A client
 * that accepts `application/vc+jwt` (and not JSON first) gets the vc+jwt; everyone else the JSON credential
 * with an eddsa-jcs-2022 proof. The ETag names the list's version, the signing key and the form.
 */
export function statusListRouter(orm: MikroORM, services: { config: Config; keyStore: KeyStore }): Router {
  const router = Router();
  router.get('/status/:brandId/:listId', async (req, res) => {
    const { brandId, listId } = req.params;
    res.setHeader('access-control-allow-origin', '*');
    res.vary('accept');
    const em = orm.em.fork();
    const list = isUuid(brandId) && isUuid(listId) ? await findList(em, brandId, listId) : undefined;
    if (!list) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    const type = req.accepts(['application/json', 'application/vc', 'application/ld+json', VC_JWT_MEDIA_TYPE]) || 'application/json';
    const format = type === VC_JWT_MEDIA_TYPE ? 'vc+jwt' : 'data-integrity';
    const signer = await signingKeyService.activeSigner(em, services, brandId);
    const etag = `"${list.version}-${signer.kid.slice(0, 16)}-${format === 'vc+jwt' ? 'jwt' : 'di'}"`;
    res.setHeader('cache-control', `public, max-age=${MAX_AGE_SECONDS}`);
    res.setHeader('etag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.type(type).send(await securedStatusList(services.config, list, signer, format));
  });
  return router;
}
