import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { rawQuery } from '../../db/raw.js';
import { toClaim, type WarrantyClaimRecord } from '../warranty/warranty.service.js';
import { type OwnershipRecord, toOwnership } from './ownership.service.js';
import type { Context } from '../../context/request-context.js';

/** Per-request loaders of the ownership and warranty features. */
export function createOwnershipLoaders(em: EntityManager) {
  return {
    /** The open ownership of each unit (its current owner), one query per page of passports. */
    currentOwnershipByPassport: new DataLoader<string, OwnershipRecord | null>(async (ids) => {
      const rows = await rawQuery<Parameters<typeof toOwnership>[0]>(em, `select * from ownership where passport_id = any($1::uuid[]) and ended_at is null`, [ids]);
      const byPassport = new Map(rows.map((r) => [r.passport_id, toOwnership(r)]));
      return ids.map((id) => byPassport.get(id) ?? null);
    }),
    /** Warranty claims of each unit, oldest first. */
    warrantyClaimsByPassport: new DataLoader<string, WarrantyClaimRecord[]>(async (ids) => {
      const rows = await rawQuery<Parameters<typeof toClaim>[0]>(em, `select * from warranty_claim where passport_id = any($1::uuid[]) order by id`, [ids]);
      const byPassport = new Map<string, WarrantyClaimRecord[]>(ids.map((id) => [id, []]));
      for (const r of rows) byPassport.get(r.passport_id)?.push(toClaim(r));
      return ids.map((id) => byPassport.get(id) ?? []);
    }),
  };
}

/** This request's ownership loaders. */
export const ownershipLoaders = (ctx: Context) => ctx.loaders(createOwnershipLoaders);
