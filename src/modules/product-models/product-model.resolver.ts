import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Access, ANYONE } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { publicDpp } from './product-model.dpp.js';
import { canSeeFullDpp, productModelService } from './product-model.service.js';
import { ProductModelInput, ProductModelType, ProductModelUpdateInput } from './product-model.types.js';

@Resolver(() => ProductModelType)
export class ProductModelResolver {
  @Access(ANYONE)
  @Query(() => ProductModelType, { nullable: true, description: 'The model of a GTIN (8, 12, 13 or 14 digits), or null when none is registered.' })
  async productModel(@Ctx() ctx: Context, @Arg('gtin', () => String) gtin: string): Promise<ProductModelType | null> {
    const model = await productModelService.get(ctx.em, gtin);
    return model ? ProductModelType.from(model) : null;
  }

  @Access('BRAND', 'SERVICE_PARTNER')
  @Mutation(() => ProductModelType, {
    description: "Registers a model for a GTIN under one of the calling brand's GS1 company prefixes; a service partner registers battery models only, under its own.",
  })
  async createProductModel(@Ctx() ctx: Context, @Arg('input', () => ProductModelInput) input: ProductModelInput): Promise<ProductModelType> {
    return ProductModelType.from(await productModelService.create(ctx.em, ctx.viewer, input));
  }

  @Access('BRAND', 'SERVICE_PARTNER')
  @Mutation(() => ProductModelType, { description: "Replaces parts of one of the caller's own models (its battery data); recorded in the audit log." })
  async updateProductModel(
    @Ctx() ctx: Context,
    @Arg('gtin', () => String) gtin: string,
    @Arg('input', () => ProductModelUpdateInput) input: ProductModelUpdateInput,
  ): Promise<ProductModelType> {
    return ProductModelType.from(await productModelService.update(ctx.em, ctx.viewer, gtin, input));
  }

  @FieldResolver(() => GraphQLJSON, {
    nullable: true,
    description: 'DPP data: in full for the owning brand, the platform, regulators, customs, recyclers and service partners; the public subset for everyone else.',
  })
  dpp(@Ctx() ctx: Context, @Root() model: ProductModelType): unknown {
    if (!model.fullDpp) return null;
    return canSeeFullDpp(ctx.viewer, model.brandId) ? model.fullDpp : publicDpp(model.fullDpp);
  }
}
