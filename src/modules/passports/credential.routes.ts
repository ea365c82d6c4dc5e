import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Router } from 'express';
import type { Config } from '../../config/config.js';
import { VC_JWT_MEDIA_TYPE } from '../../crypto/vc-jose.js';
import { isUuid } from '../../db/ids.js';
import { loadPublicBatteryPart } from '../batteries/battery-public.js';
import type { KeyStore } from '../keys/key-store.js';
import { signingKeyService } from '../keys/signing-key.service.js';
import { Organization } from '../organizations/organization.entity.js';
import { ProductModel } from '../product-models/product-model.entity.js';
import { secureAs } from './credential-securing.js';
import { Passport } from './passport.entity.js';
import { untpPassportCredential } from './untp.js';

/** Where anyone fetches a unit's public UNTP passport: the href the resolver's linkset gives for `untp:dpp`. */
export const untpPassportPath = (passportId: string) => `/credentials/untp-dpp/${passportId}`;

/**
 * `GET /credentials/untp-dpp/:passportId`: the public view of a signed unit's UNTP DigitalProductPassport,
 * as a bare vc+jwt for clients that ask for `application/vc+jwt`, else as the EnvelopedVerifiableCredential
 * JSON. Each answer is freshly signed; unsigned and unknown units are 404.
 */
export function credentialRouter(orm: MikroORM, services: { config: Config; keyStore: KeyStore }): Router {
  const router = Router();
  router.get('/credentials/untp-dpp/:passportId', async (req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    res.vary('accept');
    const em = orm.em.fork();
    const p = isUuid(req.params.passportId) ? await em.findOne(Passport, { id: req.params.passportId }) : null;
    if (!p?.signature) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    const [brand, model] = await Promise.all([em.findOneOrFail(Organization, { id: p.brand.id }), em.findOneOrFail(ProductModel, { id: p.model.id })]);
    const signer = await signingKeyService.activeSigner(em, services, brand.id);
    const battery = await loadPublicBatteryPart(em as EntityManager, p.id, services.config.resolverHost);
    const enveloped = await secureAs(services.config, brand.id, signer, untpPassportCredential(services.config, p, model, brand, 'public', battery), 'JOSE');
    res.setHeader('cache-control', 'public, max-age=60');
    if (req.accepts(['application/json', VC_JWT_MEDIA_TYPE]) === VC_JWT_MEDIA_TYPE) {
      res.type(VC_JWT_MEDIA_TYPE).send(String(enveloped.id).slice(`data:${VC_JWT_MEDIA_TYPE},`.length));
    } else res.json(enveloped);
  });
  return router;
}
