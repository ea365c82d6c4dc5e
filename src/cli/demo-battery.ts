import { randomBytes } from 'node:crypto';
import { gtinCheckDigit } from '../gs1/index.js';

type Gql = <T>(query: string, variables?: Record<string, unknown>, key?: string) => Promise<T>;

const address = { addressCountry: 'DE', postalCode: '04109', streetAddress: 'Batteriestraße 1, Leipzig' };
const operator = { contactName: 'Demo eBike Energy GmbH', identifier: 'DE123456789', postalAddress: address, webAddress: 'https://ebike-energy.example' };
const at = '2026-12-01T08:00:00Z';

/** Model-level Battery Pass 1.2.0 data of a 36 V, 500 Wh e-bike battery (an LMT battery): invented but plausible. */
export const EBIKE_BATTERY_DATA = {
  generalProductInformation: { manufacturerInformation: operator, operatorInformation: operator, manufacturingPlace: address, batteryMass: 2.9, warrentyPeriod: '--12' },
  carbonFootprint: {
    batteryCarbonFootprint: 61.5,
    carbonFootprintPerLifecycleStage: [
      { lifecycleStage: 'RawMaterialExtraction', carbonFootprint: 38.2 },
      { lifecycleStage: 'MainProduction', carbonFootprint: 19.1 },
      { lifecycleStage: 'Distribution', carbonFootprint: 2.4 },
      { lifecycleStage: 'Recycling', carbonFootprint: 1.8 },
    ],
    carbonFootprintPerformanceClass: 'B',
    carbonFootprintStudy: 'https://ebike-energy.example/docs/carbon-footprint-study.pdf',
  },
  circularity: {
    dismantlingAndRemovalInformation: [{ documentType: 'DismantlingManual', mimeType: 'application/pdf', documentURL: 'https://ebike-energy.example/docs/dismantling.pdf' }],
    sparePartSources: [
      {
        nameOfSupplier: 'Demo eBike Energy Service',
        addressOfSupplier: address,
        emailAddressOfSupplier: 'parts@ebike-energy.example',
        supplierWebAddress: 'https://ebike-energy.example/parts',
        components: [{ partName: 'Battery management board', partNumber: 'BMS-36-500' }],
      },
    ],
    recycledContent: [
      { recycledMaterial: 'Cobalt', preConsumerShare: 3, postConsumerShare: 9 },
      { recycledMaterial: 'Nickel', preConsumerShare: 1, postConsumerShare: 5 },
    ],
    safetyMeasures: { safetyInstructions: 'https://ebike-energy.example/docs/safety.pdf', extinguishingAgent: ['Water (large amounts)'] },
    endOfLifeInformation: {
      wastePrevention: 'https://ebike-energy.example/end-of-life/prevention',
      separateCollection: 'https://ebike-energy.example/end-of-life/separate-collection',
      informationOnCollection: 'https://ebike-energy.example/end-of-life/take-back',
    },
    renewableContent: 0,
  },
  materialComposition: {
    batteryChemistry: { shortName: 'NMC', clearName: 'Lithium nickel manganese cobalt oxide' },
    batteryMaterials: [
      { batteryMaterialIdentifier: '7439-93-2', batteryMaterialName: 'Lithium', batteryMaterialMass: 0.09, batteryMaterialLocation: { componentName: 'Cathode' }, isCriticalRawMaterial: true },
      { batteryMaterialIdentifier: '7440-48-4', batteryMaterialName: 'Cobalt', batteryMaterialMass: 0.11, batteryMaterialLocation: { componentName: 'Cathode' }, isCriticalRawMaterial: true },
      { batteryMaterialIdentifier: '7782-42-5', batteryMaterialName: 'Graphite', batteryMaterialMass: 0.48, batteryMaterialLocation: { componentName: 'Anode' }, isCriticalRawMaterial: true },
      { batteryMaterialIdentifier: '96-49-1', batteryMaterialName: 'Ethylene carbonate', batteryMaterialMass: 0.14, batteryMaterialLocation: { componentName: 'Electrolyte' }, isCriticalRawMaterial: false },
    ],
    hazardousSubstances: [
      {
        hazardousSubstanceClass: 'AcuteToxicity',
        hazardousSubstanceName: 'Lithium hexafluorophosphate',
        hazardousSubstanceConcentration: 1.2,
        hazardousSubstanceImpact: ['Toxic if swallowed'],
        hazardousSubstanceLocation: { componentName: 'Electrolyte' },
        hazardousSubstanceIdentifier: '21324-40-3',
      },
    ],
  },
  performance: {
    batteryTechicalProperties: {
      originalPowerCapability: [{ atSoC: 80, powerCapabilityAt: 900 }],
      ratedMaximumPower: 1000,
      powerCapabilityRatio: 2,
      ratedEnergy: 0.5,
      expectedNumberOfCycles: 1000,
      initialSelfDischarge: 2,
      roundtripEfficiency: 95,
      ratedCapacity: 13.9,
      initialInternalResistance: [{ ohmicResistance: 0.12, batteryComponent: 'pack' }],
      expectedLifetime: 6,
      cRate: 1,
      nominalVoltage: 36,
      minimumVoltage: 30,
      maximumVoltage: 42,
      capacityThresholdForExhaustion: 70,
      lifetimeReferenceTest: 'https://ebike-energy.example/docs/cycle-life-test.pdf',
      cRateLifeCycleTest: 0.5,
      temperatureRangeIdleState: 45,
    },
  },
  labeling: {
    declarationOfConformity: 'https://ebike-energy.example/docs/eu-declaration-of-conformity.pdf',
    resultOfTestReport: 'https://ebike-energy.example/docs/test-report-un38.3.pdf',
    labels: [{ labelingSubject: 'SeparateCollection', labelingSymbol: 'https://ebike-energy.example/labels/crossed-out-bin.svg', labelingMeaning: { en: 'Collect separately' } }],
  },
  supplyChainDueDiligence: { supplyChainDueDiligenceReport: 'https://ebike-energy.example/docs/due-diligence-report.pdf' },
};

/** One reading of the battery's management system, in the Battery Pass `batteryCondition` shape. */
export const EBIKE_CONDITION = {
  energyThroughput: 48.2,
  capacityThroughput: { capacityThroughputValue: 1340, lastUpdate: at },
  numberOfFullCycles: { numberOfFullCyclesValue: 96, lastUpdate: at },
  stateOfCertifiedEnergy: { stateOfCertifiedEnergyValue: 97, lastUpdate: at },
  capacityFade: { capacityFadeValue: 3, lastUpdate: at },
  remainingEnergy: { remainingEnergyalue: 0.485, lastUpdate: at },
  remainingCapacity: { remainingCapacityValue: 13.5, lastUpdate: at },
  negativeEvents: [],
  temperatureInformation: { timeExtremeHighTemp: 2, timeExtremeLowTemp: 11, timeExtremeHighTempCharging: 0, timeExtremeLowTempCharging: 1, lastUpdate: at },
  remainingPowerCapability: [{ remainingPowerCapabilityValue: { rPCLastUpdated: at, atSoC: 80, powerCapabilityAt: 880 }, lastUpdate: at }],
  powerFade: 2,
  roundTripEfficiencyFade: 1,
  evolutionOfSelfDischarge: { evolutionOfSelfDischargeEntityValue: 0.1 },
  currentSelfDischargingRate: { currentSelfDischargingRateEntity: 2.1, lastUpdate: at },
  internalResistanceIncrease: [{ internalResistanceIncreaseValue: 4, lastUpdate: at, batteryComponent: 'pack' }],
  roundTripEfficiencyat50PerCentCycleLife: 93,
  remainingRoundTripEnergyEfficiency: { remainingRoundTripEnergyEfficiencyValue: 94, lastUpdate: at },
  stateOfCharge: { stateOfChargeValue: 80, lastUpdate: at },
};

/** The e-bike battery part of `npm run demo`: a battery brand, its model, one signed unit and one condition record. */
export async function runBatteryDemo(gql: Gql, platformKey: string, out: (s?: string) => void): Promise<void> {
  const prefix = '4260124';
  const body = prefix + String(10000 + (randomBytes(2).readUInt16BE() % 90000));
  const gtin = body + gtinCheckDigit(body);
  const brand = await gql<{ createOrganization: { id: string } }>(
    'mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }',
    { i: { name: 'Demo eBike Energy GmbH', kind: 'BRAND', gs1CompanyPrefixes: [prefix], markets: ['DE', 'FR', 'NL'] } },
    platformKey,
  );
  const key = (await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "demo") { secret } }', { o: brand.createOrganization.id }, platformKey))
    .createApiKey.secret;
  await gql(
    'mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }',
    { i: { gtin, name: 'e-bike battery 36 V 500 Wh', category: 'LMT battery', warrantyMonths: 24, battery: { category: 'LMT', data: EBIKE_BATTERY_DATA } } },
    key,
  );
  // The plant, registered once: the unit's manufacturingPlace is its address.
  const site = await gql<{ registerManufacturingSite: { id: string } }>(
    'mutation($i: ManufacturingSiteInput!) { registerManufacturingSite(input: $i) { id } }',
    { i: { identifier: 'LEJ-1', name: 'Leipzig pack assembly', address: { streetAddress: 'Batteriestraße 1', postalCode: '04109', addressLocality: 'Leipzig', addressCountry: 'DE' } } },
    key,
  );
  const minted = await gql<{ mintPassports: { passports: { id: string; digitalLink: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id digitalLink } } }',
    { i: { gtin, quantity: 1, siteId: site.registerManufacturingSite.id, idempotencyKey: `demo-battery-${gtin}`, sign: true } },
    key,
  );
  const unit = minted.mintPassports.passports[0]!;
  await gql('mutation($i: BatteryConditionInput!) { recordBatteryCondition(input: $i) { seq } }', { i: { passportId: unit.id, condition: EBIKE_CONDITION } }, key);
  const pub = await gql<{ passport: { batteryPass: Record<string, Record<string, unknown>> } }>('query($id: ID!) { passport(id: $id) { batteryPass } }', { id: unit.id });

  out();
  out('EU battery passport (Regulation (EU) 2023/1542): "Demo eBike Energy GmbH", e-bike battery 36 V 500 Wh (LMT)');
  out(`  GTIN ${gtin}, passport id ${unit.id}, battery API key (shown once): ${key}`);
  out(`  Battery passport link (the QR code): ${unit.digitalLink}`);
  out(`  public part: ${Object.keys(pub.passport.batteryPass).join(', ')}; battery passport identifier ${String(pub.passport.batteryPass.generalProductInformation?.batteryPassportIdentifier)}`);
  out(`  made at: ${JSON.stringify(pub.passport.batteryPass.generalProductInformation?.manufacturingPlace)} (manufacturing site LEJ-1); open the link in a browser for the public facts`);
  out(`  the whole passport (as the brand): query { passport(id: "${unit.id}") { batteryPass } } with the battery API key`);
}
