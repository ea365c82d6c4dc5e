import { Authorized, Extensions } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { ORG_KINDS, type OrgKind } from '../modules/organizations/organization.entity.js';
import { ForbiddenError, UnauthenticatedError } from '../errors/app-error.js';
import type { Context } from './request-context.js';

/** Anyone, including anonymous callers. */
export const ANYONE = 'ANYONE';
/** Any authenticated organisation, whatever its kind. */
export const ANY_ORG = 'ANY_ORG';
/** A consumer signed in with a passkey (owner session token). */
export const OWNER = 'OWNER';
export type Role = OrgKind | typeof ANYONE | typeof ANY_ORG | typeof OWNER;
const ROLES: readonly string[] = [ANYONE, ANY_ORG, OWNER, ...ORG_KINDS];

/**
 * The one way to open a field: who may call it. Root fields without it make the schema refuse to
 * build (deny by default); object fields without it are readable by whoever could reach the object.
 */
export function Access(...roles: [Role, ...Role[]]): MethodDecorator & PropertyDecorator {
  const authorized = Authorized(...roles);
  const extensions = Extensions({ access: roles });
  return (target: object, key: string | symbol, descriptor?: PropertyDescriptor) => {
    authorized(target, key, descriptor as never);
    extensions(target, key, descriptor as never);
  };
}

/**
 * The one authorisation checker: roles are organisation kinds plus ANYONE / ANY_ORG / OWNER.
 * An arrow function on purpose: type-graphql instantiates anything with a prototype as a class.
 */
export const authChecker = ({ context }: { context: Context }, roles: string[]): boolean => {
  if (roles.includes(ANYONE)) return true;
  const viewer = context.viewer;
  if (viewer.kind === 'ANONYMOUS') {
    throw new UnauthenticatedError(roles.includes(OWNER) ? 'Sign in with a passkey: an owner session token is required' : undefined);
  }
  if (viewer.kind === 'OWNER') {
    if (roles.includes(OWNER)) return true;
    throw new ForbiddenError('An owner session may not do this');
  }
  if (roles.includes(ANY_ORG) || roles.includes(viewer.orgKind)) return true;
  throw new ForbiddenError(`An organisation of kind ${viewer.orgKind} may not do this`);
};

/** Refuses a schema in which any root operation was left without an explicit access rule. */
export function assertDenyByDefault(schema: GraphQLSchema): void {
  const open: string[] = [];
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const access = field.extensions?.access as unknown;
      const valid = Array.isArray(access) && access.length > 0 && access.every((r) => ROLES.includes(r));
      if (!valid) open.push(`${root.name}.${field.name}`);
    }
  }
  if (open.length) throw new Error(`Root fields without an @Access rule (deny by default): ${open.join(', ')}`);
}
