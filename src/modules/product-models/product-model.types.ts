import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BatteryModelInput } from '../batteries/battery.types.js';
import type { Dpp } from './product-model.dpp.js';
import { MODEL_SCAN_RECORDINGS, type ProductModelView } from './product-model.entity.js';

export const ScanRecording = Object.fromEntries(MODEL_SCAN_RECORDINGS.map((v) => [v, v])) as { [K in (typeof MODEL_SCAN_RECORDINGS)[number]]: K };
registerEnumType(ScanRecording, {
  name: 'ScanRecording',
  description: 'What a scan of the model\'s units keeps (README "Privacy").',
  valuesConfig: {
    STANDARD: { description: 'Coordinates rounded to 0.1° (about 10 km; more only if the model asks), country, and keyed hashes of client and device under a key that rotates monthly.' },
    MINIMAL: { description: 'Only that a unit was verified, when, and the verdict: no place, country, device or client. IMPOSSIBLE_TRAVEL and GREY_MARKET are not applied; UNKNOWN_SERIAL never escalates.' },
  },
});

@ObjectType('ProductLink', { description: "A page the brand publishes for one GS1 link type of the model; the Digital Link resolver redirects `?linkType=` to it (307)." })
export class ProductLinkType {
  @Field(() => String, { description: 'A GS1 Web Vocabulary link type as a CURIE, e.g. gs1:pip.' }) linkType!: string;
  @Field(() => String, { description: 'https URL of the page.' }) href!: string;
  @Field(() => String) title!: string;
  @Field(() => String, { nullable: true, description: 'Language of the page (en, en-GB).' }) lang?: string | null;
}

@InputType('ProductLinkInput', { description: 'A page for one GS1 link type: linkType (gs1:pip, gs1:instructions, …; not gs1:defaultLink or gs1:verificationService, which this resolver answers), an https href, a title, an optional language.' })
export class ProductLinkInput {
  @Field(() => String) linkType!: string;
  @Field(() => String) href!: string;
  @Field(() => String) title!: string;
  @Field(() => String, { nullable: true }) lang?: string | null;
}

@ObjectType('ProductModel', { description: 'A product model: one GTIN of one brand, with its digital product passport (DPP) data.' })
export class ProductModelType {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'GTIN-14 (GTIN-8/12/13 are stored zero-padded).' }) gtin!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) category?: string | null;
  @Field(() => Int, { nullable: true }) warrantyMonths?: number | null;
  @Field(() => [String], { description: 'ISO 3166-1 alpha-2 countries where units may be sold; empty means no model-level restriction.' })
  authorisedMarkets!: string[];
  @Field(() => Int, { nullable: true, description: 'Lifetime scans of one unit above which a SCAN_COUNT alert fires.' })
  maxLifetimeScans?: number | null;
  @Field(() => ScanRecording) scanRecording!: string;
  @Field(() => Int, { nullable: true, description: 'Decimal places of latitude and longitude a stored scan keeps; null: 1 (0.1°, about 10 km).' })
  scanLocationDecimals?: number | null;
  @Field(() => [ProductLinkType], { description: 'Pages the brand publishes per GS1 link type (public: they are in the resolver\'s linkset).' })
  links!: ProductLinkType[];
  @Field(() => ID) brandId!: string;
  @Field(() => Date) createdAt!: Date;
  /** The full DPP; exposed only through the `dpp` field resolver, which decides the tier. */
  fullDpp!: Dpp | null;

  /** From the entity, or any row with the same fields (the scan path reads plain rows). */
  static from(m: ProductModelView): ProductModelType {
    return Object.assign(new ProductModelType(), {
      id: m.id,
      gtin: m.gtin,
      name: m.name,
      category: m.category ?? null,
      warrantyMonths: m.warrantyMonths ?? null,
      authorisedMarkets: m.authorisedMarkets,
      maxLifetimeScans: m.maxLifetimeScans ?? null,
      scanRecording: m.scanRecording ?? 'STANDARD',
      scanLocationDecimals: m.scanLocationDecimals ?? null,
      links: (m.links ?? []).map((l) => ({ ...l, lang: l.lang ?? null })),
      brandId: m.brand.id,
      createdAt: m.createdAt,
      // Stored only after parseDpp, so the shape holds.
      fullDpp: (m.dpp ?? null) as Dpp | null,
    });
  }
}

@InputType({ description: 'A new product model. `dpp` follows the DPP shape documented in the README (strict: unknown keys are refused).' })
export class ProductModelInput {
  @Field(() => String, { description: 'GTIN-8/12/13/14 with a valid check digit, under one of the brand\'s GS1 company prefixes.' }) gtin!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) category?: string | null;
  @Field(() => Int, { nullable: true, description: '0 to 600.' }) warrantyMonths?: number | null;
  @Field(() => [String], { nullable: true, description: 'ISO 3166-1 alpha-2 country codes.' }) authorisedMarkets?: string[] | null;
  @Field(() => Int, { nullable: true, description: '1 to 1,000,000,000.' }) maxLifetimeScans?: number | null;
  @Field(() => ScanRecording, { nullable: true, description: 'Default STANDARD. MINIMAL for product groups whose rules forbid tracking who views a passport.' }) scanRecording?: 'STANDARD' | 'MINIMAL' | null;
  @Field(() => Int, { nullable: true, description: '0 to 4; more than 1 only when the brand needs it (a documented purpose). Not with MINIMAL.' }) scanLocationDecimals?: number | null;
  @Field(() => GraphQLJSON, { nullable: true }) dpp?: unknown;
  @Field(() => [ProductLinkInput], { nullable: true, description: 'At most 20, one per link type and language.' }) links?: ProductLinkInput[] | null;
  @Field(() => BatteryModelInput, { nullable: true, description: 'Makes the model a battery model: every unit gets an EU battery passport (`Passport.batteryPass`).' })
  battery?: BatteryModelInput | null;
}

@InputType({ description: 'What updateProductModel replaces; members left out stay as they are.' })
export class ProductModelUpdateInput {
  @Field(() => BatteryModelInput, { nullable: true, description: 'Replaces the battery data (validated like at create); makes the model a battery model if it was not.' })
  battery?: BatteryModelInput | null;
}
