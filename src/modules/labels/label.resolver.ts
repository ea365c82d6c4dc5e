import { Ctx, Field, FieldResolver, ObjectType, Resolver, Root, UseMiddleware } from 'type-graphql';
import type { Context } from '../../context/request-context.js';
import { RequireTier } from '../passports/passport.access.js';
import { MintBatch, PassportType } from '../passports/passport.types.js';

@ObjectType({ description: "A batch's print files: GET them with the brand's API key (they hold claim codes; each download is audited)." })
export class BatchLabels {
  @Field(() => String, { description: 'One row per unit: gtin, serial, lot, EPC URI, Digital Link, claim code (units nobody owns yet).' })
  csvUrl!: string;

  @Field(() => String, { description: 'A PDF label sheet (QR by default; ?symbology=, ?layout=, ?ec=, ?claimCodes=1).' })
  pdfUrl!: string;
}

@Resolver(() => MintBatch)
export class BatchLabelsResolver {
  @FieldResolver(() => BatchLabels)
  labels(@Root() batch: MintBatch, @Ctx() ctx: Context): BatchLabels {
    const base = `${ctx.services.config.resolverHost}/labels/batches/${batch.id}`;
    return Object.assign(new BatchLabels(), { csvUrl: `${base}.csv`, pdfUrl: `${base}.pdf` });
  }
}

@Resolver(() => PassportType)
export class PassportLabelResolver {
  @UseMiddleware(RequireTier('BRAND'))
  @FieldResolver(() => String, { nullable: true, description: "The unit's QR code as SVG (the brand only); .png and ?symbology=datamatrix also exist." })
  labelUrl(@Root() p: PassportType, @Ctx() ctx: Context): string {
    return `${ctx.services.config.resolverHost}/labels/units/${p.id}.svg`;
  }
}
