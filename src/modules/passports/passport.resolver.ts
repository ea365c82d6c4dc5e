import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import { Access, ANY_ORG, ANYONE } from '../../context/access.js';
import { verifyHistoryWithLog } from '../log/log-history.js';
import { mayReadAt, RequireTier, passportTier, tierAtLeast } from './passport.access.js';
import type { Context } from '../../context/request-context.js';
import { signingKeyService } from '../keys/signing-key.service.js';
import { ProductModelType } from '../product-models/product-model.types.js';
import { batteryLoaders } from '../batteries/battery.loaders.js';
import { publicBatteryPart } from '../batteries/battery-public.js';
import { passportCredential } from './credential.js';
import { secureAs } from './credential-securing.js';
import { untpPassportCredential } from './untp.js';
import { passportService } from './passport.service.js';
import { unitUris } from './unit-uris.js';
import {
  CredentialProfile,
  CredentialSecuring,
  LifecycleEventConnection,
  MintBatch,
  MintInput,
  PassportConnection,
  PassportFilter,
  PassportType,
  Signature,
  HistoryVerification,
  LifecycleEventType,
  SignInput,
  SignResult,
} from './passport.types.js';
import { productModelLoaders } from '../product-models/product-model.loaders.js';
import { passportLoaders } from './passport.loaders.js';
import { organizationLoaders } from '../organizations/organization.loaders.js';

@Resolver(() => PassportType)
export class PassportResolver {
  @Access('BRAND')
  @Mutation(() => MintBatch, { description: 'Mints up to 100,000 units in one transaction; idempotent by idempotencyKey. Claim codes are returned here and in the batch label files only (a large batch can skip `passports` and stream `labels.csvUrl`).' })
  async mintPassports(@Ctx() ctx: Context, @Arg('input', () => MintInput) input: MintInput): Promise<MintBatch> {
    const r = await passportService.mint(ctx, input);
    return Object.assign(new MintBatch(), { id: r.batchId, replayed: r.replayed, passports: r.passports });
  }

  @Access('BRAND')
  @Mutation(() => SignResult, { description: "Signs the brand's MINTED units (by batch or ids) with its ACTIVE key." })
  async signPassports(@Ctx() ctx: Context, @Arg('input', () => SignInput) input: SignInput): Promise<SignResult> {
    return Object.assign(new SignResult(), await passportService.sign(ctx, input));
  }

  @Access(ANYONE)
  @Query(() => PassportType, { nullable: true, description: 'Any caller; each field is shown or refused by the caller\'s tier.' })
  async passport(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<PassportType | null> {
    const p = await passportService.get(ctx.em, ctx.viewer, id);
    return p ? PassportType.from(p) : null;
  }

  @Access(ANYONE)
  @Query(() => PassportType, { nullable: true })
  async passportBySgtin(@Ctx() ctx: Context, @Arg('gtin', () => String) gtin: string, @Arg('serial', () => String) serial: string): Promise<PassportType | null> {
    const p = await passportService.getBySgtin(ctx.em, ctx.viewer, gtin, serial);
    return p ? PassportType.from(p) : null;
  }

  @Access(ANYONE)
  @Query(() => PassportType, { nullable: true, description: 'By GS1 Digital Link URI (with or without ?sig=) or EPC URI.' })
  async passportByDigitalLink(@Ctx() ctx: Context, @Arg('url', () => String) url: string): Promise<PassportType | null> {
    const p = await passportService.getByDigitalLink(ctx.em, ctx.viewer, url);
    return p ? PassportType.from(p) : null;
  }

  @Access('BRAND', 'SERVICE_PARTNER', 'PLATFORM', 'REGULATOR', 'CUSTOMS', 'RECYCLER')
  @Query(() => PassportConnection, {
    description: 'Brands list their own units, service partners the batteries they repurposed or remanufactured; authorities, recyclers and the platform list all.',
  })
  async passports(
    @Ctx() ctx: Context,
    @Arg('filter', () => PassportFilter, { nullable: true }) filter: PassportFilter | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<PassportConnection> {
    const page = await passportService.list(ctx.em, ctx.viewer, filter ?? {}, first ?? 50, after);
    const edges = page.items.map((p) => ({ cursor: page.cursorOf(p), node: PassportType.from(p) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @FieldResolver(() => String)
  async sgtinUri(@Ctx() ctx: Context, @Root() p: PassportType): Promise<string> {
    const brand = await organizationLoaders(ctx).organizationById.load(p.brandId);
    return unitUris(ctx.services.config, brand!, p.entity).sgtinUri;
  }

  @FieldResolver(() => String, { description: 'GS1 Digital Link; carries ?sig= once the unit is signed.' })
  async digitalLink(@Ctx() ctx: Context, @Root() p: PassportType): Promise<string> {
    const brand = await organizationLoaders(ctx).organizationById.load(p.brandId);
    return unitUris(ctx.services.config, brand!, p.entity).digitalLink;
  }

  @FieldResolver(() => Signature, { nullable: true })
  signature(@Root() p: PassportType): Signature | null {
    const { signature, kid } = p.entity;
    return signature && kid ? Object.assign(new Signature(), { kid, algorithm: 'Ed25519', value: signature }) : null;
  }

  @FieldResolver(() => ProductModelType)
  async model(@Ctx() ctx: Context, @Root() p: PassportType): Promise<ProductModelType> {
    const m = await productModelLoaders(ctx).productModelById.load(p.modelId);
    if (!m) throw new NotFoundError('ProductModel', p.modelId);
    return ProductModelType.from(m);
  }

  @Access(ANY_ORG)
  @Query(() => HistoryVerification, { description: 'Recomputes a passport\'s hash chain and reports the first broken link (owning brand and authorities).' })
  async verifyHistory(@Ctx() ctx: Context, @Arg('passportId', () => ID) passportId: string): Promise<HistoryVerification> {
    const p = await passportService.get(ctx.em, ctx.viewer, passportId);
    if (!p) throw new NotFoundError('Passport', passportId);
    if (!tierAtLeast(passportTier(ctx.viewer, p.brand.id), 'AUTHORITY')) throw new NotFoundError('Passport', passportId);
    return Object.assign(new HistoryVerification(), await verifyHistoryWithLog(ctx.em, ctx.services.logKey, passportId));
  }

  @UseMiddleware(RequireTier('AUTHORITY', { owner: true }))
  @FieldResolver(() => HistoryVerification, { description: 'The same check as verifyHistory, for this unit (also for its current owner).' })
  async historyVerification(@Ctx() ctx: Context, @Root() p: PassportType): Promise<HistoryVerification> {
    return Object.assign(new HistoryVerification(), await verifyHistoryWithLog(ctx.em, ctx.services.logKey, p.id));
  }

  @UseMiddleware(RequireTier('AUTHORITY', { owner: true }))
  @FieldResolver(() => LifecycleEventType, { nullable: true, description: 'The newest history event (the head of the chain).' })
  async lastEvent(@Ctx() ctx: Context, @Root() p: PassportType): Promise<LifecycleEventType | null> {
    return passportLoaders(ctx).lastEvent.load(p.id);
  }

  @UseMiddleware(RequireTier('AUTHORITY', { owner: true }))
  @FieldResolver(() => LifecycleEventConnection, { description: 'The hash-chained history, oldest first; `after` is a cursor from this connection. Also shown to the unit\'s current owner.' })
  async history(
    @Ctx() ctx: Context,
    @Root() p: PassportType,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<LifecycleEventConnection> {
    const size = first ?? 100;
    if (!Number.isInteger(size) || size < 1 || size > 1000) throw new BadInputError('first: 1 to 1000', { field: 'first' });
    const afterSeq = after == null ? 0 : Number(Buffer.from(after, 'base64url').toString('utf8').replace(/^seq:/, ''));
    if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new BadInputError('after: not a cursor from this history', { field: 'after' });
    const rows = await passportLoaders(ctx).historyPage.load({ passportId: p.id, afterSeq, first: size + 1 });
    const edges = rows.slice(0, size).map((node) => ({ cursor: Buffer.from(`seq:${node.seq}`).toString('base64url'), node }));
    return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @FieldResolver(() => GraphQLJSON, {
    nullable: true,
    description:
      'The unit as a W3C VC 2.0 signed by its brand: NATIVE (our terms; LEGITIMATE_INTEREST and up) or UNTP_DPP (a UN Transparency ' +
      'Protocol 0.6.0 DigitalProductPassport; anyone, with what their tier may see). Secured with an eddsa-jcs-2022 proof ' +
      '(DATA_INTEGRITY, the NATIVE default) or enveloped as a vc+jwt (JOSE, the UNTP_DPP default). Null until the unit is signed.',
  })
  async verifiableCredential(
    @Ctx() ctx: Context,
    @Root() p: PassportType,
    @Arg('profile', () => CredentialProfile, { defaultValue: CredentialProfile.NATIVE }) profile: CredentialProfile,
    @Arg('securing', () => CredentialSecuring, { nullable: true }) securing: CredentialSecuring | null,
  ): Promise<Record<string, unknown> | null> {
    const what = 'Passport.verifiableCredential';
    // UNTP: the public tier gets the public view; NATIVE stays where it was (LEGITIMATE_INTEREST and up).
    const full = await mayReadAt(ctx, p, 'LEGITIMATE_INTEREST', what);
    if (profile === CredentialProfile.NATIVE && !full) throw new ForbiddenError(`${what} (NATIVE) is not visible at the ${passportTier(ctx.viewer, p.brandId)} tier`);
    if (!p.entity.signature) return null;
    // The battery facts load beside brand and model, before the signer's own read, so a page batches them too.
    const [brand, model, facts] = await Promise.all([
      organizationLoaders(ctx).organizationById.load(p.brandId),
      productModelLoaders(ctx).productModelById.load(p.modelId),
      batteryLoaders(ctx).factsByPassport.load(p.id),
    ]);
    if (!brand || !model) return null;
    const signer = await signingKeyService.activeSigner(ctx.em.fork(), ctx.services, brand.id);
    const config = ctx.services.config;
    const battery = publicBatteryPart(facts, config.resolverHost);
    if (profile === CredentialProfile.NATIVE) {
      return secureAs(config, brand.id, signer, passportCredential(config, p.entity, model, brand, battery), securing ?? 'DATA_INTEGRITY');
    }
    return secureAs(config, brand.id, signer, untpPassportCredential(config, p.entity, model, brand, full ? 'full' : 'public', battery), securing ?? 'JOSE');
  }
}
