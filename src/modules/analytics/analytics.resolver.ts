import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { analyticsService } from './analytics.service.js';
import { AnalyticsFilter, ScanAnalytics } from './analytics.types.js';

@Resolver()
export class AnalyticsResolver {
  @Access('BRAND', 'REGULATOR', 'CUSTOMS', 'PLATFORM')
  @Query(() => ScanAnalytics, { description: 'Where counterfeits and diversion show up: scans and alerts of a brand (authorities: any or all) over a period.' })
  async scanAnalytics(@Ctx() ctx: Context, @Arg('filter', () => AnalyticsFilter) filter: AnalyticsFilter): Promise<ScanAnalytics> {
    return Object.assign(new ScanAnalytics(), await analyticsService.scanAnalytics(ctx.em, ctx.viewer, filter));
  }
}
