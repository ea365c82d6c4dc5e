import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { NotFoundError } from '../../errors/app-error.js';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { OrganizationType } from '../organizations/organization.types.js';
import { RequireTier } from '../passports/passport.access.js';
import { PassportType } from '../passports/passport.types.js';
import { serviceService } from './service.service.js';
import { ServiceAuthorizationType, ServiceRecordInput, ServiceRecordType } from './service.types.js';
import { serviceLoaders } from './service.loaders.js';
import { organizationLoaders } from '../organizations/organization.loaders.js';

@Resolver(() => ServiceAuthorizationType)
export class ServiceResolver {
  @Access('BRAND')
  @Mutation(() => ServiceAuthorizationType, { description: 'Authorises a SERVICE_PARTNER organisation to record service on your units; idempotent, renews a revoked one.' })
  async authoriseServicePartner(@Ctx() ctx: Context, @Arg('partnerId', () => ID) partnerId: string): Promise<ServiceAuthorizationType> {
    return ServiceAuthorizationType.from(await serviceService.authorisePartner(ctx.em, ctx.viewer, partnerId));
  }

  @Access('BRAND')
  @Mutation(() => ServiceAuthorizationType, { description: 'Revokes a service partner; its later service records on your units are refused. Idempotent.' })
  async revokeServicePartner(@Ctx() ctx: Context, @Arg('partnerId', () => ID) partnerId: string): Promise<ServiceAuthorizationType> {
    return ServiceAuthorizationType.from(await serviceService.revokePartner(ctx.em, ctx.viewer, partnerId));
  }

  @Access('BRAND')
  @Query(() => [ServiceAuthorizationType], { description: "The calling brand's service partners." })
  async servicePartners(
    @Ctx() ctx: Context,
    @Arg('includeRevoked', () => Boolean, { defaultValue: false }) includeRevoked: boolean,
  ): Promise<ServiceAuthorizationType[]> {
    return (await serviceService.listPartners(ctx.em, ctx.viewer, includeRevoked)).map(ServiceAuthorizationType.from);
  }

  @Access('SERVICE_PARTNER')
  @Mutation(() => ServiceRecordType, { description: "Records a repair by a partner the unit's brand authorised; appends a SERVICED history event." })
  async recordService(@Ctx() ctx: Context, @Arg('input', () => ServiceRecordInput) input: ServiceRecordInput): Promise<ServiceRecordType> {
    return ServiceRecordType.from(await serviceService.recordService(ctx.em, ctx.viewer, input));
  }

  @FieldResolver(() => OrganizationType)
  async partner(@Ctx() ctx: Context, @Root() a: ServiceAuthorizationType): Promise<OrganizationType> {
    const org = await organizationLoaders(ctx).organizationById.load(a.partnerId);
    if (!org) throw new NotFoundError('Organization', a.partnerId);
    return OrganizationType.from(org);
  }
}

/** `Passport.serviceRecords`: the service history, for the brand and those with a legitimate interest. */
@Resolver(() => PassportType)
export class PassportServiceRecordsResolver {
  @UseMiddleware(RequireTier('LEGITIMATE_INTEREST'))
  @FieldResolver(() => [ServiceRecordType], { description: 'Repairs of the unit, oldest first: the brand, authorities, recyclers and service partners.' })
  async serviceRecords(@Ctx() ctx: Context, @Root() p: PassportType): Promise<ServiceRecordType[]> {
    return (await serviceLoaders(ctx).serviceRecordsByPassport.load(p.id)).map(ServiceRecordType.from);
  }
}
