import { ANNEX_XIII, openedPart } from './annex-xiii.js';
import type { Aspect } from './battery-schemas.js';

/** One section of the battery page: an aspect's plain title and its attributes as label and text. */
export type PlainSection = { aspect: Aspect; title: string; rows: [label: string, text: string][] };

/** The aspects a scan's verification page shows of a battery (the rest is one link away): what it is, whose, from where, of what. */
export const SCAN_PAGE_ASPECTS: readonly Aspect[] = ['generalProductInformation', 'materialComposition'];

const ASPECT_TITLES: Readonly<Record<Aspect, string>> = {
  generalProductInformation: 'About this battery',
  carbonFootprint: 'Carbon footprint',
  circularity: 'Recycling and reuse',
  materialComposition: 'What it is made of',
  performance: 'Performance',
  labeling: 'Labels and conformity',
  supplyChainDueDiligence: 'Responsible sourcing',
};

/** Plain labels of the public attributes (Annex XIII point 1), with their units; others fall back to their words. */
const LABELS: Readonly<Record<string, string>> = {
  productIdentifier: 'Product identifier',
  batteryPassportIdentifier: 'Battery passport identifier',
  batteryCategory: 'Kind of battery',
  manufacturerInformation: 'Manufacturer',
  manufacturingDate: 'Made on',
  manufacturingPlace: 'Made at',
  batteryMass: 'Weight (kg)',
  operatorInformation: 'Responsible company',
  warrentyPeriod: 'Commercial warranty',
  batteryCarbonFootprint: 'Carbon footprint (kg CO₂e per kWh)',
  carbonFootprintPerLifecycleStage: 'Carbon footprint by life-cycle stage',
  carbonFootprintPerformanceClass: 'Carbon footprint class',
  carbonFootprintStudy: 'Carbon footprint study',
  absoluteCarbonFootprint: 'Carbon footprint of the whole battery (kg CO₂e)',
  recycledContent: 'Recycled content (%)',
  renewableContent: 'Renewable content (%)',
  'safetyMeasures.extinguishingAgent': 'Fire extinguishing agent',
  endOfLifeInformation: 'Disposal and collection',
  batteryChemistry: 'Chemistry',
  hazardousSubstances: 'Hazardous substances',
  batteryMaterials: 'Critical raw materials',
  labels: 'Labels and symbols',
  declarationOfConformity: 'EU declaration of conformity',
  supplyChainDueDiligenceReport: 'Due diligence report',
  thirdPartyAussurances: 'Third-party verification',
  supplyChainIndicies: 'Supply chain index',
  'batteryTechicalProperties.ratedCapacity': 'Rated capacity (Ah)',
  'batteryTechicalProperties.minimumVoltage': 'Minimum voltage (V)',
  'batteryTechicalProperties.nominalVoltage': 'Nominal voltage (V)',
  'batteryTechicalProperties.maximumVoltage': 'Maximum voltage (V)',
  'batteryTechicalProperties.originalPowerCapability': 'Original power capability (W)',
  'batteryTechicalProperties.ratedMaximumPower': 'Maximum power (W)',
  'batteryTechicalProperties.powerCapabilityRatio': 'Power to energy ratio',
  'batteryTechicalProperties.expectedNumberOfCycles': 'Expected lifetime (charge cycles)',
  'batteryTechicalProperties.lifetimeReferenceTest': 'Lifetime reference test',
  'batteryTechicalProperties.capacityThresholdForExhaustion': 'Worn out below (% of capacity)',
  'batteryTechicalProperties.temperatureRangeIdleState': 'Storage temperature range (°C)',
  'batteryTechicalProperties.roundtripEfficiency': 'Round-trip energy efficiency (%)',
  'batteryTechicalProperties.initialInternalResistance': 'Internal resistance (Ω)',
  'batteryTechicalProperties.cRateLifeCycleTest': 'C-rate of the cycle-life test',
  'batteryCondition.roundTripEfficiencyat50PerCentCycleLife': 'Round-trip efficiency at half its cycle life (%)',
};

const CATEGORIES: Readonly<Record<string, string>> = {
  lmt: 'Battery for a light means of transport (e-bike, e-scooter)',
  ev: 'Electric vehicle battery',
  industrial: 'Industrial battery',
  stationary: 'Stationary energy storage battery',
};

/** `ratedCapacity` → "rated capacity". */
const words = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

const REGIONS = new Intl.DisplayNames(['en'], { type: 'region' });

/** A postal address (Battery Pass `PostalAddressEntity`, with `addressLocality` when a registered site gave one) on one line. */
function address(a: Record<string, unknown>): string {
  const country = typeof a.addressCountry === 'string' && /^[A-Z]{2}$/.test(a.addressCountry) ? (REGIONS.of(a.addressCountry) ?? a.addressCountry) : a.addressCountry;
  const town = [a.postalCode, a.addressLocality].filter((x) => typeof x === 'string' && x !== '').join(' ');
  return [a.streetAddress, town, country].filter((x) => typeof x === 'string' && x !== '').join(', ');
}

const isAddress = (v: object): v is Record<string, unknown> => 'streetAddress' in v && 'postalCode' in v && 'addressCountry' in v;

/** A value in plain text: dates as dates, addresses as addresses, lists joined, objects as "name: value" pairs, nothing empty. */
function plain(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return /^\d{4}-\d{2}-\d{2}T/.test(value) ? value.slice(0, 10) : value;
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.map(plain).filter(Boolean).join('; ');
  if (isAddress(value)) return address(value);
  return Object.entries(value)
    .map(([k, v]) => [words(k), plain(v)] as const)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}

function at(doc: Record<string, unknown> | undefined, path: string): unknown {
  return path.split('.').reduce<unknown>((cur, k) => (cur && typeof cur === 'object' && Object.hasOwn(cur, k) ? (cur as Record<string, unknown>)[k] : undefined), doc);
}

/**
 * A public battery pass (Annex XIII point 1, as `publicBatteryPart` gives it) in plain words, by aspect, in
 * the table's order. Only rows of point 1 are read, so nothing else can reach the page even if given.
 */
export function plainBatteryPass(pub: Readonly<Record<string, Record<string, unknown>>>): PlainSection[] {
  const sections = new Map<Aspect, PlainSection>();
  for (const r of ANNEX_XIII) {
    if (r.point !== 1) continue;
    let value = at(pub[r.aspect], r.path);
    if (r.items && Array.isArray(value)) value = value.filter(r.items).map((item) => openedPart(r, item));
    if (r.path === 'batteryCategory' && typeof value === 'string') value = CATEGORIES[value] ?? value;
    const text = plain(value);
    if (text === '') continue;
    const section = sections.get(r.aspect) ?? { aspect: r.aspect, title: ASPECT_TITLES[r.aspect], rows: [] };
    section.rows.push([LABELS[r.path] ?? words(r.path.split('.').pop()!), text]);
    sections.set(r.aspect, section);
  }
  return [...sections.values()];
}
