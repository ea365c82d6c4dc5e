import type { MikroORM } from '@mikro-orm/postgresql';
import { UnauthenticatedError } from '../errors/app-error.js';
import type { Viewer } from '../context/viewer.js';
import type { ApiKeyCache } from '../modules/organizations/api-key-cache.js';
import { organizationService } from '../modules/organizations/organization.service.js';
import { isOwnerToken, ownerSessionService } from '../modules/ownership/owner-session.service.js';

/**
 * Turns an `Authorization` value into a viewer; a present but bad credential is an error, never anonymous.
 * The bearer's prefix names its kind: `dpo_` an owner session token, anything else an API key. API keys are
 * looked up through `apiKeys` when given (without it, every call asks the database).
 */
export async function resolveViewer(orm: MikroORM, authorization: unknown, apiKeys?: ApiKeyCache): Promise<Viewer> {
  if (authorization === undefined || authorization === null || authorization === '') return { kind: 'ANONYMOUS' };
  const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization.trim()) : null;
  if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <api key or owner session token>"');
  if (isOwnerToken(match[1]!)) {
    const owner = await ownerSessionService.authenticate(orm.em.fork(), match[1]!);
    if (!owner) throw new UnauthenticatedError('Unknown, expired or signed-out owner session');
    return owner;
  }
  const viewer = await organizationService.authenticate(() => orm.em.fork(), match[1]!, apiKeys);
  if (!viewer) throw new UnauthenticatedError('Unknown or revoked API key');
  return viewer;
}
