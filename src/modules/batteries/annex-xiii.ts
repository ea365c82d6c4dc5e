import type { Aspect } from './battery-schemas.js';

/**
 * Regulation (EU) 2023/1542, Annex XIII: who may read which part of a battery passport (Art. 77(2)).
 * 1 = public information on the battery model; 2 = model information for persons with a legitimate interest
 * and the Commission; 3 = model information for notified bodies, market surveillance authorities and the
 * Commission; 4 = information on the individual battery for persons with a legitimate interest.
 * Checked against the regulation's own text (German language version, equally authentic, as reproduced from the
 * Official Journal): Art. 77(2) and Annex XIII point 1(a)-(s). Points 2 to 4 and Annex VI Part A could not be read
 * in the regulation's text here; their letters follow secondary sources (README "EU battery passport" names them).
 */
export type AnnexPoint = 1 | 2 | 3 | 4;

export type AnnexRow = {
  aspect: Aspect;
  /** Attribute path inside the aspect, dot-separated (Battery Pass 1.2.0 property names, its spelling). */
  path: string;
  point: AnnexPoint;
  /**
   * The letter of the point (Annex XIII 1(a)…1(s), 2(a)…2(d), 4(a)…4(d)); '' where the point has none (3) or
   * Annex XIII does not name the attribute, so that its point is our choice (README says why for each).
   */
  letter: string;
  /** What Annex XIII says there, in a few words. */
  covers: string;
  /** For a list attribute split between points: which items this row covers. */
  items?: (item: unknown) => boolean;
  /** With `items`: the only fields of those items this row opens (another row opens the rest); all when absent. */
  fields?: readonly string[];
};

const all = (): boolean => true;
const isCritical = (item: unknown): boolean => (item as { isCriticalRawMaterial?: unknown })?.isCriticalRawMaterial === true;

const row = (aspect: Aspect, path: string, point: AnnexPoint, letter: string, covers: string, items?: AnnexRow['items'], fields?: AnnexRow['fields']): AnnexRow => ({
  aspect,
  path,
  point,
  letter,
  covers,
  ...(items ? { items } : {}),
  ...(fields ? { fields } : {}),
});

/** Of a list item a row covers, what the row opens: the fields it names, or all of it. */
export function openedPart(r: AnnexRow, item: unknown): unknown {
  if (!r.fields || item === null || typeof item !== 'object') return item;
  return Object.fromEntries(Object.entries(item).filter(([k]) => r.fields!.includes(k)));
}

const G = 'generalProductInformation';
const PT = 'performance';

/**
 * Every attribute of the seven aspects and the Annex XIII point that opens it. An attribute not listed is
 * shown to nobody but the battery's own operator (deny by default); a unit test checks the table covers
 * every attribute the consortium's schemas define. README "Battery passport" prints the same table.
 */
export const ANNEX_XIII: readonly AnnexRow[] = [
  row(G, 'productIdentifier', 1, 'a', 'Annex VI Part A: identification of the battery'),
  row(G, 'batteryPassportIdentifier', 1, 'a', 'Annex VI Part A: identification of the battery (Art. 77(3) unique identifier)'),
  row(G, 'batteryCategory', 1, 'a', 'Annex VI Part A: battery category'),
  row(G, 'manufacturerInformation', 1, 'a', 'Annex VI Part A: manufacturer'),
  row(G, 'manufacturingDate', 1, 'a', 'Annex VI Part A: date of manufacture'),
  row(G, 'manufacturingPlace', 1, 'a', 'Annex VI Part A: place of manufacture'),
  row(G, 'batteryMass', 1, 'a', 'Annex VI Part A: weight'),
  row(G, 'operatorInformation', 1, 'a', 'Annex VI Part A: the economic operator responsible (Art. 77(4))'),
  row(G, 'warrentyPeriod', 1, 'm', 'period for which the commercial warranty for the calendar life applies'),
  row(G, 'batteryStatus', 4, 'c', "status: 'original', 'repurposed', 're-used', 'remanufactured' or 'waste'"),
  row(G, 'puttingIntoService', 4, 'd', 'information and data resulting from the use of the individual battery'),

  row('carbonFootprint', 'batteryCarbonFootprint', 1, 'c', 'carbon footprint, Art. 7(1) and (2)'),
  row('carbonFootprint', 'carbonFootprintPerLifecycleStage', 1, 'c', 'carbon footprint, Art. 7(1) and (2)'),
  row('carbonFootprint', 'carbonFootprintPerformanceClass', 1, 'c', 'carbon footprint performance class, Art. 7(2)'),
  row('carbonFootprint', 'carbonFootprintStudy', 1, 'c', 'carbon footprint study, Art. 7(1)'),
  row('carbonFootprint', 'absoluteCarbonFootprint', 1, 'c', 'carbon footprint, Art. 7(1)'),

  row('circularity', 'dismantlingAndRemovalInformation', 2, 'c', 'dismantling information: diagrams, sequences, fastenings, tools, warnings'),
  row('circularity', 'sparePartSources', 2, 'b', 'part numbers of components and contact details of sources of spare parts'),
  row('circularity', 'recycledContent', 1, 'e', 'recycled content, Art. 8(1)'),
  row('circularity', 'renewableContent', 1, 'f', 'share of renewable content'),
  row('circularity', 'safetyMeasures.safetyInstructions', 2, 'd', 'safety measures'),
  row('circularity', 'safetyMeasures.extinguishingAgent', 1, 'a', 'Annex VI Part A: usable extinguishing agent'),
  row('circularity', 'endOfLifeInformation', 1, 's', 'prevention and management of waste batteries, Art. 74(1)(a) to (f)'),

  row('materialComposition', 'batteryChemistry', 1, 'b', 'chemistry'),
  // Annex XIII 1(b) makes public "the material composition, including its chemistry, the hazardous substances contained in
  // the battery other than mercury, cadmium or lead, and the critical raw materials contained": which substances, what
  // they are and what harm they do. Where each sits and how much of it there is, is the "detailed composition,
  // including materials used in the cathode, anode and electrolyte" of 2(a), as for the critical raw materials below.
  row('materialComposition', 'hazardousSubstances', 1, 'b', 'hazardous substances present: name, identifier, class and impact', all, [
    'hazardousSubstanceName',
    'hazardousSubstanceIdentifier',
    'hazardousSubstanceClass',
    'hazardousSubstanceImpact',
  ]),
  row('materialComposition', 'hazardousSubstances', 2, 'a', 'detailed composition: location and concentration of the hazardous substances', all),
  // 1(b) makes public which critical raw materials are present; where they sit and how much is detailed composition, 2(a).
  row('materialComposition', 'batteryMaterials', 1, 'b', 'critical raw materials present: name and identifier only', isCritical, [
    'batteryMaterialName',
    'batteryMaterialIdentifier',
    'isCriticalRawMaterial',
  ]),
  row('materialComposition', 'batteryMaterials', 2, 'a', 'detailed composition: location and mass of the critical raw materials', isCritical),
  row('materialComposition', 'batteryMaterials', 2, 'a', 'detailed composition: the other materials (cathode, anode, electrolyte…)', (item) => !isCritical(item)),

  row('labeling', 'labels', 1, 'q', 'labelling and marking, Art. 13(3) and (4)'),
  row('labeling', 'declarationOfConformity', 1, 'r', 'EU declaration of conformity, Art. 18'),
  row('labeling', 'resultOfTestReport', 3, '', 'results of test reports proving compliance'),

  row('supplyChainDueDiligence', 'supplyChainDueDiligenceReport', 1, 'd', 'responsible sourcing: due diligence report, Art. 52(3)'),
  row('supplyChainDueDiligence', 'thirdPartyAussurances', 1, 'd', 'responsible sourcing: third-party verification, Art. 52(3)'),
  row('supplyChainDueDiligence', 'supplyChainIndicies', 1, 'd', 'responsible sourcing, Art. 52(3)'),

  row(PT, 'batteryTechicalProperties.ratedCapacity', 1, 'g', 'rated capacity (Ah)'),
  row(PT, 'batteryTechicalProperties.ratedEnergy', 2, '', 'not an Annex XIII item: certified usable energy (UN GTR 22); DIN DKE SPEC 99100: legitimate interest'),
  row(PT, 'batteryTechicalProperties.minimumVoltage', 1, 'h', 'minimal voltage'),
  row(PT, 'batteryTechicalProperties.nominalVoltage', 1, 'h', 'nominal voltage'),
  row(PT, 'batteryTechicalProperties.maximumVoltage', 1, 'h', 'maximal voltage'),
  row(PT, 'batteryTechicalProperties.originalPowerCapability', 1, 'i', 'original power capability (W) and limits'),
  row(PT, 'batteryTechicalProperties.ratedMaximumPower', 1, 'i', 'original power capability (W) and limits'),
  row(PT, 'batteryTechicalProperties.powerCapabilityRatio', 1, 'i', 'not named by Annex XIII: read as one of the power limits of 1(i)'),
  row(PT, 'batteryTechicalProperties.expectedNumberOfCycles', 1, 'j', 'expected lifetime in cycles'),
  row(PT, 'batteryTechicalProperties.lifetimeReferenceTest', 1, 'j', 'reference test used for the expected lifetime'),
  row(PT, 'batteryTechicalProperties.capacityThresholdForExhaustion', 1, 'k', 'capacity threshold for exhaustion (EV batteries)'),
  row(PT, 'batteryTechicalProperties.temperatureRangeIdleState', 1, 'l', 'temperature range the battery withstands when not in use'),
  row(PT, 'batteryTechicalProperties.roundtripEfficiency', 1, 'n', 'initial round trip energy efficiency'),
  row(PT, 'batteryTechicalProperties.initialInternalResistance', 1, 'o', 'internal battery cell and pack resistance'),
  row(PT, 'batteryTechicalProperties.cRateLifeCycleTest', 1, 'p', 'C-rate of the relevant cycle-life test'),
  row(PT, 'batteryTechicalProperties.expectedLifetime', 4, 'a', 'performance and durability values: expected lifetime in calendar years (1(j) is cycles only)'),
  row(PT, 'batteryTechicalProperties.cRate', 4, 'a', 'not an Annex XIII item: power/energy ratio, updated as 4(a) values are; DIN: legitimate interest'),
  row(PT, 'batteryTechicalProperties.initialSelfDischarge', 4, 'b', 'state of health (Art. 14): the baseline of the evolution of self-discharging rates'),

  row(PT, 'batteryCondition.roundTripEfficiencyat50PerCentCycleLife', 1, 'n', 'round trip energy efficiency at 50 % of cycle life'),
  ...(['capacityFade', 'powerFade', 'roundTripEfficiencyFade', 'internalResistanceIncrease'] as const).map((a) =>
    row(PT, `batteryCondition.${a}`, 4, 'a', 'performance and durability values (Annex IV Part A) of the individual battery'),
  ),
  ...(
    [
      'stateOfCertifiedEnergy',
      'remainingEnergy',
      'remainingCapacity',
      'remainingPowerCapability',
      'remainingRoundTripEnergyEfficiency',
      'evolutionOfSelfDischarge',
      'currentSelfDischargingRate',
    ] as const
  ).map((a) => row(PT, `batteryCondition.${a}`, 4, 'b', 'state of health of the battery (Art. 14)')),
  ...(['energyThroughput', 'capacityThroughput', 'numberOfFullCycles', 'negativeEvents', 'temperatureInformation', 'stateOfCharge'] as const).map((a) =>
    row(PT, `batteryCondition.${a}`, 4, 'd', 'data resulting from use: cycles, negative events, operating conditions, state of charge'),
  ),
];

/** Who reads a battery passport, by Art. 77(2) group. */
export type BatteryAudience = 'PUBLIC' | 'LEGITIMATE_INTEREST' | 'AUTHORITY' | 'OWNER' | 'OPERATOR';

/**
 * The points each audience reads. The operator (the brand or repurposer whose passport it is) reads all.
 * The battery's current owner reads the public part and its own battery's data (point 4; Art. 14(1) gives the
 * purchaser read access to the state of health), not the restricted model information of points 2 and 3.
 */
export const AUDIENCE_POINTS: Readonly<Record<BatteryAudience, ReadonlySet<AnnexPoint>>> = {
  PUBLIC: new Set([1]),
  AUTHORITY: new Set([1, 2, 3]),
  LEGITIMATE_INTEREST: new Set([1, 2, 4]),
  OWNER: new Set([1, 4]),
  OPERATOR: new Set([1, 2, 3, 4]),
};

type Json = Record<string, unknown>;

function getPath(doc: Json, path: string[]): unknown {
  let cur: unknown = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Json)[k];
  }
  return cur;
}

function setPath(doc: Json, path: string[], value: unknown): void {
  let cur = doc;
  for (const k of path.slice(0, -1)) {
    if (!Object.hasOwn(cur, k)) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[path[path.length - 1]!] = value;
}

/**
 * A list split between rows (batteryMaterials), as `points` opens it, in the document's order: an item is
 * whole when an open row covers all of it, else the union of the fields its open rows name, else left out.
 */
function openList(list: unknown[], rows: readonly AnnexRow[], points: ReadonlySet<AnnexPoint>): unknown[] {
  return list.flatMap((item) => {
    const open = rows.filter((r) => points.has(r.point) && r.items!(item));
    if (open.length === 0) return [];
    if (open.some((r) => !r.fields)) return [structuredClone(item)];
    return [structuredClone(Object.assign({}, ...open.map((r) => openedPart(r, item))))];
  });
}

/**
 * The part of a full battery pass (one object per aspect) that `points` opens, built from the table alone:
 * whatever the table does not name is left out. Aspects with nothing to show are left out too.
 */
export function filterBatteryPass(full: Readonly<Record<string, Json | undefined>>, points: ReadonlySet<AnnexPoint>): Record<string, Json> {
  const out: Record<string, Json> = {};
  const listsDone = new Set<string>();
  for (const r of ANNEX_XIII) {
    const doc = full[r.aspect];
    if (!doc) continue;
    const path = r.path.split('.');
    let value = getPath(doc, path);
    if (value === undefined) continue;
    if (r.items) {
      // All rows of a split list at once, at its first row.
      const key = `${r.aspect}.${r.path}`;
      if (listsDone.has(key) || !Array.isArray(value)) continue;
      listsDone.add(key);
      value = openList(value, ANNEX_XIII.filter((x) => x.aspect === r.aspect && x.path === r.path), points);
      if ((value as unknown[]).length === 0) continue;
    } else if (!points.has(r.point)) continue;
    else value = structuredClone(value);
    out[r.aspect] ??= {};
    setPath(out[r.aspect]!, path, value);
  }
  // In the document's aspect order, not the table's.
  return Object.fromEntries(Object.keys(full).flatMap((a) => (out[a] ? [[a, out[a]!]] : [])));
}
