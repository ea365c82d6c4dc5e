import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { ForbiddenError } from '../../errors/app-error.js';
import { Access, ANY_ORG } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { Passport } from '../passports/passport.entity.js';
import { isCurrentOwner } from '../passports/passport.access.js';
import { LifecycleEventType, PassportType } from '../passports/passport.types.js';
import { AUDIENCE_POINTS, type BatteryAudience, filterBatteryPass } from './annex-xiii.js';
import { assembleBatteryPass } from './battery-pass.js';
import { batteryLoaders } from './battery.loaders.js';
import { batteryAudience } from './battery.access.js';
import { batteryService } from './battery.service.js';
import { BatteryConditionInput, BatteryStatusChange, RepurposeBatteryInput } from './battery.types.js';

/** The Art. 77(2) group of the caller for one unit (see annex-xiii.ts); an authority's read is audited. */
async function audienceOf(ctx: Context, p: PassportType, what: string): Promise<BatteryAudience> {
  const audience = await batteryAudience(ctx.viewer, p.brandId, () => isCurrentOwner(ctx, p.id));
  if (audience === 'AUTHORITY') await ctx.audit.recordRead(p.id, what);
  return audience;
}

async function passportById(ctx: Context, id: string | null): Promise<PassportType | null> {
  if (!id) return null;
  const p = await ctx.em.findOne(Passport, { id });
  return p ? PassportType.from(p) : null;
}

/** Battery passports: condition records, status changes, and `Passport.batteryPass` by access group. */
@Resolver(() => PassportType)
export class BatteryResolver {
  @Access(ANY_ORG)
  @Mutation(() => LifecycleEventType, {
    description: "Records a battery's condition (state of health, cycles, negative events…) as a BATTERY_CONDITION history event: its brand and the service partners it authorises.",
  })
  async recordBatteryCondition(@Ctx() ctx: Context, @Arg('input', () => BatteryConditionInput) input: BatteryConditionInput): Promise<LifecycleEventType> {
    return LifecycleEventType.from(await batteryService.recordCondition(ctx.em, ctx.viewer, input));
  }

  @Access(ANY_ORG)
  @Mutation(() => BatteryStatusChange, {
    description:
      "Changes a battery's status, by its operator or a service partner that operator authorises: REPURPOSED/REMANUFACTURED make a new passport under the caller " +
      '(its own battery model, GS1 prefix and signing key), linked both ways; REUSED keeps the passport; WASTE is end of life (recyclers).',
  })
  async repurposeBattery(@Ctx() ctx: Context, @Arg('input', () => RepurposeBatteryInput) input: RepurposeBatteryInput): Promise<BatteryStatusChange> {
    const r = await batteryService.changeStatus(ctx, input);
    const [original, successor] = await Promise.all([passportById(ctx, r.originalId), passportById(ctx, r.successorId)]);
    return Object.assign(new BatteryStatusChange(), { status: r.status, original: original!, successor });
  }

  @FieldResolver(() => GraphQLJSON, {
    nullable: true,
    description:
      'The EU battery passport (Battery Pass 1.2.0: one object per aspect), with what the caller\'s Annex XIII group may read: the public point 1; ' +
      'authorities (regulators, customs, the platform) points 1-3; recyclers and service partners points 1, 2 and 4; the current owner points 1 and 4; ' +
      'the battery\'s own operator everything. Null for a unit that is not a battery, and once the battery (or a battery later made from it) is recycled (Art. 77(8)).',
  })
  async batteryPass(@Ctx() ctx: Context, @Root() p: PassportType): Promise<Record<string, unknown> | null> {
    // Batched: a page of passports reads all their battery facts in one statement.
    const facts = await batteryLoaders(ctx).factsByPassport.load(p.id);
    if (!facts || facts.ceased) return null;
    const full = assembleBatteryPass(facts, ctx.services.config.resolverHost);
    const audience = await audienceOf(ctx, p, 'Passport.batteryPass');
    return audience === 'OPERATOR' ? full : filterBatteryPass(full, AUDIENCE_POINTS[audience]);
  }

  @FieldResolver(() => PassportType, {
    nullable: true,
    description: 'The battery this one was repurposed or remanufactured from (Art. 77(7)); for everyone but the public, who do not see the battery status either.',
  })
  async batteryPredecessor(@Ctx() ctx: Context, @Root() p: PassportType): Promise<PassportType | null> {
    return passportById(ctx, await this.link(ctx, p, 'predecessorId'));
  }

  @FieldResolver(() => PassportType, {
    nullable: true,
    description: 'The new battery made from this one by repurposing or remanufacturing, under its new operator; for everyone but the public.',
  })
  async batterySuccessor(@Ctx() ctx: Context, @Root() p: PassportType): Promise<PassportType | null> {
    return passportById(ctx, await this.link(ctx, p, 'successorId'));
  }

  private async link(ctx: Context, p: PassportType, which: 'predecessorId' | 'successorId'): Promise<string | null> {
    if ((await audienceOf(ctx, p, `Passport.battery${which === 'predecessorId' ? 'Predecessor' : 'Successor'}`)) === 'PUBLIC') {
      throw new ForbiddenError('Battery links are not public');
    }
    return (await batteryLoaders(ctx).factsByPassport.load(p.id))?.[which] ?? null;
  }
}
