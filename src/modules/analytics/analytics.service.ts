import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ForbiddenError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, parseGtin } from '../../gs1/index.js';
import { OPERATIONAL_ALERT_KINDS } from '../verification/vocabulary.js';

export type AnalyticsInput = { from: Date; to: Date; gtin?: string | null; brandId?: string | null };
export type BucketRow = { key: string; count: number };
export type RiskUnitRow = { passportId: string; gtin: string; serial: string; riskScore: number; alerts: number; lastAlertAt: Date | null };
export type ScanAnalyticsResult = {
  from: Date;
  to: Date;
  totalScans: number;
  byVerdict: BucketRow[];
  scansByCountry: BucketRow[];
  scansByDay: BucketRow[];
  scansByGtin: BucketRow[];
  alertsByKind: BucketRow[];
  alertsByCountry: BucketRow[];
  topUnitsByRisk: RiskUnitRow[];
};

const MAX_DAYS = 366;
const DAY_MS = 86_400_000;
/** Severity weights of the risk score; the SQL below spells the same table. */
export const SEVERITY_WEIGHTS = { LOW: 1, MEDIUM: 3, HIGH: 7, CRITICAL: 15 } as const;
const WEIGHT_SQL = `case a.severity::text ${Object.entries(SEVERITY_WEIGHTS).map(([s, w]) => `when '${s}' then ${w}`).join(' ')} else 0 end`;
const SEE_ALL: ReadonlySet<string> = new Set(['PLATFORM', 'REGULATOR', 'CUSTOMS']);

/*
 * Every query takes the same bind parameters: $1 from, $2 to, $3 GTIN or null, $4 brand id or null.
 * Scans belong to a brand through the model of their GTIN (unknown serials included); alerts through brand_id.
 */
/*
 * Scans: the rows still kept, plus the per-day counts of those the retention job deleted (`scan_daily`, by
 * whole UTC day), each scan in exactly one of them; `n` is how many scans a row stands for.
 */
const SCANS = `from (
    select se.gtin, se.verdict::text as verdict, se.country, to_char(se.scanned_at at time zone 'UTC', 'YYYY-MM-DD') as day, 1 as n
    from scan_event se
    where se.scanned_at >= $1 and se.scanned_at < $2
      and ($3::text is null or se.gtin = $3::text)
      and ($4::uuid is null or exists (select 1 from product_model pm where pm.gtin = se.gtin and pm.brand_id = $4::uuid))
    union all
    select sd.gtin, sd.verdict::text, nullif(sd.country, ''), to_char(sd.day, 'YYYY-MM-DD'), sd.scans
    from scan_daily sd
    where sd.day >= ($1::timestamptz at time zone 'UTC')::date and sd.day < ($2::timestamptz at time zone 'UTC')::date + (case when ($2::timestamptz at time zone 'UTC')::time > '00:00' then 1 else 0 end)
      and ($3::text is null or sd.gtin = $3::text)
      and ($4::uuid is null or exists (select 1 from product_model pm where pm.gtin = sd.gtin and pm.brand_id = $4::uuid))
  ) se`;
// Operational alerts (an endpoint disabled) are not about scans or products: left out.
const ALERTS = `from fraud_alert a
  where a.first_seen_at < $2 and a.last_seen_at >= $1
    and a.kind::text not in (${OPERATIONAL_ALERT_KINDS.map((k) => `'${k}'`).join(', ')})
    and ($3::text is null or a.gtin = $3::text)
    and ($4::uuid is null or a.brand_id = $4::uuid)`;
const ORDER_BUCKETS = 'order by count desc, key asc';

function bad(field: string, message: string): BadInputError {
  return new BadInputError(`filter.${field}: ${message}`, { field: `filter.${field}` });
}

/** Validates the period and decides whose data the viewer sees: a brand its own, authorities one brand or all. */
function scope(viewer: Viewer, input: AnalyticsInput): { from: Date; to: Date; gtin: string | null; brandId: string | null } {
  if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError();
  const { from, to } = input;
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) throw bad('from', 'a valid time');
  if (!(to instanceof Date) || Number.isNaN(to.getTime())) throw bad('to', 'a valid time');
  if (from.getTime() >= to.getTime()) throw bad('to', 'must be after from');
  if (to.getTime() - from.getTime() > MAX_DAYS * DAY_MS) throw bad('to', `the period is at most ${MAX_DAYS} days`);
  let gtin: string | null = null;
  if (input.gtin != null && input.gtin !== '') {
    try {
      gtin = parseGtin(input.gtin);
    } catch (e) {
      if (e instanceof Gs1Error) throw bad('gtin', e.message);
      throw e;
    }
  }
  const asked = input.brandId ?? null;
  if (asked != null && !isUuid(asked)) throw bad('brandId', 'not an organisation id');
  let brandId: string | null;
  if (viewer.orgKind === 'BRAND') {
    if (asked != null && asked !== viewer.organizationId) throw new ForbiddenError('A brand sees only its own analytics');
    brandId = viewer.organizationId;
  } else if (SEE_ALL.has(viewer.orgKind)) {
    brandId = asked;
  } else {
    throw new ForbiddenError(`An organisation of kind ${viewer.orgKind} does not see scan analytics`);
  }
  return { from, to, gtin, brandId };
}

/** Scan analytics: one GROUP BY query per aggregate, nothing per unit. */
export const analyticsService = {
  async scanAnalytics(em: EntityManager, viewer: Viewer, input: AnalyticsInput): Promise<ScanAnalyticsResult> {
    const f = scope(viewer, input);
    const params = [f.from.toISOString(), f.to.toISOString(), f.gtin, f.brandId];
    const buckets = (sql: string) => rawQuery<BucketRow>(em, sql, params).then((rows) => rows.map((r) => ({ key: String(r.key), count: Number(r.count) })));
    // Sequential on purpose: the request's entity manager may hold one connection (or one PGlite).
    const byVerdict = await buckets(`select se.verdict as key, sum(se.n)::int as count ${SCANS} group by 1 ${ORDER_BUCKETS}`);
    const scansByCountry = await buckets(`select coalesce(se.country, 'unknown') as key, sum(se.n)::int as count ${SCANS} group by 1 ${ORDER_BUCKETS}`);
    const scansByDay = await buckets(
      `select se.day as key, sum(se.n)::int as count ${SCANS} group by 1 order by key asc`,
    );
    const scansByGtin = await buckets(`select se.gtin as key, sum(se.n)::int as count ${SCANS} group by 1 ${ORDER_BUCKETS} limit 100`);
    const alertsByKind = await buckets(`select a.kind::text as key, count(*)::int as count ${ALERTS} group by 1 ${ORDER_BUCKETS}`);
    // The country of the alerted subject's latest scan in the period: the unit's, or for a GTIN-level
    // alert (unknown serials) the latest unknown-serial scan of that GTIN.
    const alertsByCountry = await buckets(
      `select coalesce(ls.country, 'unknown') as key, count(*)::int as count
       from (select a.passport_id, a.gtin ${ALERTS}) al
       left join lateral (
         select se.country from scan_event se
         where se.scanned_at >= $1 and se.scanned_at < $2
           and ((al.passport_id is not null and se.passport_id = al.passport_id)
             or (al.passport_id is null and se.passport_id is null and se.gtin = al.gtin))
         order by se.scanned_at desc limit 1
       ) ls on true
       group by 1 ${ORDER_BUCKETS}`,
    );
    const risk = await rawQuery<{ passport_id: string; gtin: string; serial: string; risk_score: number | string; alerts: number; last_alert_at: string | Date | null }>(
      em,
      `select r.passport_id, p.gtin, p.serial, r.risk_score, r.alerts, r.last_alert_at
       from (select a.passport_id, sum((${WEIGHT_SQL}) * a.count)::float8 as risk_score, count(*)::int as alerts, max(a.last_seen_at) as last_alert_at
             ${ALERTS} and a.passport_id is not null
             group by a.passport_id
             order by risk_score desc, last_alert_at desc, a.passport_id asc
             limit 10) r
       join passport p on p.id = r.passport_id
       order by r.risk_score desc, r.last_alert_at desc, r.passport_id asc`,
      params,
    );
    return {
      from: f.from,
      to: f.to,
      totalScans: byVerdict.reduce((n, b) => n + b.count, 0),
      byVerdict,
      scansByCountry,
      scansByDay,
      scansByGtin,
      alertsByKind,
      alertsByCountry,
      topUnitsByRisk: risk.map((r) => ({
        passportId: r.passport_id,
        gtin: r.gtin,
        serial: r.serial,
        riskScore: Number(r.risk_score),
        alerts: Number(r.alerts),
        lastAlertAt: r.last_alert_at == null ? null : new Date(r.last_alert_at),
      })),
    };
  },
};
