import { BadInputError } from '../../errors/app-error.js';

/**
 * GS1 Core Business Vocabulary (CBV) 2.0 terms used by EPCIS 2.0 events, in their bare form
 * (the form the EPCIS 2.0 JSON-LD context maps and the EPCIS JSON schema enumerates).
 * Older and fully qualified spellings are accepted on input and normalised to these names:
 * `urn:epcglobal:cbv:bizstep:<x>` (CBV 1.x URN) and `https://ref.gs1.org/cbv/BizStep-<x>` (CBV 2.0 web URI),
 * likewise `disp:` / `Disp-`, `btt:` / `BTT-`, `sdt:` / `SDT-`.
 */

/** CBV 2.0 business steps (CBV 2.0 section 7.1). */
export const BIZ_STEPS = [
  'accepting',
  'arriving',
  'assembling',
  'collecting',
  'commissioning',
  'consigning',
  'creating_class_instance',
  'cycle_counting',
  'decommissioning',
  'departing',
  'destroying',
  'disassembling',
  'dispensing',
  'encoding',
  'entering_exiting',
  'holding',
  'inspecting',
  'installing',
  'killing',
  'loading',
  'other',
  'packing',
  'picking',
  'receiving',
  'removing',
  'repackaging',
  'repairing',
  'replacing',
  'reserving',
  'retail_selling',
  'sampling',
  'sensor_reporting',
  'shipping',
  'staging_outbound',
  'stock_taking',
  'stocking',
  'storing',
  'transporting',
  'unloading',
  'unpacking',
  'void_shipping',
] as const;
export type BizStep = (typeof BIZ_STEPS)[number];

/** CBV 2.0 dispositions (CBV 2.0 section 7.2). */
export const DISPOSITIONS = [
  'active',
  'available',
  'completeness_inferred',
  'completeness_verified',
  'conformant',
  'container_closed',
  'container_open',
  'damaged',
  'destroyed',
  'dispensed',
  'disposed',
  'encoded',
  'expired',
  'in_progress',
  'in_transit',
  'inactive',
  'mismatch_class',
  'mismatch_instance',
  'mismatch_quantity',
  'needs_replacement',
  'no_pedigree_match',
  'non_conformant',
  'non_sellable_other',
  'partially_dispensed',
  'recalled',
  'reserved',
  'retail_sold',
  'returned',
  'sellable_accessible',
  'sellable_not_accessible',
  'stolen',
  'unavailable',
  'unknown',
] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** CBV 2.0 business transaction types (CBV 2.0 section 7.3). */
export const BIZ_TRANSACTION_TYPES = [
  'bol',
  'cert',
  'desadv',
  'inv',
  'pedigree',
  'po',
  'poc',
  'prodorder',
  'recadv',
  'rma',
  'testprd',
  'testres',
  'upevt',
] as const;
export type BizTransactionType = (typeof BIZ_TRANSACTION_TYPES)[number];

/** CBV 2.0 source/destination types (CBV 2.0 section 7.4). */
export const SOURCE_DEST_TYPES = ['owning_party', 'possessing_party', 'location'] as const;
export type SourceDestType = (typeof SOURCE_DEST_TYPES)[number];

interface Vocabulary<T extends string> {
  label: string;
  terms: ReadonlySet<T>;
  urnPrefix: string;
  webPrefix: string;
}

function vocabulary<T extends string>(terms: readonly T[], label: string, urn: string, web: string): Vocabulary<T> {
  return {
    label,
    terms: new Set<T>(terms),
    urnPrefix: `urn:epcglobal:cbv:${urn}:`,
    webPrefix: `https://ref.gs1.org/cbv/${web}-`,
  };
}

const BIZ_STEP_VOCAB = vocabulary(BIZ_STEPS, 'business step', 'bizstep', 'BizStep');
const DISPOSITION_VOCAB = vocabulary(DISPOSITIONS, 'disposition', 'disp', 'Disp');
const BTT_VOCAB = vocabulary(BIZ_TRANSACTION_TYPES, 'business transaction type', 'btt', 'BTT');
const SDT_VOCAB = vocabulary(SOURCE_DEST_TYPES, 'source/destination type', 'sdt', 'SDT');

/** Longest vocabulary value accepted (a CBV term or a private URI). */
const MAX_TERM_LENGTH = 500;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f]+$/;

/** The bare CBV term of `value` if it is one, in any accepted spelling; otherwise undefined. */
function bareTerm<T extends string>(vocab: Vocabulary<T>, value: string): T | undefined {
  let term = value;
  if (term.slice(0, vocab.urnPrefix.length).toLowerCase() === vocab.urnPrefix) {
    term = term.slice(vocab.urnPrefix.length);
  } else if (term.startsWith(vocab.webPrefix)) {
    term = term.slice(vocab.webPrefix.length);
  }
  return (vocab.terms as ReadonlySet<string>).has(term) ? (term as T) : undefined;
}

function assertString(value: unknown, label: string): string {
  if (typeof value !== 'string') throw new BadInputError(`${label} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new BadInputError(`${label} is empty`);
  if (trimmed.length > MAX_TERM_LENGTH) throw new BadInputError(`${label} exceeds ${MAX_TERM_LENGTH} characters`);
  return trimmed;
}

/** A CBV term in bare form, or a private (non-CBV) URI kept as given, as EPCIS 2.0 allows for these two lists. */
function open<T extends string>(vocab: Vocabulary<T>, value: unknown): T | string {
  const s = assertString(value, vocab.label);
  const term = bareTerm(vocab, s);
  if (term !== undefined) return term;
  const lower = s.toLowerCase();
  if (lower.startsWith('urn:epcglobal:cbv:') || lower.startsWith('https://ref.gs1.org/cbv/') || /^https?:\/\/ns\.gs1\.org\/cbv\//.test(lower) || !URI.test(s)) {
    throw new BadInputError(`unknown CBV 2.0 ${vocab.label} "${s}" (use a CBV term or a private URI)`, { value: s });
  }
  return s;
}

/**
 * Normalises a business step given bare (`shipping`), as a CBV 1.x URN (`urn:epcglobal:cbv:bizstep:shipping`)
 * or as a CBV 2.0 web URI (`https://ref.gs1.org/cbv/BizStep-shipping`) to the bare CBV 2.0 name; a
 * user-defined business step (a URI outside GS1's CBV namespaces, as CBV 2.0 section 6.1 allows) is kept as given.
 * @throws BadInputError for a bare word that is not a CBV term, or an unknown term in a CBV namespace.
 */
export function normaliseBizStep(s: unknown): BizStep | string {
  return open(BIZ_STEP_VOCAB, s);
}

/**
 * Normalises a disposition given bare (`in_transit`), as `urn:epcglobal:cbv:disp:in_transit`
 * or as `https://ref.gs1.org/cbv/Disp-in_transit` to the bare CBV 2.0 name; a user-defined disposition
 * (a URI outside GS1's CBV namespaces) is kept as given.
 * @throws BadInputError for a bare word that is not a CBV term, or an unknown term in a CBV namespace.
 */
export function normaliseDisposition(s: unknown): Disposition | string {
  return open(DISPOSITION_VOCAB, s);
}

/**
 * Normalises a business transaction type (`po`, `urn:epcglobal:cbv:btt:po`, `https://ref.gs1.org/cbv/BTT-po`)
 * to the bare CBV name; a private URI (outside the CBV namespaces) is kept as given.
 */
export function normaliseBizTransactionType(s: unknown): BizTransactionType | string {
  return open(BTT_VOCAB, s);
}

/**
 * Normalises a source/destination type (`owning_party`, `urn:epcglobal:cbv:sdt:owning_party`,
 * `https://ref.gs1.org/cbv/SDT-owning_party`) to the bare CBV name; a private URI is kept as given.
 */
export function normaliseSourceDestType(s: unknown): SourceDestType | string {
  return open(SDT_VOCAB, s);
}
