import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { Access, ANYONE } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { ForbiddenError } from '../../errors/app-error.js';
import { mayReadEvent } from './log.access.js';
import { LifecycleEventType } from '../passports/passport.types.js';
import { InclusionProofType, LogCheckpointType } from './log.types.js';
import { logService } from './log.service.js';

@Resolver(() => LifecycleEventType)
export class LogResolver {
  @Access(ANYONE)
  @Query(() => LogCheckpointType, { description: 'The newest signed checkpoint of the transparency log (also GET /log/checkpoint).' })
  async logCheckpoint(@Ctx() ctx: Context): Promise<LogCheckpointType> {
    const c = await logService.checkpoint(ctx.em);
    const key = ctx.services.logKey;
    return Object.assign(new LogCheckpointType(), {
      origin: key.origin,
      treeSize: c.treeSize,
      rootHash: c.rootHash.toString('base64'),
      note: c.note,
      verifierKey: key.verifierKey,
      createdAt: c.createdAt,
    });
  }

  @Access(ANYONE)
  @Query(() => [String], {
    description: 'RFC 9162 consistency proof (base64) that the tree of `to` leaves extends the tree of `from` leaves; both at most the newest checkpoint\'s size.',
  })
  async logConsistencyProof(@Ctx() ctx: Context, @Arg('from', () => Int) from: number, @Arg('to', () => Int) to: number): Promise<string[]> {
    return logService.consistencyProofFor(ctx.em, from, to);
  }

  @FieldResolver(() => InclusionProofType, {
    nullable: true,
    description:
      'Where this event is in the transparency log: an RFC 9162 inclusion proof into the tree of `treeSize` leaves (default: the newest ' +
      'checkpoint). Null while the event is not in that tree yet. For whoever may read this unit\'s history.',
  })
  async inclusionProof(@Ctx() ctx: Context, @Root() e: LifecycleEventType, @Arg('treeSize', () => Int, { nullable: true }) treeSize: number | null): Promise<InclusionProofType | null> {
    if (!(await mayReadEvent(ctx, e.passportId, 'LifecycleEvent.inclusionProof'))) throw new ForbiddenError('LifecycleEvent.inclusionProof is not visible to this caller');
    const proof = await logService.inclusionProofFor(ctx.em, e.id, treeSize);
    return proof ? Object.assign(new InclusionProofType(), proof) : null;
  }
}
