import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { entities } from '../../src/db/entities.js';

/** The machine-readable record of processing (privacy/processing-record.json) stays true to the code. */
type Activity = { table: string | string[]; retention: { setting?: string; defaultDays: number | null } };
const record = JSON.parse(readFileSync(new URL('../../privacy/processing-record.json', import.meta.url), 'utf8')) as { activities: Activity[] };
const tables = new Set(entities.map((e) => (e as unknown as { meta: { tableName: string } }).meta.tableName));
const listed = new Set(record.activities.flatMap((a) => (Array.isArray(a.table) ? a.table : [a.table])));

describe('processing record', () => {
  it('names only tables that exist, and every table that can hold personal data', () => {
    for (const t of listed) expect([t, tables.has(t)]).toEqual([t, true]);
    for (const t of ['scan_event', 'owner', 'passkey_credential', 'owner_session', 'webauthn_challenge', 'ownership', 'transfer_offer', 'warranty_claim', 'audit_log', 'lifecycle_event']) {
      expect([t, listed.has(t)]).toEqual([t, true]);
    }
  });

  it('states the retention defaults the configuration applies', () => {
    const config = loadConfig({});
    const scans = record.activities.find((a) => a.table === 'scan_event')!;
    const audit = record.activities.find((a) => a.table === 'audit_log')!;
    expect([scans.retention.setting, scans.retention.defaultDays]).toEqual(['DPP_SCAN_RETENTION_DAYS', config.retention.scanDays]);
    expect([audit.retention.setting, audit.retention.defaultDays]).toEqual(['DPP_AUDIT_RETENTION_DAYS', config.retention.auditDays]);
    expect(config.retention.auditDays).toBeGreaterThan(config.retention.scanDays);
    expect(loadConfig({ DPP_SCAN_RETENTION_DAYS: '30' }).retention.scanDays).toBe(30);
    expect(() => loadConfig({ DPP_SCAN_RETENTION_DAYS: '0' })).toThrow(/DPP_SCAN_RETENTION_DAYS/);
  });
});
