import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import type { AppendedEvent } from '../history/history.service.js';
import { RequireTier, passportTier, tierAtLeast } from '../passports/passport.access.js';
import { LifecycleEventType, PassportType } from '../passports/passport.types.js';
import { type EventMember, exportPassport } from './custody-export.js';
import { custodyService } from './custody.service.js';
import { CaptureResult, CustodyEventInput } from './custody.types.js';
import { custodyLoaders } from './custody.loaders.js';

const eventType = (e: AppendedEvent): LifecycleEventType => LifecycleEventType.from(e);

@Resolver()
export class CustodyResolver {
  @Access('RETAILER', 'DISTRIBUTOR', 'BRAND')
  @Mutation(() => LifecycleEventType, {
    description: 'Records one custody event (EPCIS ObjectEvent) for every listed passport, all or nothing; answers the first passport\'s event.',
  })
  async recordCustodyEvent(@Ctx() ctx: Context, @Arg('input', () => CustodyEventInput) input: CustodyEventInput): Promise<LifecycleEventType> {
    return eventType(await custodyService.record(ctx.em, ctx.viewer, input));
  }

  @Access('RETAILER', 'DISTRIBUTOR', 'BRAND')
  @Mutation(() => CaptureResult, {
    description: 'Captures an EPCIS 2.0 JSON/JSON-LD document of ObjectEvents, all or nothing; idempotent by key and by eventID.',
  })
  async captureEpcisDocument(
    @Ctx() ctx: Context,
    @Arg('document', () => GraphQLJSON) document: unknown,
    @Arg('idempotencyKey', () => String, { nullable: true }) idempotencyKey: string | null,
  ): Promise<CaptureResult> {
    return Object.assign(new CaptureResult(), await custodyService.capture(ctx.em, ctx.viewer, document, idempotencyKey));
  }
}

@Resolver(() => PassportType)
export class CustodyFieldResolver {
  // AUTHORITY tier: the owning brand, regulators, customs and the platform (authority reads are audited).
  @UseMiddleware(RequireTier('AUTHORITY'))
  @FieldResolver(() => GraphQLJSON, {
    nullable: true,
    description: "The unit's custody history as an EPCIS 2.0 JSON-LD document (owning brand, regulators, customs, platform).",
  })
  async epcis(@Root() p: PassportType, @Ctx() ctx: Context): Promise<Record<string, unknown>> {
    return (await epcisDocumentFor(ctx, p)) as unknown as Record<string, unknown>;
  }
}

/** A unit's EPCIS export as this caller may see it: the EPCIS field and the UNTP traceability credential both read it. */
export async function epcisDocumentFor(ctx: Context, p: PassportType) {
  const events = await custodyLoaders(ctx).custodyEventsByPassport.load(p.id);
  const ids = [...new Set(events.map((e) => e.payload.eventID).filter((id): id is string => typeof id === 'string'))];
  const members = new Map<string, readonly EventMember[]>();
  (await custodyLoaders(ctx).custodyEventMembers.loadMany(ids)).forEach((m, i) => {
    if (m instanceof Error) throw m;
    members.set(ids[i]!, m);
  });
  // Other units an event names are shown only where the caller could read their own EPCIS export.
  const canSee = (brandId: string) => tierAtLeast(passportTier(ctx.viewer, brandId), 'AUTHORITY');
  return exportPassport(p, events, ctx.services.config.resolverHost, (id) => members.get(id), canSee);
}
