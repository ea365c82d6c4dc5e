import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, Resolver, Root, UseMiddleware } from 'type-graphql';
import type { Context } from '../../context/request-context.js';
import { signingKeyService } from '../keys/signing-key.service.js';
import { secureAs } from '../passports/credential-securing.js';
import { RequireTier } from '../passports/passport.access.js';
import { CredentialSecuring, PassportType } from '../passports/passport.types.js';
import { epcisDocumentFor } from './custody.resolver.js';
import { untpTraceabilityCredential } from './untp-dte.js';
import { productModelLoaders } from '../product-models/product-model.loaders.js';
import { organizationLoaders } from '../organizations/organization.loaders.js';

@Resolver(() => PassportType)
export class TraceabilityResolver {
  // The tier that sees custody (the EPCIS export): the owning brand, regulators, customs, the platform; audited.
  @UseMiddleware(RequireTier('AUTHORITY'))
  @FieldResolver(() => GraphQLJSON, {
    nullable: true,
    description:
      "The unit's custody as a UNTP 0.6.0 DigitalTraceabilityEvent credential signed by its brand, enveloped as a vc+jwt " +
      '(JOSE, the default) or with an eddsa-jcs-2022 proof. Null until the unit is signed.',
  })
  async traceabilityCredential(
    @Root() p: PassportType,
    @Ctx() ctx: Context,
    @Arg('securing', () => CredentialSecuring, { nullable: true }) securing: CredentialSecuring | null,
  ): Promise<Record<string, unknown> | null> {
    if (!p.entity.signature) return null;
    const [brand, model, epcis] = await Promise.all([
      organizationLoaders(ctx).organizationById.load(p.brandId),
      productModelLoaders(ctx).productModelById.load(p.modelId),
      epcisDocumentFor(ctx, p),
    ]);
    if (!brand || !model) return null;
    const config = ctx.services.config;
    // Units as the export names them (canonical GS1 Digital Link URIs, resolvable here).
    const item = (epc: string) => ({ id: epc, name: model.name });
    const signer = await signingKeyService.activeSigner(ctx.em.fork(), ctx.services, brand.id);
    return secureAs(config, brand.id, signer, untpTraceabilityCredential(config, brand, epcis as unknown as Record<string, unknown>, item), securing ?? 'JOSE');
  }
}
