import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../crypto/jcs.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import countries from 'i18n-iso-countries';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import type { ApiKeyCache, OrganizationViewer } from './api-key-cache.js';
import { API_KEY_REVOKED_CHANNEL } from './api-key-listener.js';
import { ApiKey, type IApiKey, type IOrganization, OPERATOR_KINDS, Organization, type OrgKind } from './organization.entity.js';

export const API_KEY_PREFIX = 'dpp_';

export type OrganizationInput = {
  name: string;
  kind: OrgKind;
  gs1CompanyPrefixes?: string[] | null;
  markets?: string[] | null;
};

/** SHA-256 of a bearer secret, the only form in which keys are stored. */
export function hashApiKey(secret: string): string {
  return sha256Hex(secret);
}

/** A new bearer secret: 256 random bits, prefixed so leaked keys are easy to recognise in scans. */
export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** ISO 3166-1 alpha-2, upper case; throws naming the first bad code. */
export function normaliseMarkets(markets: readonly string[] | null | undefined, field = 'markets'): string[] {
  const out = new Set<string>();
  for (const raw of markets ?? []) {
    const code = raw.trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(code) || !countries.isValid(code)) {
      throw new BadInputError(`${field}: "${raw}" is not an ISO 3166-1 alpha-2 country code`, { field, value: raw });
    }
    out.add(code);
  }
  return [...out].sort();
}

function normalisePrefixes(kind: OrgKind, prefixes: readonly string[] | null | undefined): string[] {
  const list = [...new Set((prefixes ?? []).map((p) => p.trim()))];
  if (list.length && !OPERATOR_KINDS.has(kind)) {
    throw new BadInputError('gs1CompanyPrefixes: only a BRAND or SERVICE_PARTNER organisation holds GS1 company prefixes', { field: 'gs1CompanyPrefixes' });
  }
  for (const p of list) {
    if (!/^\d{6,12}$/.test(p)) {
      throw new BadInputError(`gs1CompanyPrefixes: "${p}" is not a GS1 company prefix (6 to 12 digits)`, { field: 'gs1CompanyPrefixes', value: p });
    }
  }
  return list.sort();
}

function requirePlatformOrSelf(viewer: Viewer, organizationId: string): void {
  // Shared by key management and every field that lists an organisation's own data.
  if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError();
  if (viewer.orgKind !== 'PLATFORM' && viewer.organizationId !== organizationId) {
    throw new ForbiddenError('An organisation may only manage its own API keys');
  }
}

/** Organisations and their API keys. Knows nothing of GraphQL. */
export const organizationService = {
  assertPlatformOrSelf: requirePlatformOrSelf,

  async create(em: EntityManager, input: OrganizationInput): Promise<IOrganization> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 200) throw new BadInputError('name: must be 1 to 200 characters', { field: 'name' });
    const org = em.create(Organization, {
      name,
      kind: input.kind,
      gs1CompanyPrefixes: normalisePrefixes(input.kind, input.gs1CompanyPrefixes),
      markets: normaliseMarkets(input.markets),
    });
    await em.flush();
    return org;
  },

  async get(em: EntityManager, viewer: Viewer, id: string): Promise<IOrganization> {
    requirePlatformOrSelf(viewer, id);
    const org = isUuid(id) ? await em.findOne(Organization, { id }) : null;
    if (!org) throw new NotFoundError('Organization', id);
    return org;
  },

  /** Creates a key; the secret is returned here once and never stored. */
  async createApiKey(em: EntityManager, viewer: Viewer, organizationId: string, label: string): Promise<{ key: IApiKey; secret: string }> {
    requirePlatformOrSelf(viewer, organizationId);
    const trimmed = label.trim();
    if (trimmed.length < 1 || trimmed.length > 200) throw new BadInputError('label: must be 1 to 200 characters', { field: 'label' });
    const org = isUuid(organizationId) ? await em.findOne(Organization, { id: organizationId }) : null;
    if (!org) throw new NotFoundError('Organization', organizationId);
    const secret = generateApiKeySecret();
    const key = em.create(ApiKey, {
      organization: org,
      label: trimmed,
      secretHash: hashApiKey(secret),
      hint: secret.slice(0, 10),
    });
    await em.flush();
    return { key, secret };
  },

  /**
   * Revoking is final and immediate on this replica: `cache` (this process's) is evicted after commit. Other
   * replicas evict on the `dpp_api_key_revoked` notification, which PostgreSQL sends only if this commits.
   * Call it outside any transaction: inside one, the local eviction would come before the commit.
   */
  async revokeApiKey(em: EntityManager, viewer: Viewer, id: string, cache?: ApiKeyCache): Promise<IApiKey> {
    const key = await em.transactional(
      async (tx) => {
        const found = isUuid(id) ? await tx.findOne(ApiKey, { id }) : null;
        if (!found) throw new NotFoundError('ApiKey', id);
        requirePlatformOrSelf(viewer, found.organization.id);
        if (!found.revokedAt) {
          found.revokedAt = new Date();
          await tx.flush();
        }
        // Also for a key already revoked: repeating the call pushes the eviction again (say, after a revocation by SQL).
        await rawQuery(tx, 'select pg_notify($1, $2)', [API_KEY_REVOKED_CHANNEL, found.id]);
        return found;
      },
      { clear: true },
    );
    cache?.evictKey(key.id);
    return key;
  },

  /**
   * The viewer behind a bearer secret, or undefined when the key is unknown or revoked. With `cache`, a
   * key that worked is answered from memory until it is revoked (see ApiKeyCache); unknown and revoked keys
   * always ask the database. `em` may be a factory, called only when the database is asked.
   */
  async authenticate(em: EntityManager | (() => EntityManager), secret: string, cache?: ApiKeyCache): Promise<Viewer | undefined> {
    if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 200) return undefined;
    const secretHash = hashApiKey(secret);
    const cached = cache?.get(secretHash);
    if (cached) return cached;
    // Before the SELECT: an eviction that lands while it runs makes the result too old to keep.
    const ticket = cache?.ticket();
    // One indexed statement, no entity hydration.
    const [key] = await rawQuery<{ id: string; organization_id: string; kind: OrgKind }>(
      typeof em === 'function' ? em() : em,
      'select k.id, k.organization_id, o.kind from api_key k join organization o on o.id = k.organization_id where k.secret_hash = $1 and k.revoked_at is null',
      [secretHash],
    );
    if (!key) return undefined;
    const viewer: OrganizationViewer = { kind: 'ORGANIZATION', organizationId: key.organization_id, orgKind: key.kind, apiKeyId: key.id };
    cache?.store(secretHash, viewer, ticket);
    return viewer;
  },
};
