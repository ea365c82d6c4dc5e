import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Access, ANY_ORG, ANYONE } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { organizationService } from './organization.service.js';
import { ApiKeyType, CreatedApiKey, OrganizationInput, OrganizationType, Viewer, ViewerKind } from './organization.types.js';
import { organizationLoaders } from './organization.loaders.js';

@Resolver(() => OrganizationType)
export class OrganizationResolver {
  @Access(ANYONE)
  @Query(() => Viewer, { description: 'Who the caller is: anonymous, an organisation via its API key, or an owner signed in with a passkey.' })
  async me(@Ctx() ctx: Context): Promise<Viewer> {
    const v = ctx.viewer;
    if (v.kind === 'ANONYMOUS') return Object.assign(new Viewer(), { kind: ViewerKind.ANONYMOUS, organization: null, apiKeyId: null });
    if (v.kind === 'OWNER') return Object.assign(new Viewer(), { kind: ViewerKind.OWNER, organization: null, apiKeyId: null, ownerId: v.ownerId });
    const org = await organizationLoaders(ctx).organizationById.load(v.organizationId);
    return Object.assign(new Viewer(), {
      kind: ViewerKind.ORGANIZATION,
      organization: org ? OrganizationType.from(org) : null,
      apiKeyId: v.apiKeyId,
    });
  }

  @Access(ANY_ORG)
  @Query(() => OrganizationType, { description: 'An organisation: the platform sees any, others only their own.' })
  async organization(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<OrganizationType> {
    return OrganizationType.from(await organizationService.get(ctx.em, ctx.viewer, id));
  }

  @Access('PLATFORM')
  @Mutation(() => OrganizationType)
  async createOrganization(@Ctx() ctx: Context, @Arg('input', () => OrganizationInput) input: OrganizationInput): Promise<OrganizationType> {
    return OrganizationType.from(await organizationService.create(ctx.em, input));
  }

  @Access(ANY_ORG)
  @Mutation(() => CreatedApiKey, { description: 'The platform for any organisation, an organisation for itself. The secret is shown once.' })
  async createApiKey(
    @Ctx() ctx: Context,
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('label', () => String) label: string,
  ): Promise<CreatedApiKey> {
    const { key, secret } = await organizationService.createApiKey(ctx.em, ctx.viewer, organizationId, label);
    return Object.assign(new CreatedApiKey(), { id: key.id, secret, key: ApiKeyType.from(key) });
  }

  @Access(ANY_ORG)
  @Mutation(() => ApiKeyType, { description: 'Revokes a key at once. The platform for any key, an organisation for its own.' })
  async revokeApiKey(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<ApiKeyType> {
    return ApiKeyType.from(await organizationService.revokeApiKey(ctx.em, ctx.viewer, id, ctx.services.apiKeys));
  }

  @FieldResolver(() => [ApiKeyType], { description: 'Keys of this organisation (never their secrets).' })
  async apiKeys(@Ctx() ctx: Context, @Root() org: OrganizationType): Promise<ApiKeyType[]> {
    organizationService.assertPlatformOrSelf(ctx.viewer, org.id);
    return (await organizationLoaders(ctx).apiKeysByOrganization.load(org.id)).map(ApiKeyType.from);
  }
}
