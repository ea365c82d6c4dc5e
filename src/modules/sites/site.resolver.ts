import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { siteService } from './site.service.js';
import { ManufacturingSiteInput, ManufacturingSiteType } from './site.types.js';

/** A brand's manufacturing sites: registered once, named by mints. */
@Resolver(() => ManufacturingSiteType)
export class SiteResolver {
  @Access('BRAND')
  @Mutation(() => ManufacturingSiteType, {
    description: "Registers one of the calling brand's manufacturing sites, with its postal address (and GLN); CONFLICT when its identifier or GLN is taken.",
  })
  async registerManufacturingSite(@Ctx() ctx: Context, @Arg('input', () => ManufacturingSiteInput) input: ManufacturingSiteInput): Promise<ManufacturingSiteType> {
    return ManufacturingSiteType.from(await siteService.register(ctx, input));
  }

  @Access('BRAND')
  @Query(() => [ManufacturingSiteType], { description: "The calling brand's manufacturing sites, by identifier." })
  async manufacturingSites(@Ctx() ctx: Context): Promise<ManufacturingSiteType[]> {
    return (await siteService.list(ctx)).map(ManufacturingSiteType.from);
  }
}
