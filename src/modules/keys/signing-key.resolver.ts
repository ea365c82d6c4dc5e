import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { signingKeyService } from './signing-key.service.js';
import { SigningKeyType } from './signing-key.types.js';

@Resolver(() => SigningKeyType)
export class SigningKeyResolver {
  @Access('BRAND', 'SERVICE_PARTNER', 'PLATFORM', 'REGULATOR', 'CUSTOMS')
  @Query(() => [SigningKeyType], { description: 'A brand or service partner sees its own keys; the platform, regulators and customs see everyone\'s. Newest first.' })
  async signingKeys(@Ctx() ctx: Context): Promise<SigningKeyType[]> {
    return (await signingKeyService.list(ctx.em, ctx.viewer)).map(SigningKeyType.from);
  }

  @Access('BRAND', 'SERVICE_PARTNER')
  @Mutation(() => SigningKeyType, {
    description: "Retires the caller's ACTIVE key (it keeps verifying) and returns the new ACTIVE key; a service partner's first call creates its first key.",
  })
  async rotateSigningKey(@Ctx() ctx: Context): Promise<SigningKeyType> {
    return SigningKeyType.from(await signingKeyService.rotate(ctx));
  }

  @Access('BRAND', 'SERVICE_PARTNER')
  @Mutation(() => SigningKeyType, {
    description: 'Revokes one of the caller\'s keys: everything it signed fails verification from now on. Idempotent; reason 1 to 500 characters.',
  })
  async revokeSigningKey(
    @Ctx() ctx: Context,
    @Arg('kid', () => ID) kid: string,
    @Arg('reason', () => String) reason: string,
  ): Promise<SigningKeyType> {
    return SigningKeyType.from(await signingKeyService.revoke(ctx.em, ctx.viewer, kid, reason, ctx.services.keyStore));
  }
}
