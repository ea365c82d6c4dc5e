import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { vectorsDir } from '../unit/vectors.js';

// CommonJS modules: `.default` is the class / plugin under both TypeScript and Node (see test/unit/epcis.test.ts).
const Ajv04 = Ajv04Module.default;
const addFormats = addFormatsModule.default;

/** The consortium's file name of each aspect of `Passport.batteryPass`. */
export const ASPECT_FILES = {
  generalProductInformation: 'GeneralProductInformation',
  carbonFootprint: 'CarbonFootprintForBatteries',
  circularity: 'Circularity',
  materialComposition: 'MaterialComposition',
  performance: 'PerformanceAndDurability',
  labeling: 'Labeling',
  supplyChainDueDiligence: 'SupplyChainDueDiligence',
} as const;
export type AspectName = keyof typeof ASPECT_FILES;

const dir = () => path.join(vectorsDir!, 'batterypass');
export const readVector = (name: string): any => JSON.parse(readFileSync(path.join(dir(), name), 'utf8'));

/** One ajv-draft-04 validator per aspect, compiled from the public vectors (the oracle), not the product's copies. */
export function oracleValidators(): Record<AspectName, ValidateFunction> {
  const ajv = new Ajv04({ allErrors: true, strict: false });
  addFormats(ajv);
  return Object.fromEntries(Object.entries(ASPECT_FILES).map(([aspect, file]) => [aspect, ajv.compile(readVector(`${file}-schema.json`))])) as Record<AspectName, ValidateFunction>;
}

/** Circularity has no example payload among the vectors: a small valid document, written here. */
export const CIRCULARITY = {
  dismantlingAndRemovalInformation: [{ documentType: 'DismantlingManual', mimeType: 'application/pdf', documentURL: 'https://example.com/dismantling.pdf' }],
  sparePartSources: [
    {
      nameOfSupplier: 'Spare Cells GmbH',
      addressOfSupplier: { addressCountry: 'DE', postalCode: '10719', streetAddress: 'Hindenburgstr. 10' },
      emailAddressOfSupplier: 'parts@spare-cells.example',
      supplierWebAddress: 'https://spare-cells.example',
      components: [{ partName: 'Cell module', partNumber: 'CM-48-01' }],
    },
  ],
  recycledContent: [{ recycledMaterial: 'Cobalt', preConsumerShare: 4, postConsumerShare: 12 }],
  safetyMeasures: { safetyInstructions: 'https://example.com/safety.pdf', extinguishingAgent: ['Water', 'Class D powder'] },
  endOfLifeInformation: {
    wastePrevention: 'https://example.com/waste-prevention',
    separateCollection: 'https://example.com/separate-collection',
    informationOnCollection: 'https://example.com/collection-points',
  },
  renewableContent: 7,
};

/** Model-level Battery Pass data built from the consortium's example payloads (read at run time, never copied). */
export function modelData(): Record<AspectName, Record<string, any>> {
  const general = readVector('GeneralProductInformation-payload.json');
  const materials = readVector('MaterialComposition-payload.json');
  // The consortium's own example fails its CAS-number pattern (a trailing space); the model needs a valid one.
  materials.batteryMaterials[0].batteryMaterialIdentifier = '7439-93-2';
  materials.batteryMaterials.push({
    batteryMaterialIdentifier: '96-49-1',
    batteryMaterialName: 'Ethylene carbonate',
    batteryMaterialMass: 0.12,
    batteryMaterialLocation: { componentName: 'Electrolyte' },
    isCriticalRawMaterial: false,
  });
  const pick = (o: any, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));
  return {
    generalProductInformation: pick(general, ['manufacturerInformation', 'operatorInformation', 'manufacturingPlace', 'batteryMass', 'warrentyPeriod']),
    carbonFootprint: readVector('CarbonFootprintForBatteries-payload.json'),
    circularity: structuredClone(CIRCULARITY),
    materialComposition: materials,
    performance: { batteryTechicalProperties: readVector('PerformanceAndDurability-payload.json').batteryTechicalProperties },
    labeling: readVector('Labeling-payload.json'),
    supplyChainDueDiligence: readVector('SupplyChainDueDiligence-payload.json'),
  };
}

/** A `batteryCondition` from the consortium's example, valid against the Performance schema. */
export const exampleCondition = (): Record<string, any> => readVector('PerformanceAndDurability-payload.json').batteryCondition;
