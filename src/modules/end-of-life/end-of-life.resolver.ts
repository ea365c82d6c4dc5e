import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, Field, ID, InputType, Mutation, registerEnumType, Resolver } from 'type-graphql';
import { Access, ANYONE } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { LifecycleEventType, PassportType } from '../passports/passport.types.js';
import { endOfLifeService, type RevocationReason as RevocationReasonValue } from './end-of-life.service.js';

// The feature's few GraphQL types sit beside its one resolver until it needs a .types.ts of its own.

export enum RevocationReason {
  STOLEN = 'STOLEN',
  RECALLED = 'RECALLED',
  COUNTERFEIT_SUSPECTED = 'COUNTERFEIT_SUSPECTED',
  OTHER = 'OTHER',
}
registerEnumType(RevocationReason, { name: 'RevocationReason', description: 'Why a brand revoked a unit.' });

@InputType()
export class TamperReportInput {
  @Field(() => ID) passportId!: string;
  @Field(() => String, { description: '1 to 2000 characters: what looks tampered with.' }) description!: string;
  @Field(() => String, { nullable: true, description: 'An https link to a photo or document.' }) evidenceUrl?: string | null;
}

@InputType()
export class RecyclingInput {
  @Field(() => ID) passportId!: string;
  @Field(() => String, { nullable: true, description: 'At most 200 characters.' }) facility?: string | null;
  @Field(() => GraphQLJSON, { nullable: true, description: '[{ material, massKg (>= 0), recoveryRate? (0..100) }], at most 100.' })
  recoveredMaterials?: unknown;
}

@Resolver()
export class EndOfLifeResolver {
  @Access(ANYONE)
  @Mutation(() => LifecycleEventType, { description: 'Reports a unit that looks tampered with; no account needed (anonymous callers are rate-limited).' })
  async reportTamper(@Ctx() ctx: Context, @Arg('input', () => TamperReportInput) input: TamperReportInput): Promise<LifecycleEventType> {
    const e = await endOfLifeService.reportTamper(ctx.em, ctx.viewer, input);
    return LifecycleEventType.from(e);
  }

  @Access('RECYCLER')
  @Mutation(() => PassportType, { description: 'Takes a unit out of use (END_OF_LIFE).' })
  async declareEndOfLife(@Ctx() ctx: Context, @Arg('passportId', () => ID) passportId: string, @Arg('reason', () => String) reason: string): Promise<PassportType> {
    return PassportType.from(await endOfLifeService.declareEndOfLife(ctx.em, ctx.viewer, passportId, reason));
  }

  @Access('RECYCLER')
  @Mutation(() => PassportType, { description: 'Records the recycling of an END_OF_LIFE unit with its material recovery data (RECYCLED, final).' })
  async recordRecycling(@Ctx() ctx: Context, @Arg('input', () => RecyclingInput) input: RecyclingInput): Promise<PassportType> {
    return PassportType.from(await endOfLifeService.recordRecycling(ctx.em, ctx.viewer, input));
  }

  @Access('BRAND')
  @Mutation(() => PassportType, { description: 'Revokes one of your units (stolen, recalled, suspected counterfeit): REVOKED, final.' })
  async revokePassport(
    @Ctx() ctx: Context,
    @Arg('passportId', () => ID) passportId: string,
    @Arg('reason', () => RevocationReason) reason: RevocationReasonValue,
    @Arg('note', () => String, { nullable: true, description: 'At most 500 characters; required for OTHER.' }) note: string | null,
  ): Promise<PassportType> {
    return PassportType.from(await endOfLifeService.revoke(ctx.em, ctx.viewer, passportId, reason, note));
  }
}
