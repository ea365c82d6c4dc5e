import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';

/** Restricted reads by authorities and other accountable actions, append-only. */
export const AuditLog = defineEntity({
  name: 'AuditLog',
  tableName: 'audit_log',
  indexes: [{ properties: ['organization', 'createdAt'] }, { properties: ['passportId'] }, { properties: ['createdAt'] }],
  triggers: [
    {
      // Append-only; only the retention job deletes, and only inside its own transaction (`set local dpp.audit_retention = 'on'`).
      name: 'audit_log_append_only',
      timing: 'before',
      events: ['update', 'delete'],
      forEach: 'row',
      body: "if tg_op = 'DELETE' and current_setting('dpp.audit_retention', true) = 'on' then return old; end if; raise exception 'audit_log is append-only';",
    },
  ],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    organization: () => p.manyToOne(Organization).ref().deleteRule('no action'),
    apiKeyId: p.uuid().nullable(),
    action: p.string().length(100),
    passportId: p.uuid().nullable(),
    details: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IAuditLog = InferEntity<typeof AuditLog>;
