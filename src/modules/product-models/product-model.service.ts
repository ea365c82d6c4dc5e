import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, gtinHasCompanyPrefix, parseGtin } from '../../gs1/index.js';
import { AuditLog } from '../audit/audit-log.entity.js';
import { batteryService, type BatteryModelInput } from '../batteries/battery.service.js';
import { OPERATOR_KINDS, Organization, type OrgKind } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { type Dpp, parseDpp } from './product-model.dpp.js';
import { type IProductModel, ProductModel } from './product-model.entity.js';
import { parseProductLinks } from './product-model.links.js';
import { MAX_LOCATION_DECIMALS } from '../verification/scan-privacy.js';

export type ProductModelInput = {
  gtin: string;
  name: string;
  category?: string | null;
  warrantyMonths?: number | null;
  authorisedMarkets?: string[] | null;
  maxLifetimeScans?: number | null;
  scanRecording?: 'STANDARD' | 'MINIMAL' | null;
  scanLocationDecimals?: number | null;
  /** Raw JSON from the caller; validated by parseDpp. */
  dpp?: unknown;
  /** Brand pages per GS1 link type; validated by parseProductLinks. */
  links?: unknown;
  /** Battery data (issue 21); validated against the Battery Pass schemas. */
  battery?: BatteryModelInput | null;
};

/** What updateProductModel may replace. */
export type ProductModelUpdate = { battery?: BatteryModelInput | null };

/** Organisation kinds that read a model's full DPP whoever its brand is (authorities, recyclers, repairers). */
const FULL_DPP_KINDS: ReadonlySet<OrgKind> = new Set(['PLATFORM', 'REGULATOR', 'CUSTOMS', 'RECYCLER', 'SERVICE_PARTNER']);

/** GTIN-14 from any GTIN-8/12/13/14; every malformation is the caller's input error on `gtin`. */
function gtinInput(raw: string): string {
  try {
    return parseGtin(raw);
  } catch (err) {
    if (err instanceof Gs1Error) throw new BadInputError(`gtin: ${err.message}`, { field: 'gtin', reason: err.reason });
    throw err;
  }
}

function intInRange(field: string, value: number | null | undefined, min: number, max: number): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadInputError(`${field}: must be a whole number from ${min} to ${max}`, { field, value });
  }
  return value;
}

function normaliseInput(input: ProductModelInput) {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 200) throw new BadInputError('name: must be 1 to 200 characters', { field: 'name' });
  const category = input.category?.trim() || null;
  if (category && category.length > 100) throw new BadInputError('category: must be at most 100 characters', { field: 'category' });
  const scanRecording = input.scanRecording ?? 'STANDARD';
  const scanLocationDecimals = intInRange('scanLocationDecimals', input.scanLocationDecimals, 0, MAX_LOCATION_DECIMALS);
  if (scanRecording === 'MINIMAL' && scanLocationDecimals !== null) {
    throw new BadInputError('scanLocationDecimals: a MINIMAL model keeps no location', { field: 'scanLocationDecimals' });
  }
  const dpp: Dpp | null = input.dpp === null || input.dpp === undefined ? null : parseDpp(input.dpp);
  return {
    gtin: gtinInput(input.gtin),
    name,
    category,
    warrantyMonths: intInRange('warrantyMonths', input.warrantyMonths, 0, 600),
    maxLifetimeScans: intInRange('maxLifetimeScans', input.maxLifetimeScans, 1, 1_000_000_000),
    scanRecording,
    scanLocationDecimals,
    authorisedMarkets: normaliseMarkets(input.authorisedMarkets, 'authorisedMarkets'),
    dpp,
    links: input.links === null || input.links === undefined ? null : parseProductLinks(input.links),
    battery: input.battery ? batteryService.parseModel(input.battery) : null,
  };
}

function duplicate(gtin: string): ConflictError {
  return new ConflictError(`A product model with GTIN ${gtin} already exists`, { field: 'gtin', gtin });
}

/**
 * Whether the viewer reads a model's full DPP: its own brand, the platform, authorities,
 * recyclers and service partners. Everyone else (anonymous, retailers, other brands) gets publicDpp.
 */
export function canSeeFullDpp(viewer: Viewer, brandId: string): boolean {
  if (viewer.kind !== 'ORGANIZATION') return false;
  if (viewer.orgKind === 'BRAND') return viewer.organizationId === brandId;
  return FULL_DPP_KINDS.has(viewer.orgKind);
}

/** Product models (one per GTIN) and their DPP data. Knows nothing of GraphQL. */
export const productModelService = {
  /**
   * Registers a model for a GTIN under one of the calling brand's GS1 company prefixes. A SERVICE_PARTNER registers
   * battery models only, under its own prefixes: the batteries it makes by repurposing or remanufacturing.
   * BAD_USER_INPUT for malformed input, FORBIDDEN outside the caller's prefixes, CONFLICT when the
   * GTIN already has a model (the unique index decides between concurrent creates).
   */
  async create(em: EntityManager, viewer: Viewer, input: ProductModelInput): Promise<IProductModel> {
    if (viewer.kind !== 'ORGANIZATION' || !OPERATOR_KINDS.has(viewer.orgKind)) throw new ForbiddenError('Only a BRAND organisation (or, for battery models, a SERVICE_PARTNER) registers product models');
    if (viewer.orgKind === 'SERVICE_PARTNER' && !input.battery) {
      throw new BadInputError('battery: required: a service partner registers battery models only (for the batteries it repurposes or remanufactures)', { field: 'battery' });
    }
    const data = normaliseInput(input);
    try {
      // A fork per attempt (transactional's default): a refused insert never lingers in the request's unit of work.
      return await em.transactional(async (tx) => {
        const brand = await tx.findOneOrFail(Organization, { id: viewer.organizationId });
        if (!brand.gs1CompanyPrefixes.some((prefix) => gtinHasCompanyPrefix(data.gtin, prefix))) {
          const held = brand.gs1CompanyPrefixes.length ? brand.gs1CompanyPrefixes.join(', ') : 'none';
          throw new ForbiddenError(`gtin: ${data.gtin} is not under any GS1 company prefix of this ${viewer.orgKind === 'BRAND' ? 'brand' : 'service partner'} (held: ${held})`);
        }
        // The usual answer to a duplicate; under a race the unique index on gtin decides (caught below).
        if (await tx.count(ProductModel, { gtin: data.gtin })) throw duplicate(data.gtin);
        const { battery, ...fields } = data;
        const model = tx.create(ProductModel, { ...fields, brand });
        if (battery) batteryService.attachToModel(tx as EntityManager, model, battery);
        return model;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw duplicate(data.gtin);
      throw err;
    }
  },

  /**
   * Replaces parts of the calling brand's (or service partner's) model (for now its battery data, validated like at create), in one
   * transaction with an audit record (`PRODUCT_MODEL_UPDATED`: what changed, and a hash of the replaced data).
   * NOT_FOUND for a GTIN without a model of this brand; nothing is written on a refusal.
   */
  async update(em: EntityManager, viewer: Viewer, gtin: string, input: ProductModelUpdate): Promise<IProductModel> {
    if (viewer.kind !== 'ORGANIZATION' || !OPERATOR_KINDS.has(viewer.orgKind)) throw new ForbiddenError('Only a BRAND or SERVICE_PARTNER organisation updates its product models');
    const g = gtinInput(gtin);
    if (!input.battery) throw new BadInputError('input: nothing to update', { field: 'input' });
    const battery = batteryService.parseModel(input.battery);
    return em.transactional(async (tx) => {
      const model = await tx.findOne(ProductModel, { gtin: g, brand: viewer.organizationId });
      if (!model) throw new NotFoundError('ProductModel', g);
      const previous = await batteryService.replaceModelData(tx as EntityManager, model.id, battery);
      tx.create(AuditLog, {
        organization: viewer.organizationId,
        apiKeyId: viewer.apiKeyId,
        action: 'PRODUCT_MODEL_UPDATED',
        passportId: null,
        details: { gtin: g, changed: ['battery'], batteryCategory: battery.category, ...previous },
      });
      return model;
    });
  },

  /** The model of a GTIN (any of GTIN-8/12/13/14), or null when none is registered. */
  async get(em: EntityManager, gtin: string): Promise<IProductModel | null> {
    return em.findOne(ProductModel, { gtin: gtinInput(gtin) });
  },
};
