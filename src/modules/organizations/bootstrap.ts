import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import { ApiKey, Organization } from './organization.entity.js';
import { generateApiKeySecret, hashApiKey } from './organization.service.js';

/** Arbitrary constant for pg_advisory_xact_lock, so two replicas starting together bootstrap once. */
const BOOTSTRAP_LOCK = 7_420_031;

export type BootstrapResult = { createdSecret?: string; organizationId?: string };

/**
 * With DPP_BOOTSTRAP_API_KEY: makes sure a PLATFORM organisation holds that key (idempotent).
 * Without it, on an empty database only: creates a PLATFORM key and returns its secret to print once.
 */
export async function bootstrapPlatform(orm: MikroORM, config: Config, log: Logger): Promise<BootstrapResult> {
  return orm.em.fork().transactional(async (em) => {
    await em.getConnection().execute('select pg_advisory_xact_lock(?)', [BOOTSTRAP_LOCK], 'all', em.getTransactionContext());
    if (config.bootstrapApiKey) {
      const secretHash = hashApiKey(config.bootstrapApiKey);
      const existing = await em.findOne(ApiKey, { secretHash });
      if (existing) {
        if (existing.revokedAt) log.warn('DPP_BOOTSTRAP_API_KEY was revoked; it stays revoked');
        return { organizationId: existing.organization.id };
      }
      const org =
        (await em.findOne(Organization, { kind: 'PLATFORM' }, { orderBy: { createdAt: 'asc' } })) ??
        em.create(Organization, { name: 'Platform', kind: 'PLATFORM', gs1CompanyPrefixes: [], markets: [] });
      em.create(ApiKey, { organization: org, label: 'bootstrap (DPP_BOOTSTRAP_API_KEY)', secretHash, hint: config.bootstrapApiKey.slice(0, 10) });
      await em.flush();
      log.info({ organizationId: org.id }, 'bootstrap API key registered for the PLATFORM organisation');
      return { organizationId: org.id };
    }
    if ((await em.count(Organization, {})) > 0) return {};
    const secret = generateApiKeySecret();
    const org = em.create(Organization, { name: 'Platform', kind: 'PLATFORM', gs1CompanyPrefixes: [], markets: [] });
    em.create(ApiKey, { organization: org, label: 'first start', secretHash: hashApiKey(secret), hint: secret.slice(0, 10) });
    await em.flush();
    return { createdSecret: secret, organizationId: org.id };
  });
}
