import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ForbiddenError } from '../../errors/app-error.js';
import { Access, OWNER } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { requireOwner } from '../ownership/ownership.service.js';
import { passportTier } from '../passports/passport.access.js';
import { PassportType } from '../passports/passport.types.js';
import { warrantyService } from './warranty.service.js';
import { WarrantyClaimConnection, WarrantyClaimFilter, WarrantyClaimInput, WarrantyClaimType, WarrantyDecision, type WarrantyDecisionValue } from './warranty.types.js';
import { ownershipLoaders } from '../ownership/ownership.loaders.js';

@Resolver(() => WarrantyClaimType)
export class WarrantyResolver {
  @Access(OWNER)
  @Mutation(() => WarrantyClaimType, { description: "The unit's current owner files a claim with a WARRANTY_CLAIM assertion for the unit; answers it with its fraud assessment. One OPEN claim per unit and issue: another is CONFLICT (OPEN_CLAIM_EXISTS, with the open claim's claimId)." })
  async fileWarrantyClaim(
    @Ctx() ctx: Context,
    @Arg('input', () => WarrantyClaimInput) input: WarrantyClaimInput,
    @Arg('assertion', () => GraphQLJSON) assertion: unknown,
  ): Promise<WarrantyClaimType> {
    return WarrantyClaimType.from(await warrantyService.file(ctx, input, assertion));
  }

  @Access('BRAND')
  @Query(() => WarrantyClaimConnection, { description: "Claims on the calling brand's units, oldest first; `after` is the last cursor seen." })
  async warrantyClaims(
    @Ctx() ctx: Context,
    @Arg('filter', () => WarrantyClaimFilter, { nullable: true }) filter: WarrantyClaimFilter | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<WarrantyClaimConnection> {
    const page = await warrantyService.list(ctx.em, ctx.viewer, filter ?? {}, first ?? 50, after);
    const edges = page.items.map((c) => ({ cursor: c.id, node: WarrantyClaimType.from(c) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Access('BRAND')
  @Mutation(() => WarrantyClaimType, { description: 'The brand approves or rejects an OPEN claim on its unit, once.' })
  async decideWarrantyClaim(
    @Ctx() ctx: Context,
    @Arg('id', () => ID) id: string,
    @Arg('decision', () => WarrantyDecision) decision: WarrantyDecisionValue,
    @Arg('note', () => String, { nullable: true }) note: string | null,
  ): Promise<WarrantyClaimType> {
    return WarrantyClaimType.from(await warrantyService.decide(ctx.em, ctx.viewer, id, decision, note));
  }

  @Access(OWNER)
  @Query(() => [WarrantyClaimType], { description: 'The claims the signed-in owner filed, newest first.' })
  async myWarrantyClaims(@Ctx() ctx: Context): Promise<WarrantyClaimType[]> {
    return (await warrantyService.ofClaimant(ctx.em, requireOwner(ctx.viewer).ownerId)).map(WarrantyClaimType.from);
  }

  @FieldResolver(() => GraphQLJSON, { nullable: true, description: "Each signal with its weight and facts: the unit's brand only." })
  signals(@Ctx() ctx: Context, @Root() c: WarrantyClaimType): unknown {
    return ctx.viewer.kind === 'ORGANIZATION' && ctx.viewer.orgKind === 'BRAND' && ctx.viewer.organizationId === c.record.brandId ? c.record.signals : null;
  }
}

/** `Passport.warrantyClaims`: every claim for the brand; the current owner's own claims for the owner. */
@Resolver(() => PassportType)
export class PassportWarrantyClaimsResolver {
  @FieldResolver(() => [WarrantyClaimType], { description: "Warranty claims on the unit, oldest first: all of them for its brand, the caller's own for its current owner; FORBIDDEN for anyone else." })
  async warrantyClaims(@Ctx() ctx: Context, @Root() p: PassportType): Promise<WarrantyClaimType[]> {
    if (passportTier(ctx.viewer, p.brandId) === 'BRAND') return (await ownershipLoaders(ctx).warrantyClaimsByPassport.load(p.id)).map(WarrantyClaimType.from);
    const viewer = ctx.viewer;
    if (viewer.kind === 'OWNER' && (await ownershipLoaders(ctx).currentOwnershipByPassport.load(p.id))?.ownerId === viewer.ownerId) {
      const claims = await ownershipLoaders(ctx).warrantyClaimsByPassport.load(p.id);
      return claims.filter((c) => c.claimantId === viewer.ownerId).map(WarrantyClaimType.from);
    }
    throw new ForbiddenError('Passport.warrantyClaims is shown to the brand and the current owner');
  }
}
