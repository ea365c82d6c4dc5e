import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { Access, OWNER } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { ownerDataService } from './owner-data.service.js';

/** The data subject's rights of a signed-in owner: export and erasure (README "Privacy"). */
@Resolver()
export class OwnerDataResolver {
  @Access(OWNER)
  @Query(() => GraphQLJSON, {
    description:
      "Everything held about the signed-in owner, as one JSON document: account, passkeys' public metadata, sessions, ownerships past and present, transfers, warranty claims with their texts, pending challenges, audit entries naming them.",
  })
  async myData(@Ctx() ctx: Context): Promise<unknown> {
    return ownerDataService.export(ctx.em, ctx.viewer);
  }

  @Access(OWNER)
  @Mutation(() => Boolean, {
    description:
      'Erases the signed-in account, with a fresh DELETE_ACCOUNT passkey assertion: passkeys, sessions and name deleted; current ownerships end (the units become unowned); warranty claims lose their free text. The history chain is unchanged (it never named the owner).',
  })
  async deleteMyAccount(@Ctx() ctx: Context, @Arg('assertion', () => GraphQLJSON) assertion: unknown): Promise<boolean> {
    return ownerDataService.erase(ctx, assertion);
  }
}
