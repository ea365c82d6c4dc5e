import { ConflictError } from '../../errors/app-error.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import type { LifecycleEventType } from './lifecycle-event.entity.js';

// Type-only imports keep this module pure (no ORM at load time); the value lists live with the entities.
export type { LifecycleEventType, PassportStatus };

/**
 * Which lifecycle event may be appended to a unit in which status, and the status it leaves behind.
 * `=` keeps the current status; a blank cell is an illegal move (CONFLICT).
 *
 * | event \ from                        | MINTED  | SIGNED          | IN_SUPPLY_CHAIN | SOLD        | OWNED       | END_OF_LIFE | RECYCLED | REVOKED |
 * |-------------------------------------|---------|-----------------|-----------------|-------------|-------------|-------------|----------|---------|
 * | MINTED                              |         |                 |                 |             |             |             |          |         |
 * | SIGNED                              | SIGNED  |                 |                 |             |             |             |          |         |
 * | CUSTODY (any other bizStep)         |         | IN_SUPPLY_CHAIN | IN_SUPPLY_CHAIN | =           | =           |             |          |         |
 * | CUSTODY retail_selling              |         | SOLD            | SOLD            |             |             |             |          |         |
 * | CUSTODY decommissioning, destroying |         | END_OF_LIFE     | END_OF_LIFE     | END_OF_LIFE | END_OF_LIFE |             |          |         |
 * | SOLD                                |         | SOLD            | SOLD            |             |             |             |          |         |
 * | OWNERSHIP_CLAIMED                   |         |                 |                 | OWNED       |             |             |          |         |
 * | OWNERSHIP_TRANSFERRED               |         |                 |                 |             | =           |             |          |         |
 * | WARRANTY_CLAIMED                    |         |                 |                 | =           | =           |             |          |         |
 * | SERVICED                            |         |                 | =               | =           | =           |             |          |         |
 * | TAMPER_REPORTED                     | =       | =               | =               | =           | =           | =           |          |         |
 * | END_OF_LIFE                         |         | END_OF_LIFE     | END_OF_LIFE     | END_OF_LIFE | END_OF_LIFE |             |          |         |
 * | RECYCLED                            |         |                 |                 |             |             | RECYCLED    |          |         |
 * | REVOKED                             | REVOKED | REVOKED         | REVOKED         | REVOKED     | REVOKED     | REVOKED     |          |         |
 * | BATTERY_CONDITION                   |         | =               | =               | =           | =           |             |          |         |
 * | BATTERY_STATUS_CHANGED              |         | =               | =               | =           | =           | =           |          |         |
 *
 * MINTED events are written only by minting (seq 1), so nothing appends one. RECYCLED and REVOKED are
 * terminal: no event, not even a tamper report, follows them. The two BATTERY_ events (issue 21) record a
 * battery's condition and its Annex XIII status (repurposed, re-used…) without moving the passport's status.
 */
const SAME = '=' as const;
type Outcome = PassportStatus | typeof SAME;

export const TRANSITIONS: Readonly<Record<LifecycleEventType, Readonly<Partial<Record<PassportStatus, Outcome>>>>> = {
  MINTED: {},
  SIGNED: { MINTED: 'SIGNED' },
  CUSTODY: { SIGNED: 'IN_SUPPLY_CHAIN', IN_SUPPLY_CHAIN: 'IN_SUPPLY_CHAIN', SOLD: SAME, OWNED: SAME },
  SOLD: { SIGNED: 'SOLD', IN_SUPPLY_CHAIN: 'SOLD' },
  OWNERSHIP_CLAIMED: { SOLD: 'OWNED' },
  OWNERSHIP_TRANSFERRED: { OWNED: SAME },
  WARRANTY_CLAIMED: { SOLD: SAME, OWNED: SAME },
  SERVICED: { IN_SUPPLY_CHAIN: SAME, SOLD: SAME, OWNED: SAME },
  TAMPER_REPORTED: { MINTED: SAME, SIGNED: SAME, IN_SUPPLY_CHAIN: SAME, SOLD: SAME, OWNED: SAME, END_OF_LIFE: SAME },
  END_OF_LIFE: { SIGNED: 'END_OF_LIFE', IN_SUPPLY_CHAIN: 'END_OF_LIFE', SOLD: 'END_OF_LIFE', OWNED: 'END_OF_LIFE' },
  RECYCLED: { END_OF_LIFE: 'RECYCLED' },
  REVOKED: { MINTED: 'REVOKED', SIGNED: 'REVOKED', IN_SUPPLY_CHAIN: 'REVOKED', SOLD: 'REVOKED', OWNED: 'REVOKED', END_OF_LIFE: 'REVOKED' },
  BATTERY_CONDITION: { SIGNED: SAME, IN_SUPPLY_CHAIN: SAME, SOLD: SAME, OWNED: SAME },
  BATTERY_STATUS_CHANGED: { SIGNED: SAME, IN_SUPPLY_CHAIN: SAME, SOLD: SAME, OWNED: SAME, END_OF_LIFE: SAME },
};

/** CUSTODY events whose EPCIS business step moves the unit further than "in the supply chain". */
export const CUSTODY_BIZ_STEPS: Readonly<Record<string, Readonly<Partial<Record<PassportStatus, PassportStatus>>>>> = {
  retail_selling: { SIGNED: 'SOLD', IN_SUPPLY_CHAIN: 'SOLD' },
  decommissioning: { SIGNED: 'END_OF_LIFE', IN_SUPPLY_CHAIN: 'END_OF_LIFE', SOLD: 'END_OF_LIFE', OWNED: 'END_OF_LIFE' },
  destroying: { SIGNED: 'END_OF_LIFE', IN_SUPPLY_CHAIN: 'END_OF_LIFE', SOLD: 'END_OF_LIFE', OWNED: 'END_OF_LIFE' },
};

const TERMINAL: ReadonlySet<PassportStatus> = new Set(['RECYCLED', 'REVOKED']);

/**
 * The bare CBV business step of an EPCIS `bizStep`, whichever form it came in:
 * `retail_selling`, `urn:epcglobal:cbv:bizstep:retail_selling` or `https://ref.gs1.org/cbv/BizStep-retail_selling`.
 */
export function normaliseBizStep(bizStep: string): string {
  const v = bizStep.trim();
  const urn = /^urn:epcglobal:cbv:bizstep:(.+)$/i.exec(v);
  if (urn) return urn[1]!.toLowerCase();
  const web = /^https?:\/\/ref\.gs1\.org\/cbv\/BizStep-(.+)$/i.exec(v);
  if (web) return web[1]!.toLowerCase();
  return v.toLowerCase();
}

function outcomes(eventType: LifecycleEventType, bizStep: string | undefined): Readonly<Partial<Record<PassportStatus, Outcome>>> {
  if (eventType === 'CUSTODY' && bizStep !== undefined) {
    const step = normaliseBizStep(bizStep);
    if (Object.hasOwn(CUSTODY_BIZ_STEPS, step)) return CUSTODY_BIZ_STEPS[step]!;
  }
  return Object.hasOwn(TRANSITIONS, eventType) ? TRANSITIONS[eventType] : {};
}

/**
 * The status a unit in `current` has after an `eventType` event (CUSTODY looks at its EPCIS `bizStep`).
 * @throws ConflictError when the table above has no such move, with `{ from, event, bizStep? }` as details.
 */
export function nextStatus(current: PassportStatus, eventType: LifecycleEventType, opts: { bizStep?: string | null } = {}): PassportStatus {
  const bizStep = eventType === 'CUSTODY' && opts.bizStep ? opts.bizStep : undefined;
  const table = outcomes(eventType, bizStep);
  const outcome = Object.hasOwn(table, current) ? table[current] : undefined;
  if (outcome !== undefined) return outcome === SAME ? current : outcome;

  const what = bizStep === undefined ? eventType : `${eventType} (bizStep ${normaliseBizStep(bizStep)})`;
  const allowed = Object.keys(table);
  const why = TERMINAL.has(current)
    ? `a ${current} unit accepts no further events`
    : eventType === 'MINTED'
      ? 'MINTED is written only when a unit is minted'
      : allowed.length === 0
        ? 'not an event type'
        : `allowed only from ${allowed.join(', ')}`;
  throw new ConflictError(`Illegal status move: ${current} → ${what}: ${why}`, {
    from: current,
    event: eventType,
    ...(bizStep === undefined ? {} : { bizStep: normaliseBizStep(bizStep) }),
  });
}

/** Whether `eventType` may be appended to a unit in `current` (see {@link nextStatus}). */
export function canMove(current: PassportStatus, eventType: LifecycleEventType, opts: { bizStep?: string | null } = {}): boolean {
  const bizStep = eventType === 'CUSTODY' && opts.bizStep ? opts.bizStep : undefined;
  return Object.hasOwn(outcomes(eventType, bizStep), current);
}
