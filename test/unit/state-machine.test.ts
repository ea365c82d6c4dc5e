import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors/app-error.js';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEventType } from '../../src/modules/history/lifecycle-event.entity.js';
import { canMove, nextStatus, normaliseBizStep, TRANSITIONS } from '../../src/modules/history/state-machine.js';
import { PASSPORT_STATUSES, type PassportStatus } from '../../src/modules/passports/passport.entity.js';

type S = PassportStatus;
type E = LifecycleEventType;

/** The product rules, written out independently of the implementation: [from, event, bizStep?, to]. */
const LEGAL: [S, E, string | undefined, S][] = [
  ['MINTED', 'SIGNED', undefined, 'SIGNED'],
  ['MINTED', 'TAMPER_REPORTED', undefined, 'MINTED'],
  ['MINTED', 'REVOKED', undefined, 'REVOKED'],

  ['SIGNED', 'CUSTODY', undefined, 'IN_SUPPLY_CHAIN'],
  ['SIGNED', 'CUSTODY', 'shipping', 'IN_SUPPLY_CHAIN'],
  ['SIGNED', 'CUSTODY', 'retail_selling', 'SOLD'],
  ['SIGNED', 'CUSTODY', 'decommissioning', 'END_OF_LIFE'],
  ['SIGNED', 'CUSTODY', 'destroying', 'END_OF_LIFE'],
  ['SIGNED', 'SOLD', undefined, 'SOLD'],
  ['SIGNED', 'TAMPER_REPORTED', undefined, 'SIGNED'],
  ['SIGNED', 'END_OF_LIFE', undefined, 'END_OF_LIFE'],
  ['SIGNED', 'REVOKED', undefined, 'REVOKED'],

  ['IN_SUPPLY_CHAIN', 'CUSTODY', undefined, 'IN_SUPPLY_CHAIN'],
  ['IN_SUPPLY_CHAIN', 'CUSTODY', 'receiving', 'IN_SUPPLY_CHAIN'],
  ['IN_SUPPLY_CHAIN', 'CUSTODY', 'retail_selling', 'SOLD'],
  ['IN_SUPPLY_CHAIN', 'CUSTODY', 'decommissioning', 'END_OF_LIFE'],
  ['IN_SUPPLY_CHAIN', 'CUSTODY', 'destroying', 'END_OF_LIFE'],
  ['IN_SUPPLY_CHAIN', 'SOLD', undefined, 'SOLD'],
  ['IN_SUPPLY_CHAIN', 'SERVICED', undefined, 'IN_SUPPLY_CHAIN'],
  ['IN_SUPPLY_CHAIN', 'TAMPER_REPORTED', undefined, 'IN_SUPPLY_CHAIN'],
  ['IN_SUPPLY_CHAIN', 'END_OF_LIFE', undefined, 'END_OF_LIFE'],
  ['IN_SUPPLY_CHAIN', 'REVOKED', undefined, 'REVOKED'],

  ['SOLD', 'CUSTODY', undefined, 'SOLD'],
  ['SOLD', 'CUSTODY', 'shipping', 'SOLD'],
  ['SOLD', 'CUSTODY', 'decommissioning', 'END_OF_LIFE'],
  ['SOLD', 'CUSTODY', 'destroying', 'END_OF_LIFE'],
  ['SOLD', 'OWNERSHIP_CLAIMED', undefined, 'OWNED'],
  ['SOLD', 'WARRANTY_CLAIMED', undefined, 'SOLD'],
  ['SOLD', 'SERVICED', undefined, 'SOLD'],
  ['SOLD', 'TAMPER_REPORTED', undefined, 'SOLD'],
  ['SOLD', 'END_OF_LIFE', undefined, 'END_OF_LIFE'],
  ['SOLD', 'REVOKED', undefined, 'REVOKED'],

  ['OWNED', 'CUSTODY', undefined, 'OWNED'],
  ['OWNED', 'CUSTODY', 'repairing', 'OWNED'],
  ['OWNED', 'CUSTODY', 'decommissioning', 'END_OF_LIFE'],
  ['OWNED', 'CUSTODY', 'destroying', 'END_OF_LIFE'],
  ['OWNED', 'OWNERSHIP_TRANSFERRED', undefined, 'OWNED'],
  ['OWNED', 'WARRANTY_CLAIMED', undefined, 'OWNED'],
  ['OWNED', 'SERVICED', undefined, 'OWNED'],
  ['OWNED', 'TAMPER_REPORTED', undefined, 'OWNED'],
  ['OWNED', 'END_OF_LIFE', undefined, 'END_OF_LIFE'],
  ['OWNED', 'REVOKED', undefined, 'REVOKED'],

  ['END_OF_LIFE', 'TAMPER_REPORTED', undefined, 'END_OF_LIFE'],
  ['END_OF_LIFE', 'RECYCLED', undefined, 'RECYCLED'],
  ['END_OF_LIFE', 'REVOKED', undefined, 'REVOKED'],

  // Battery condition and status records (issue 21) never move the passport's status.
  ...(['SIGNED', 'IN_SUPPLY_CHAIN', 'SOLD', 'OWNED'] as const).map((s): [S, E, undefined, S] => [s, 'BATTERY_CONDITION', undefined, s]),
  ...(['SIGNED', 'IN_SUPPLY_CHAIN', 'SOLD', 'OWNED', 'END_OF_LIFE'] as const).map((s): [S, E, undefined, S] => [s, 'BATTERY_STATUS_CHANGED', undefined, s]),
];

/** The business steps with a rule of their own; any other bizStep is an ordinary CUSTODY move. */
const SPECIAL = ['retail_selling', 'decommissioning', 'destroying'];
const BIZ_STEPS = [undefined, ...SPECIAL];
const special = (b: string | undefined) => (b !== undefined && SPECIAL.includes(b) ? b : undefined);

function legalOutcome(from: S, event: E, bizStep: string | undefined): S | undefined {
  return LEGAL.find(([f, e, b]) => f === from && e === event && special(b) === special(bizStep))?.[3];
}

describe('lifecycle state machine', () => {
  it('covers every status and event type of the entities', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...LIFECYCLE_EVENT_TYPES].sort());
    for (const row of Object.values(TRANSITIONS)) for (const from of Object.keys(row)) expect(PASSPORT_STATUSES).toContain(from);
  });

  it.each(LEGAL)('allows %s → %s (bizStep %s), leaving %s', (from, event, bizStep, to) => {
    expect(nextStatus(from, event, { bizStep })).toBe(to);
    expect(canMove(from, event, { bizStep })).toBe(true);
  });

  it('refuses every other (status, event, bizStep) combination with a CONFLICT naming the move', () => {
    let refused = 0;
    for (const from of PASSPORT_STATUSES) {
      for (const event of LIFECYCLE_EVENT_TYPES) {
        for (const bizStep of BIZ_STEPS) {
          if (event !== 'CUSTODY' && bizStep !== undefined) continue;
          const expected = legalOutcome(from, event, bizStep);
          if (expected !== undefined) {
            expect(nextStatus(from, event, { bizStep }), `${from} → ${event} ${bizStep ?? ''}`).toBe(expected);
            continue;
          }
          refused++;
          expect(canMove(from, event, { bizStep })).toBe(false);
          let error: unknown;
          try {
            nextStatus(from, event, { bizStep });
          } catch (e) {
            error = e;
          }
          expect(error, `${from} → ${event} ${bizStep ?? ''} must be refused`).toBeInstanceOf(ConflictError);
          const conflict = error as ConflictError;
          expect(conflict.code).toBe('CONFLICT');
          expect(conflict.message).toContain(`Illegal status move: ${from} → ${event}`);
          expect(conflict.details).toMatchObject({ from, event });
        }
      }
    }
    // 8 statuses × (13 other event types + CUSTODY with no/retail/decommissioning/destroying bizStep) = 136 moves; 50 are legal.
    expect(refused).toBe(86);
  });

  it.each<[string, S, E, string | undefined]>([
    ['a recycled unit cannot be sold', 'RECYCLED', 'SOLD', undefined],
    ['a recycled unit cannot be sold at retail', 'RECYCLED', 'CUSTODY', 'retail_selling'],
    ['a recycled unit cannot be recycled again', 'RECYCLED', 'RECYCLED', undefined],
    ['a recycled unit cannot be revoked', 'RECYCLED', 'REVOKED', undefined],
    ['a recycled unit takes no tamper report', 'RECYCLED', 'TAMPER_REPORTED', undefined],
    ['a revoked unit cannot be revoked again', 'REVOKED', 'REVOKED', undefined],
    ['a revoked unit cannot be shipped', 'REVOKED', 'CUSTODY', undefined],
    ['a revoked unit cannot be claimed', 'REVOKED', 'OWNERSHIP_CLAIMED', undefined],
    ['a revoked unit takes no tamper report', 'REVOKED', 'TAMPER_REPORTED', undefined],
    ['an unsigned unit cannot be shipped', 'MINTED', 'CUSTODY', undefined],
    ['an unsigned unit cannot be sold', 'MINTED', 'SOLD', undefined],
    ['an unsigned unit cannot reach end of life', 'MINTED', 'END_OF_LIFE', undefined],
    ['a signed unit cannot be signed twice', 'SIGNED', 'SIGNED', undefined],
    ['a signed unit cannot be recycled before end of life', 'SIGNED', 'RECYCLED', undefined],
    ['an unsold unit cannot be claimed', 'IN_SUPPLY_CHAIN', 'OWNERSHIP_CLAIMED', undefined],
    ['an unsold unit has no warranty claim', 'SIGNED', 'WARRANTY_CLAIMED', undefined],
    ['a signed unit not yet shipped is not serviced', 'SIGNED', 'SERVICED', undefined],
    ['a sold unit cannot be sold again', 'SOLD', 'SOLD', undefined],
    ['an owned unit cannot be sold at retail again', 'OWNED', 'CUSTODY', 'retail_selling'],
    ['an unowned unit cannot be transferred', 'SOLD', 'OWNERSHIP_TRANSFERRED', undefined],
    ['an owned unit cannot be claimed again', 'OWNED', 'OWNERSHIP_CLAIMED', undefined],
    ['an end-of-life unit takes no custody', 'END_OF_LIFE', 'CUSTODY', undefined],
    ['an end-of-life unit cannot reach end of life twice', 'END_OF_LIFE', 'END_OF_LIFE', undefined],
    ['an end-of-life unit cannot be sold', 'END_OF_LIFE', 'SOLD', undefined],
    ['an end-of-life unit is not serviced', 'END_OF_LIFE', 'SERVICED', undefined],
    ['nothing appends a MINTED event', 'SIGNED', 'MINTED', undefined],
    ['not even to a minted unit', 'MINTED', 'MINTED', undefined],
  ])('%s', (_, from, event, bizStep) => {
    expect(() => nextStatus(from, event, { bizStep })).toThrow(ConflictError);
    expect(() => nextStatus(from, event, { bizStep })).toThrow(`Illegal status move: ${from} → ${event}`);
  });

  it('explains terminal states and names the allowed sources', () => {
    expect(() => nextStatus('RECYCLED', 'SOLD')).toThrow('a RECYCLED unit accepts no further events');
    expect(() => nextStatus('MINTED', 'SOLD')).toThrow('allowed only from SIGNED, IN_SUPPLY_CHAIN');
    try {
      nextStatus('OWNED', 'CUSTODY', { bizStep: 'urn:epcglobal:cbv:bizstep:retail_selling' });
      expect.unreachable();
    } catch (e) {
      expect((e as ConflictError).details).toEqual({ from: 'OWNED', event: 'CUSTODY', bizStep: 'retail_selling' });
    }
  });

  it('reads the EPCIS bizStep in bare, URN and GS1 web vocabulary form, and only for CUSTODY', () => {
    expect(normaliseBizStep('urn:epcglobal:cbv:bizstep:retail_selling')).toBe('retail_selling');
    expect(normaliseBizStep('https://ref.gs1.org/cbv/BizStep-decommissioning')).toBe('decommissioning');
    expect(normaliseBizStep(' Destroying ')).toBe('destroying');
    expect(nextStatus('IN_SUPPLY_CHAIN', 'CUSTODY', { bizStep: 'urn:epcglobal:cbv:bizstep:retail_selling' })).toBe('SOLD');
    expect(nextStatus('OWNED', 'CUSTODY', { bizStep: 'https://ref.gs1.org/cbv/BizStep-destroying' })).toBe('END_OF_LIFE');
    expect(nextStatus('SIGNED', 'CUSTODY', { bizStep: 'constructor' })).toBe('IN_SUPPLY_CHAIN');
    expect(nextStatus('SIGNED', 'CUSTODY', { bizStep: null })).toBe('IN_SUPPLY_CHAIN');
    // A bizStep on another event type does not change its rule.
    expect(nextStatus('SOLD', 'WARRANTY_CLAIMED', { bizStep: 'retail_selling' })).toBe('SOLD');
    expect(() => nextStatus('OWNED', 'SOLD', { bizStep: 'decommissioning' })).toThrow(ConflictError);
  });

  it('walks a unit through its whole life', () => {
    const path: [E, string?][] = [
      ['SIGNED'],
      ['CUSTODY', 'shipping'],
      ['CUSTODY', 'receiving'],
      ['CUSTODY', 'retail_selling'],
      ['OWNERSHIP_CLAIMED'],
      ['OWNERSHIP_TRANSFERRED'],
      ['WARRANTY_CLAIMED'],
      ['SERVICED'],
      ['TAMPER_REPORTED'],
      ['END_OF_LIFE'],
      ['RECYCLED'],
    ];
    let status: S = 'MINTED';
    const seen: S[] = [];
    for (const [event, bizStep] of path) seen.push((status = nextStatus(status, event, { bizStep })));
    expect(seen).toEqual(['SIGNED', 'IN_SUPPLY_CHAIN', 'IN_SUPPLY_CHAIN', 'SOLD', 'OWNED', 'OWNED', 'OWNED', 'OWNED', 'OWNED', 'END_OF_LIFE', 'RECYCLED']);
    for (const event of LIFECYCLE_EVENT_TYPES) expect(canMove('RECYCLED', event)).toBe(false);
  });
});
