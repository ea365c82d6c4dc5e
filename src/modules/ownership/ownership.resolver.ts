import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { rawQuery } from '../../db/raw.js';
import { ForbiddenError } from '../../errors/app-error.js';
import { Access, ANYONE, OWNER } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { Viewer } from '../organizations/organization.types.js';
import { passportTier, tierAtLeast } from '../passports/passport.access.js';
import { Passport } from '../passports/passport.entity.js';
import { PassportType } from '../passports/passport.types.js';
import { warrantyService } from '../warranty/warranty.service.js';
import { WarrantyClaimType } from '../warranty/warranty.types.js';
import type { AssertionPurpose as AssertionPurposeValue } from './owner.entity.js';
import { ownerSessionService } from './owner-session.service.js';
import { ownershipService, requireOwner } from './ownership.service.js';
import { AssertionPurpose, Ownership, OwnerSession, OwnerType, PasskeyChallenge, PasskeyType, TransferOffer } from './ownership.types.js';
import { passkeyService } from './passkey.service.js';
import { ownershipLoaders } from './ownership.loaders.js';

async function passportsByIds(ctx: Context, ids: string[]): Promise<PassportType[]> {
  if (ids.length === 0) return [];
  const rows = await ctx.em.find(Passport, { id: { $in: ids } });
  const byId = new Map(rows.map((p) => [p.id, p]));
  return ids.flatMap((id) => (byId.has(id) ? [PassportType.from(byId.get(id)!)] : []));
}

/** Passkeys: registration, sign-in and the owner's list. */
@Resolver()
export class PasskeyResolver {
  @Access(ANYONE)
  @Mutation(() => PasskeyChallenge, {
    description:
      'Starts a passkey registration. Anonymous: a new owner account named `displayName`. With a recent owner session: adds a passkey to that account, `displayName` naming the passkey.',
  })
  async beginPasskeyRegistration(@Ctx() ctx: Context, @Arg('displayName', () => String) displayName: string): Promise<PasskeyChallenge> {
    return Object.assign(new PasskeyChallenge(), await passkeyService.beginRegistration(ctx, displayName));
  }

  @Access(ANYONE)
  @Mutation(() => OwnerSession, { description: 'Finishes a registration with the JSON of the WebAuthn registration response (`PublicKeyCredential.toJSON()`); answers an owner session.' })
  async finishPasskeyRegistration(
    @Ctx() ctx: Context,
    @Arg('sessionId', () => ID) sessionId: string,
    @Arg('response', () => GraphQLJSON) response: unknown,
  ): Promise<OwnerSession> {
    return Object.assign(new OwnerSession(), await passkeyService.finishRegistration(ctx, sessionId, response));
  }

  @Access(ANYONE)
  @Mutation(() => PasskeyChallenge, {
    description:
      'A challenge for a passkey assertion bound to `purpose`. SIGN_IN: anyone, no passportId (finish with finishPasskeyAuthentication). Every other purpose: an owner session and the unit concerned.',
  })
  async beginPasskeyAuthentication(
    @Ctx() ctx: Context,
    @Arg('purpose', () => AssertionPurpose) purpose: AssertionPurposeValue,
    @Arg('passportId', () => ID, { nullable: true }) passportId: string | null,
  ): Promise<PasskeyChallenge> {
    return Object.assign(new PasskeyChallenge(), await passkeyService.beginAuthentication(ctx, purpose, passportId));
  }

  @Access(ANYONE)
  @Mutation(() => OwnerSession, { description: 'Signs in: the JSON of the WebAuthn authentication response to a SIGN_IN challenge; answers a new owner session.' })
  async finishPasskeyAuthentication(
    @Ctx() ctx: Context,
    @Arg('sessionId', () => ID) sessionId: string,
    @Arg('assertion', () => GraphQLJSON) assertion: unknown,
  ): Promise<OwnerSession> {
    return Object.assign(new OwnerSession(), await passkeyService.finishAuthentication(ctx, sessionId, assertion));
  }

  @Access(OWNER)
  @Mutation(() => Boolean, { description: 'Ends the calling owner session at once.' })
  async signOut(@Ctx() ctx: Context): Promise<boolean> {
    await ownerSessionService.signOut(ctx.em, ctx.viewer);
    return true;
  }

  @Access(OWNER)
  @Query(() => [PasskeyType], { description: "The signed-in owner's passkeys." })
  async passkeys(@Ctx() ctx: Context): Promise<PasskeyType[]> {
    return (await passkeyService.list(ctx.em, requireOwner(ctx.viewer))).map(PasskeyType.from);
  }

  @Access(OWNER)
  @Mutation(() => [PasskeyType], { description: 'Removes one of your passkeys (never the last one; needs a sign-in within the last 10 minutes). Answers the ones left.' })
  async removePasskey(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<PasskeyType[]> {
    return (await passkeyService.remove(ctx.em, requireOwner(ctx.viewer), id)).map(PasskeyType.from);
  }
}

/** Claims and transfers, and the owner's passports. */
@Resolver()
export class OwnershipResolver {
  @Access(OWNER)
  @Mutation(() => Ownership, { description: 'First ownership of a SOLD unit: the claim code from the packaging and a CLAIM_OWNERSHIP assertion for the unit.' })
  async claimOwnership(
    @Ctx() ctx: Context,
    @Arg('passportId', () => ID) passportId: string,
    @Arg('claimCode', () => String) claimCode: string,
    @Arg('assertion', () => GraphQLJSON) assertion: unknown,
  ): Promise<Ownership> {
    return Ownership.from(await ownershipService.claim(ctx, passportId, claimCode, assertion), true);
  }

  @Access(OWNER)
  @Mutation(() => TransferOffer, { description: "The owner offers the unit (OFFER_TRANSFER assertion for it): a one-time code for the recipient. Replaces the unit's open offer." })
  async offerOwnershipTransfer(@Ctx() ctx: Context, @Arg('passportId', () => ID) passportId: string, @Arg('assertion', () => GraphQLJSON) assertion: unknown): Promise<TransferOffer> {
    return Object.assign(new TransferOffer(), await ownershipService.offer(ctx, passportId, assertion));
  }

  @Access(OWNER)
  @Mutation(() => Boolean, { description: "The owner withdraws the unit's open transfer offer; its code stops working. NOT_FOUND when none is open." })
  async cancelOwnershipTransfer(@Ctx() ctx: Context, @Arg('passportId', () => ID) passportId: string): Promise<boolean> {
    await ownershipService.cancel(ctx.em, ctx.viewer, passportId);
    return true;
  }

  @Access(OWNER)
  @Mutation(() => Ownership, { description: "The recipient takes the unit: the offer's one-time code and an ACCEPT_TRANSFER assertion for the unit. Of concurrent accepts exactly one succeeds." })
  async acceptOwnershipTransfer(@Ctx() ctx: Context, @Arg('code', () => String) code: string, @Arg('assertion', () => GraphQLJSON) assertion: unknown): Promise<Ownership> {
    return Ownership.from(await ownershipService.accept(ctx, code, assertion), true);
  }

  @Access(OWNER)
  @Query(() => [PassportType], { description: 'The units the signed-in owner owns now, most recently acquired first.' })
  async myPassports(@Ctx() ctx: Context): Promise<PassportType[]> {
    return passportsByIds(ctx, await ownershipService.currentPassportIds(ctx.em, ctx.viewer));
  }
}

/** `Passport.currentOwnership`: that a unit is owned and since when; by whom only for the owner and the brand. */
@Resolver(() => PassportType)
export class PassportOwnershipResolver {
  @FieldResolver(() => Ownership, {
    nullable: true,
    description: 'The current ownership (null when unowned). The owner and the brand see `ownerId`; authorities see only that and since when. Others: FORBIDDEN.',
  })
  async currentOwnership(@Ctx() ctx: Context, @Root() p: PassportType): Promise<Ownership | null> {
    const ownership = await ownershipLoaders(ctx).currentOwnershipByPassport.load(p.id);
    const tier = passportTier(ctx.viewer, p.brandId);
    if (tier === 'BRAND') return ownership ? Ownership.from(ownership, true) : null;
    if (ctx.viewer.kind === 'OWNER' && ownership?.ownerId === ctx.viewer.ownerId) return Ownership.from(ownership, true);
    if (tierAtLeast(tier, 'AUTHORITY')) {
      await ctx.audit.recordRead(p.id, 'Passport.currentOwnership');
      return ownership ? Ownership.from(ownership, false) : null;
    }
    throw new ForbiddenError('Passport.currentOwnership is shown to the owner, the brand and authorities');
  }
}

/** `me.owner` and what an owner sees of their own account. */
@Resolver(() => OwnerType)
export class OwnerResolver {
  @FieldResolver(() => [PasskeyType])
  async passkeys(@Ctx() ctx: Context, @Root() o: OwnerType): Promise<PasskeyType[]> {
    return (await passkeyService.list(ctx.em, ownSelf(ctx, o))).map(PasskeyType.from);
  }

  @FieldResolver(() => [PassportType], { description: 'The units owned now.' })
  async passports(@Ctx() ctx: Context, @Root() o: OwnerType): Promise<PassportType[]> {
    ownSelf(ctx, o);
    return passportsByIds(ctx, await ownershipService.currentPassportIds(ctx.em, ctx.viewer));
  }

  @FieldResolver(() => [Ownership], { description: 'Every ownership, current and former (with `until`), newest first.' })
  async ownerships(@Ctx() ctx: Context, @Root() o: OwnerType): Promise<Ownership[]> {
    return (await ownershipService.ownershipsOf(ctx.em, ownSelf(ctx, o).ownerId)).map((r) => Ownership.from(r, true));
  }

  @FieldResolver(() => [WarrantyClaimType], { description: 'The claims this owner filed, newest first.' })
  async warrantyClaims(@Ctx() ctx: Context, @Root() o: OwnerType): Promise<WarrantyClaimType[]> {
    return (await warrantyService.ofClaimant(ctx.em, ownSelf(ctx, o).ownerId)).map(WarrantyClaimType.from);
  }
}

@Resolver(() => Viewer)
export class ViewerOwnerResolver {
  @FieldResolver(() => OwnerType, { nullable: true, description: 'The signed-in owner (owner sessions only).' })
  async owner(@Ctx() ctx: Context, @Root() v: Viewer): Promise<OwnerType | null> {
    if (!v.ownerId || ctx.viewer.kind !== 'OWNER' || ctx.viewer.ownerId !== v.ownerId) return null;
    const [row] = await rawQuery<{ id: string; display_name: string; created_at: string | Date }>(ctx.em, `select id, display_name, created_at from owner where id = $1`, [v.ownerId]);
    return row ? Object.assign(new OwnerType(), { id: row.id, displayName: row.display_name, createdAt: new Date(row.created_at) }) : null;
  }
}

function ownSelf(ctx: Context, o: OwnerType) {
  const viewer = requireOwner(ctx.viewer);
  if (viewer.ownerId !== o.id) throw new ForbiddenError();
  return viewer;
}
