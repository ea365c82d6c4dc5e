import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';
import { Passport } from '../passports/passport.entity.js';
import { ProductModel } from '../product-models/product-model.entity.js';

/** GraphQL `BatteryCategory`: Art. 2 categories (STATIONARY_STORAGE is an industrial battery for energy storage). */
export const BATTERY_CATEGORIES = ['EV', 'LMT', 'INDUSTRIAL', 'STATIONARY_STORAGE', 'PORTABLE', 'SLI'] as const;
export type BatteryCategory = (typeof BATTERY_CATEGORIES)[number];
/** GraphQL `BatteryStatus`: Annex XIII 4(c). */
export const BATTERY_STATUSES = ['ORIGINAL', 'REPURPOSED', 'REUSED', 'REMANUFACTURED', 'WASTE'] as const;
export type BatteryStatus = (typeof BATTERY_STATUSES)[number];

/** The battery data of a product model: its category and the model-level Battery Pass attributes. */
export const BatteryModel = defineEntity({
  name: 'BatteryModel',
  tableName: 'battery_model',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    model: () => p.oneToOne(ProductModel).ref().owner().unique(),
    category: p.enum(BATTERY_CATEGORIES).nativeEnumName('battery_category'),
    /** Model-level attributes by aspect, valid against the consortium's schemas (battery-model.ts). */
    data: p.json<Record<string, Record<string, unknown>>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type IBatteryModel = InferEntity<typeof BatteryModel>;

/**
 * A battery unit whose status left ORIGINAL, or that was made by repurposing or remanufacturing another.
 * Minting writes nothing here: a unit without a row is ORIGINAL (and WASTE once its passport is at end of life).
 */
export const BatteryUnit = defineEntity({
  name: 'BatteryUnit',
  tableName: 'battery_unit',
  properties: {
    passport: () => p.oneToOne(Passport).ref().owner().primary(),
    status: p.enum(BATTERY_STATUSES).nativeEnumName('battery_status'),
    /** The passport of the battery this one was made from (Art. 77(7)); its own passport links back. */
    predecessor: () => p.manyToOne(Passport).ref().nullable().index(),
    successor: () => p.manyToOne(Passport).ref().nullable().index(),
    /** The economic operator that changed the status (a repurposer, remanufacturer or re-user). */
    operator: () => p.manyToOne(Organization).ref().nullable(),
    changedAt: p.datetime(),
  },
});
export type IBatteryUnit = InferEntity<typeof BatteryUnit>;

/** A battery unit's own weight, given when it was minted (Battery Pass `batteryMass`, kg); without a row, its model's. */
export const BatteryUnitMass = defineEntity({
  name: 'BatteryUnitMass',
  tableName: 'battery_unit_mass',
  properties: {
    passport: () => p.oneToOne(Passport).ref().owner().primary(),
    massKg: p.double(),
  },
});
