import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { OrgKind } from '../modules/organizations/organization.entity.js';
import type { Loaders } from './loaders.js';

/** Who is calling: nobody in particular, or an organisation through one of its API keys. */
export type Viewer =
  | { kind: 'ANONYMOUS' }
  | { kind: 'ORGANIZATION'; organizationId: string; orgKind: OrgKind; apiKeyId: string };

/** Built once per HTTP request or per graphql-ws operation; never shared between them. */
export type Context = {
  requestId: string;
  viewer: Viewer;
  /** A fork of the ORM's entity manager, private to this request. */
  em: EntityManager;
  loaders: Loaders;
  log: Logger;
};

export function organizationOf(viewer: Viewer): { organizationId: string; orgKind: OrgKind } | undefined {
  return viewer.kind === 'ORGANIZATION' ? viewer : undefined;
}
