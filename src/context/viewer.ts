import type { OrgKind } from '../modules/organizations/organization.entity.js';

/**
 * Who is calling: nobody in particular, an organisation through one of its API keys, or a consumer
 * signed in with a passkey (an owner session token).
 */
export type Viewer =
  | { kind: 'ANONYMOUS' }
  | { kind: 'ORGANIZATION'; organizationId: string; orgKind: OrgKind; apiKeyId: string }
  | { kind: 'OWNER'; ownerId: string; sessionId: string; signedInAt: Date };

export function organizationOf(viewer: Viewer): { organizationId: string; orgKind: OrgKind } | undefined {
  return viewer.kind === 'ORGANIZATION' ? viewer : undefined;
}

/** Turns an `Authorization` header into a viewer; the server gives it to the HTTP routers it mounts. */
export type Authenticate = (authorization: unknown) => Promise<Viewer>;
