import { Arg, Ctx, ID, Resolver, Root, Subscription } from 'type-graphql';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../../errors/app-error.js';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import type { PassportEventNotice } from '../alerts/alert-bus.js';
import { isAuditedRead, passportTier, tierAtLeast } from '../passports/passport.access.js';
import { LifecycleEventType } from '../passports/passport.types.js';

type EventRow = {
  id: string;
  passport_id: string;
  seq: number;
  type: string;
  occurred_at: string;
  recorded_at: string;
  actor_id: string | null;
  payload: Record<string, unknown>;
  prev_hash: string | null;
  hash: string;
};

/** The organisation kinds that can reach the AUTHORITY tier on some unit: its operator (brand or service partner), and the authorities. */
const HISTORY_READERS = ['BRAND', 'SERVICE_PARTNER', 'REGULATOR', 'CUSTOMS', 'PLATFORM'] as const;

@Resolver()
export class HistoryResolver {
  @Access(...HISTORY_READERS)
  @Subscription(() => LifecycleEventType, {
    name: 'passportEvents',
    description:
      "Every history event appended to one unit from now on, after it commits (custody, sale, signing, service, end of life, …), for whoever may read that unit's history: " +
      'its operator (the brand, or the service partner whose repurposed battery it is), regulators, customs and the platform. Catch up with Passport.history. At least once: an event may repeat after a restart (same id and seq).',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const viewer = ctx.viewer;
      // Checked once, at subscribe time: a refusal is an error now, not a subscription that never delivers.
      if (viewer.kind !== 'ORGANIZATION') throw new UnauthenticatedError();
      const passportId = (args as { passportId: string }).passportId;
      const [unit] = isUuid(passportId) ? await rawQuery<{ brand_id: string }>(ctx.em, 'select brand_id from passport where id = $1', [passportId]) : [];
      if (!unit) throw new NotFoundError('Passport', passportId);
      // The same tier the history field needs (passport.access.ts): another brand or a retailer is refused.
      const tier = passportTier(viewer, unit.brand_id);
      if (!tierAtLeast(tier, 'AUTHORITY')) throw new ForbiddenError(`This unit's history is not visible at the ${tier} tier`);
      if (isAuditedRead(viewer, tier, 'AUTHORITY')) await ctx.audit.recordRead(passportId, 'Subscription.passportEvents');
      return ctx.services.alertBus.subscribePassportEvents(passportId);
    },
  })
  async passportEvents(@Root() n: PassportEventNotice, @Ctx() ctx: Context, @Arg('passportId', () => ID) _passportId: string): Promise<LifecycleEventType> {
    // The bus carries ids; the event is read here, on a fresh fork per event, only where someone listens.
    const [e] = await rawQuery<EventRow>(
      ctx.em.fork(),
      `select id, passport_id, seq, type, occurred_at::text, recorded_at::text, actor_id, payload, prev_hash, hash
       from lifecycle_event where id = $1 and passport_id = $2`,
      [n.eventId, n.passportId],
    );
    if (!e) throw new NotFoundError('LifecycleEvent', n.eventId);
    return LifecycleEventType.from({
      id: e.id,
      passportId: e.passport_id,
      seq: e.seq,
      type: e.type,
      occurredAt: new Date(e.occurred_at),
      recordedAt: new Date(e.recorded_at),
      actorId: e.actor_id,
      payload: e.payload,
      prevHash: e.prev_hash,
      hash: e.hash,
    });
  }
}
