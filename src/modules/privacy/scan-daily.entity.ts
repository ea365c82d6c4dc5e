import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { VERDICTS } from '../verification/vocabulary.js';

/**
 * Scans the retention job deleted, counted per UTC day, GTIN, verdict and country (`''`: none), so scan
 * analytics stay exact after the rows are gone. Holds no person: no place finer than a country, no hash.
 */
export const ScanDaily = defineEntity({
  name: 'ScanDaily',
  tableName: 'scan_daily',
  properties: {
    day: p.date().primary(),
    gtin: p.string().length(14).primary(),
    verdict: p.enum(VERDICTS).nativeEnumName('verdict').primary(),
    country: p.string().length(2).primary(),
    scans: p.integer(),
  },
});
export type IScanDaily = InferEntity<typeof ScanDaily>;
