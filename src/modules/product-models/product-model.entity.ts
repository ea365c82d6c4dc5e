import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';
import type { ProductLink } from './product-model.links.js';

/** Mirrors the GraphQL enum ScanRecording (see verification/scan-privacy.ts). */
export const MODEL_SCAN_RECORDINGS = ['STANDARD', 'MINIMAL'] as const;

export const ProductModel = defineEntity({
  name: 'ProductModel',
  tableName: 'product_model',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    /** GTIN-14, check digit validated; one model per GTIN. */
    gtin: p.string().length(14).unique(),
    brand: () => p.manyToOne(Organization).ref().index(),
    name: p.string().length(200),
    category: p.string().length(100).nullable(),
    warrantyMonths: p.integer().nullable(),
    authorisedMarkets: p.array().default([]),
    maxLifetimeScans: p.integer().nullable(),
    /** What a scan of its units keeps: STANDARD (coarsened place, monthly hashes) or MINIMAL (nothing about who or where). */
    scanRecording: p.enum(MODEL_SCAN_RECORDINGS).nativeEnumName('scan_recording').default('STANDARD'),
    /** Decimal places of a scan's stored coordinates when the brand keeps more than the default (1); null: the default. */
    scanLocationDecimals: p.smallint().nullable(),
    /** Digital product passport data (materials, substances, repair, documents); see product-model.dpp.ts. */
    dpp: p.json<Record<string, unknown>>().nullable(),
    /** Pages the brand publishes per GS1 link type (product-model.links.ts); the resolver redirects to them. */
    links: p.json<ProductLink[]>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IProductModel = InferEntity<typeof ProductModel>;

/** The fields readers of a model need (ProductModelType.from): an entity, or a plain row with its brand's id. */
export type ProductModelView = Pick<IProductModel, 'id' | 'gtin' | 'name' | 'category' | 'warrantyMonths' | 'authorisedMarkets' | 'maxLifetimeScans' | 'createdAt' | 'dpp'> &
  Partial<Pick<IProductModel, 'scanRecording' | 'scanLocationDecimals'>> & {
  links?: ProductLink[] | null;
  brand: { id: string };
};
