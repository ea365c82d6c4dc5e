import { GraphQLJSON } from 'graphql-scalars';
import { filter as filterStream } from '@graphql-yoga/subscription';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { ForbiddenError, UnauthenticatedError } from '../../errors/app-error.js';
import type { AlertMessage } from './alert-bus.js';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { alertService, canSeeAlert } from './alert.service.js';
import { AlertFilter, FraudAlertConnection, FraudAlertType } from './alert.types.js';

@Resolver(() => FraudAlertType)
export class AlertResolver {
  @Access('BRAND', 'REGULATOR', 'CUSTOMS', 'PLATFORM')
  @Query(() => FraudAlertConnection, { description: 'Alerts oldest first; a reconnecting app catches up with `after` = its last cursor.' })
  async fraudAlerts(
    @Ctx() ctx: Context,
    @Arg('filter', () => AlertFilter, { nullable: true }) filter: AlertFilter | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<FraudAlertConnection> {
    const page = await alertService.list(ctx.em, ctx.viewer, filter ?? {}, first ?? 100, after);
    const edges = page.items.map((a) => ({ cursor: a.id, node: FraudAlertType.from(a) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Access('BRAND')
  @Mutation(() => FraudAlertType)
  async acknowledgeFraudAlert(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<FraudAlertType> {
    return FraudAlertType.from(await alertService.acknowledge(ctx.em, ctx.viewer, id));
  }

  @Access('BRAND', 'REGULATOR', 'CUSTOMS', 'PLATFORM')
  @Subscription(() => FraudAlertType, {
    name: 'fraudAlerts',
    description: 'Alerts as they are raised or grow, for the caller\'s own brand (authorities: all). Catch up with the fraudAlerts query.',
    subscribe: ({ context, args }) => {
      const ctx = context as Context;
      const viewer = ctx.viewer;
      // Refuse at subscribe time, not per event: a subscription that could never deliver is an error now.
      if (viewer.kind !== 'ORGANIZATION') throw new UnauthenticatedError();
      if (!['BRAND', 'REGULATOR', 'CUSTOMS', 'PLATFORM'].includes(viewer.orgKind)) throw new ForbiddenError();
      const f = (args as { filter?: AlertFilter | null }).filter ?? {};
      return filterStream((m: AlertMessage) => canSeeAlert(viewer, m) && matchesFilter(m, f))(ctx.services.alertBus.subscribe());
    },
  })
  fraudAlertsStream(@Root() m: AlertMessage, @Arg('filter', () => AlertFilter, { nullable: true }) _filter: AlertFilter | null): FraudAlertType {
    return FraudAlertType.fromMessage(m);
  }

  @FieldResolver(() => GraphQLJSON, { nullable: true, description: 'What fired, without personal data; shown to the brand and authorities only.' })
  evidence(@Ctx() ctx: Context, @Root() a: FraudAlertType): Record<string, unknown> | null {
    return canSeeAlert(ctx.viewer, a) ? a.evidenceData : null;
  }
}

function matchesFilter(m: AlertMessage, f: AlertFilter): boolean {
  return (!f.kind || f.kind === m.kind) && (!f.severity || f.severity === m.severity) && (!f.status || f.status === m.status) && (!f.gtin || m.gtin === f.gtin.trim().padStart(14, '0'));
}
