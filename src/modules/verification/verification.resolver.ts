import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { Access, ANYONE } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { FraudAlertType } from '../alerts/alert.types.js';
import { unitUris } from '../passports/unit-uris.js';
import { ProductModelType } from '../product-models/product-model.types.js';
import { verificationService } from './verification.service.js';
import { PublicPassport, ScanInput, Verification } from './verification.types.js';

@Resolver()
export class VerificationResolver {
  @Access(ANYONE)
  @Mutation(() => Verification, { description: 'Verifies a scan in context and records it; anonymous callers are rate limited per client.' })
  async verifyScan(@Ctx() ctx: Context, @Arg('input', () => ScanInput) input: ScanInput): Promise<Verification> {
    const r = await verificationService.verifyScan(ctx, input);
    const passport =
      r.passport && r.model && r.brand
        ? Object.assign(new PublicPassport(), {
            gtin: r.passport.gtin,
            serial: r.passport.serial,
            lot: r.passport.lot ?? null,
            status: r.passport.status,
            digitalLink: unitUris(ctx.services.config, r.brand, r.passport).digitalLink,
            brandName: r.brand.name,
            model: ProductModelType.from(r.model),
          })
        : null;
    return Object.assign(new Verification(), { verdict: r.verdict, reasons: r.reasons, passport, alerts: r.alerts.map(FraudAlertType.fromMessage), scannedAt: r.scannedAt, rulesNotApplied: [...r.rulesNotApplied] });
  }
}
