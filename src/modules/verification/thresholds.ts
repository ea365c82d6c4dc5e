/**
 * Rule thresholds (ARCHITECTURE.md §5): the defaults and a product model's validated overrides. Split from
 * rules.ts, which re-exports them.
 *
 * @module
 */
import { z } from 'zod';
import { BadInputError } from '../../errors/app-error.js';

export type RuleThresholds = {
  /** IMPOSSIBLE_TRAVEL: fastest plausible travel between two scans (km/h); equal is still plausible. */
  maxKmh: number;
  /** IMPOSSIBLE_TRAVEL: pairs closer than this (km) are ignored (geolocation noise, neighbouring cities). */
  minTravelKm: number;
  /** SCAN_VELOCITY: more scans than this in an hour fire. */
  maxScansPerHour: number;
  /** SCAN_COUNT: more lifetime scans than this fire; null/absent = the model sets no ceiling. */
  maxLifetimeScans?: number | null;
  /** UNKNOWN_SERIAL turns CRITICAL once a client has probed this many distinct unknown serials in an hour. */
  probeCriticalAfter: number;
};

export const DEFAULT_THRESHOLDS: Readonly<RuleThresholds> = Object.freeze({
  maxKmh: 1000,
  minTravelKm: 100,
  maxScansPerHour: 20,
  maxLifetimeScans: null,
  probeCriticalAfter: 5,
});

/** Per-model overrides, all optional; unknown keys are refused so a typo cannot silently do nothing. */
export const ruleThresholdsSchema = z
  .strictObject({
    maxKmh: z.number().positive().max(1_000_000),
    minTravelKm: z.number().min(0).max(20_100),
    maxScansPerHour: z.int().min(1).max(1_000_000),
    maxLifetimeScans: z.int().min(1).max(1_000_000_000).nullable(),
    probeCriticalAfter: z.int().min(1).max(1_000_000),
  })
  .partial();

/**
 * Validates per-model overrides (null/undefined = none). Used when a model is written and again by
 * {@link thresholdsFor}, so a bad stored value fails loudly instead of disabling a rule.
 *
 * @throws BadInputError naming the first offending field.
 */
export function parseRuleThresholds(input: unknown): Partial<RuleThresholds> {
  if (input === null || input === undefined) return {};
  const parsed = ruleThresholdsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ['ruleThresholds', ...issue.path.map(String)].join('.');
    throw new BadInputError(`${field}: ${issue.message}`, { field });
  }
  const out: Partial<RuleThresholds> = {};
  for (const [k, v] of Object.entries(parsed.data)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * Effective thresholds for a product model: defaults, overridden by the model's `ruleThresholds`.
 * The lifetime ceiling comes from the model's own `maxLifetimeScans` column when set (it is the
 * documented, GraphQL-visible field), else from `ruleThresholds.maxLifetimeScans`, else none.
 */
export function thresholdsFor(model: {
  maxLifetimeScans?: number | null;
  ruleThresholds?: Partial<RuleThresholds> | null;
}): RuleThresholds {
  const overrides = parseRuleThresholds(model.ruleThresholds);
  const column = parseRuleThresholds({ maxLifetimeScans: model.maxLifetimeScans ?? null }).maxLifetimeScans;
  return { ...DEFAULT_THRESHOLDS, ...overrides, maxLifetimeScans: column ?? overrides.maxLifetimeScans ?? null };
}
