import { randomUUID } from 'node:crypto';
import { newId } from '../../crypto/random.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { toBase64Url } from '../../crypto/ed25519.js';
import { canonicalJson, canonicalTemplate, sha256Hex } from '../../crypto/jcs.js';
import { isUuid } from '../../db/ids.js';
import { packList, rawQuery, rawWrite, unpack } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, generateSerial, isValidSerial, parseIdentifier } from '../../gs1/index.js';
import { type EventDraft, eventHash, insertEvents } from '../history/chain.js';
import { canMove } from '../history/state-machine.js';
import { type Signer, signingKeyService } from '../keys/signing-key.service.js';
import { OPERATOR_KINDS, Organization } from '../organizations/organization.entity.js';
import { ProductModel } from '../product-models/product-model.entity.js';
import { STATUS_LIST_SIZE } from '../status-lists/bitstring.js';
import { ClaimCodes, identityBytes } from './identity.js';
import { assertBatteryModel, storeBatteryMasses } from '../batteries/battery-mint.js';
import { gtin14, MAX_MINT_QUANTITY, type MintInput, siteTextFor, statusEntriesFor, validateMint } from './mint-input.js';
import { siteService } from '../sites/site.service.js';
import { unitUriFormatter } from './unit-uris.js';
import { type IPassport, MintBatch, Passport, type PassportStatus } from './passport.entity.js';
import type { RequestContext } from '../../context/request-context.js';

/** Units written (and signed) per statement while minting or signing. */
const CHUNK = 10_000;

export type MintedUnit = { id: string; serial: string; sgtinUri: string; digitalLink: string; claimCode: string };
export type MintResult = { batchId: string; passports: MintedUnit[]; replayed: boolean };

export type PassportFilter = {
  gtin?: string | null;
  lot?: string | null;
  status?: PassportStatus | null;
  batchId?: string | null;
  brandId?: string | null;
  manufacturedFrom?: Date | null;
  manufacturedTo?: Date | null;
  updatedSince?: Date | null;
};

/** Organisation kinds that may list every brand's passports: authorities, recyclers and the operator. */
const LIST_ALL: ReadonlySet<string> = new Set(['PLATFORM', 'REGULATOR', 'CUSTOMS', 'RECYCLER']);

function brandOf(viewer: Viewer): { organizationId: string } {
  if (viewer.kind !== 'ORGANIZATION' || viewer.orgKind !== 'BRAND') throw new ForbiddenError('Only a BRAND organisation may do this');
  return viewer;
}


/** Mints, signs and reads passports. Knows nothing of GraphQL. */
export const passportService = {
  /**
   * Creates a batch of units in one transaction: random serials, a MINTED event each, claim codes.
   * Idempotent by (brand, idempotencyKey): a retry answers the same batch; other input is CONFLICT.
   */
  async mint(ctx: RequestContext, input: MintInput): Promise<MintResult> {
    const { organizationId: brandId } = brandOf(ctx.viewer);
    const checked = validateMint(input);
    // The named site, resolved once for the whole batch (one statement, only when a site is named), before anything is written.
    const registered = checked.siteId ? await siteService.forMint(ctx.em, brandId, checked.siteId) : null;
    const v = { ...checked, site: siteTextFor(checked.site, registered), siteId: registered?.id ?? null };
    const signer = v.sign ? await signingKeyService.activeSigner(ctx.em.fork(), ctx.services, brandId) : null;
    const write = await passportService.prepareMint(ctx, brandId, v, signer);
    return ctx.em.transactional((tx) => write(tx as EntityManager));
  },

  /**
   * The mint of {@link mint} for an operator the caller has already authorised (a repurposed battery's, for one):
   * prepares what needs its own short transactions (status list entries), and answers the write, to run in the
   * caller's transaction. `signer` signs every unit (null: mint unsigned).
   */
  async prepareMint(ctx: RequestContext, brandId: string, v: ReturnType<typeof validateMint>, signer: Signer | null): Promise<(tx: EntityManager) => Promise<MintResult>> {
    const { em, services } = ctx;
    const requestHash = sha256Hex(
      canonicalJson({ gtin: v.gtin, quantity: v.quantity, lot: v.lot, site: v.site, carrier: v.carrier, destinationMarkets: v.destinationMarkets, manufacturedAt: v.manufacturedAt?.toISOString() ?? null,
        // Only when set, so the hashes of batches minted before these options existed stay the same.
        ...(v.sign ? { sign: true } : {}), ...(v.batteryMasses ? { batteryMasses: v.batteryMasses } : {}), ...(v.siteId ? { siteId: v.siteId } : {}) }),
    );
    const claimCodes = new ClaimCodes(services.masterKey);
    const status = await statusEntriesFor(em, brandId, v);

    return async (tx) => {
      const brand = await tx.findOneOrFail(Organization, { id: brandId });
      const model = await tx.findOne(ProductModel, { gtin: v.gtin });
      if (!model) throw new NotFoundError('ProductModel', v.gtin);
      if (model.brand.id !== brandId) throw new ForbiddenError('This GTIN belongs to another brand');
      if (v.batteryMasses) await assertBatteryModel(tx, model.id);

      const conn = tx.getConnection();
      const trx = tx.getTransactionContext();
      const now = new Date();
      const batchId = randomUUID();
      // The unique (brand, key) index arbitrates concurrent retries: the loser waits, then sees the winner's row.
      const inserted = await conn.execute<{ id: string }[]>(
        `insert into mint_batch (id, brand_id, model_id, gtin, quantity, idempotency_key, request_hash, lot, site, manufacturing_site_id, carrier, destination_markets, created_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::carrier, ?::text[], ?)
         on conflict (brand_id, idempotency_key) do nothing returning id`,
        [batchId, brandId, model.id, v.gtin, v.quantity, v.key, requestHash, v.lot, v.site, v.siteId, v.carrier, `{${v.destinationMarkets.join(',')}}`, now],
        'all',
        trx,
      );
      if (inserted.length === 0) {
        const existing = await tx.findOneOrFail(MintBatch, { brand: brandId, idempotencyKey: v.key });
        if (existing.requestHash !== requestHash) {
          throw new ConflictError('idempotencyKey was already used for a different mint request', { field: 'idempotencyKey', batchId: existing.id });
        }
        const units = await tx.find(Passport, { batch: existing.id }, { orderBy: { createdAt: 'asc', id: 'asc' } });
        const uriOf = unitUriFormatter(services.config, brand, existing.gtin, existing.lot);
        return {
          batchId: existing.id,
          replayed: true,
          passports: units.map((p) => ({ id: p.id, serial: p.serial, ...uriOf(p.serial, p.signature), claimCode: claimCodes.codeFor(p.id) })),
        };
      }

      const manufacturedAt = v.manufacturedAt ?? now;
      const kid = signer?.kid ?? null;
      const uriOf = unitUriFormatter(services.config, brand, v.gtin, v.lot);
      const minted: MintedUnit[] = [];
      type Draft = { ids: string[]; serials: string[]; claimCodes: string[]; claimHashes: string[]; statusCodes: (number | null)[]; signatures: Promise<Uint8Array[]> | null };
      type Rows = { draft: Draft; heads: string[]; values: (string | null)[]; events: (EventDraft & { id: string; hash: string })[]; units: MintedUnit[] };
      /** New identities; their signatures start on the worker threads at once. */
      const prepare = (count: number): Draft => {
        const draft: Draft = { ids: [], serials: [], claimCodes: [], claimHashes: [], statusCodes: [], signatures: null };
        for (let i = 0; i < count; i++) {
          // Time-ordered ids (UUIDv7) keep index inserts local; serials stay fully random.
          draft.ids.push(newId());
          draft.serials.push(generateSerial());
          draft.statusCodes.push(status.codes.pop() ?? null);
        }
        if (signer) {
          // Started before the claim codes are derived, so the workers sign while this thread works on.
          draft.signatures = signer.sign(draft.serials.map((serial) => identityBytes({ gtin: v.gtin, serial, lot: v.lot })));
          draft.signatures.catch(() => undefined); // awaited by build(); never an unhandled rejection if a write fails first
        }
        for (const id of draft.ids) {
          const { code, hash } = claimCodes.issue(id);
          draft.claimCodes.push(code);
          draft.claimHashes.push(hash);
        }
        return draft;
      };
      // A batch's payloads differ in one member each: their canonical text is joined, not rebuilt, per unit.
      const mintedText = canonicalTemplate({ batchId, gtin: v.gtin, lot: v.lot, site: v.site, carrier: v.carrier }, 'serial');
      const signedText = canonicalTemplate({ kid, algorithm: 'Ed25519' }, 'signature');
      /** The chunk's history: MINTED, and SIGNED linked to it when signing. */
      const build = async (draft: Draft): Promise<Rows> => {
        const signatures = draft.signatures ? await draft.signatures : null;
        const rows: Rows = { draft, heads: [], values: [], events: [], units: [] };
        for (let i = 0; i < draft.ids.length; i++) {
          const passportId = draft.ids[i]!;
          const serial = draft.serials[i]!;
          const mintedEvent: EventDraft = {
            passportId,
            seq: 1,
            type: 'MINTED',
            occurredAt: manufacturedAt,
            recordedAt: now,
            actorId: brandId,
            payload: { batchId, gtin: v.gtin, serial, lot: v.lot, site: v.site, carrier: v.carrier },
            payloadText: mintedText(serial),
            prevHash: null,
          };
          let head = eventHash(mintedEvent);
          rows.events.push({ ...mintedEvent, id: newId(), hash: head });
          const value = signatures ? toBase64Url(signatures[i]!) : null;
          if (value !== null) {
            const signed: EventDraft = {
              passportId,
              seq: 2,
              type: 'SIGNED',
              occurredAt: now,
              recordedAt: now,
              actorId: brandId,
              payload: { kid, algorithm: 'Ed25519', signature: value },
              payloadText: signedText(value),
              prevHash: head,
            };
            head = eventHash(signed);
            rows.events.push({ ...signed, id: newId(), hash: head });
          }
          rows.heads.push(head);
          rows.values.push(value);
          const uris = uriOf(serial, value);
          rows.units.push({ id: passportId, serial, ...uris, claimCode: draft.claimCodes[i]! });
        }
        return rows;
      };
      const write = async ({ draft, heads, values, events, units }: Rows) => {
        // Per-unit columns travel as arrays; batch-wide values are single parameters.
        const written = await rawWrite(
          tx,
          `insert into passport (id, serial, head_hash, claim_code_hash, signature, gtin, brand_id, model_id, batch_id, lot, site,
             manufactured_at, carrier, destination_markets, status, head_seq, kid, signed_at, created_at, updated_at, status_list_id, status_index)
           select u.id, u.serial, u.head_hash, u.claim_code_hash, u.signature, $6, $7, $8, $9, $10, $11, $12, $13::carrier, $14::text[],
             $15::passport_status, $16, $17, $18, $19, $19, ($21::uuid[])[u.status / ${STATUS_LIST_SIZE} + 1], u.status % ${STATUS_LIST_SIZE}
           from unnest(${unpack(1, 'uuid')}, ${unpack(2, 'text')}, ${unpack(3, 'text')}, ${unpack(4, 'text')}, ${unpack(5, 'text')}, ${unpack(20, 'int')})
             as u(id, serial, head_hash, claim_code_hash, signature, status)
           on conflict (gtin, serial) do nothing`,
          [
            packList(draft.ids),
            packList(draft.serials),
            packList(heads),
            packList(draft.claimHashes),
            packList(values),
            v.gtin,
            brandId,
            model.id,
            batchId,
            v.lot,
            v.site,
            manufacturedAt.toISOString(),
            v.carrier,
            v.destinationMarkets,
            signer ? 'SIGNED' : 'MINTED',
            signer ? 2 : 1,
            kid,
            signer ? now.toISOString() : null,
            now.toISOString(),
            packList(draft.statusCodes),
            status.listIds,
          ],
        );
        // Every row written is the rule; only a serial collision makes us ask which ones were.
        const all = written === draft.ids.length;
        const inserted = all ? new Set<string>() : new Set((await rawQuery<{ id: string }>(tx, `select id from passport where id = any($1::uuid[])`, [draft.ids])).map((r) => r.id));
        // A unit lost to a serial collision gives its status entry back to the retry.
        for (let i = 0; !all && i < draft.ids.length; i++) {
          const code = draft.statusCodes[i];
          if (!inserted.has(draft.ids[i]!) && code != null) status.codes.push(code);
        }
        // Nobody can be subscribed to units that do not exist until this commits: nothing to announce.
        await insertEvents(tx, all ? events : events.filter((e) => inserted.has(e.passportId)), { announce: false });
        minted.push(...(all ? units : units.filter((u) => inserted.has(u.id))));
      };
      // Serials are 80 random bits; a collision is astronomically rare but is still retried, never merged.
      for (let attempt = 0; minted.length < v.quantity && attempt < 5; attempt++) {
        const missing = v.quantity - minted.length;
        // Pipelined: while the database writes chunk k, the workers sign chunk k+1 and this thread
        // hashes its history, so the two cores and the database overlap.
        let writing: Promise<void> = Promise.resolve();
        let next: Draft | null = prepare(Math.min(CHUNK, missing));
        for (let done = 0; next; ) {
          const current: Draft = next;
          done += current.ids.length;
          next = done < missing ? prepare(Math.min(CHUNK, missing - done)) : null;
          const rows = await build(current);
          await writing;
          writing = write(rows);
        }
        await writing;
      }
      if (minted.length < v.quantity) throw new Error('could not allocate unique serials');
      if (v.batteryMasses) await storeBatteryMasses(tx, minted.map((u) => u.id), v.batteryMasses);
      return { batchId, passports: minted, replayed: false };
    };
  },

  /**
   * Signs MINTED units of the caller's brand (by batch or ids) with its ACTIVE key, in one transaction:
   * rows are locked, so two concurrent calls sign each unit once. Answers how many were newly signed.
   */
  async sign(ctx: RequestContext, input: { batchId?: string | null; passportIds?: string[] | null }): Promise<{ signed: number; kid: string }> {
    const { em, services, viewer } = ctx;
    const { organizationId: brandId } = brandOf(viewer);
    const byBatch = input.batchId ?? null;
    const ids = input.passportIds ?? null;
    if ((byBatch === null) === (ids === null)) throw new BadInputError('Give exactly one of batchId or passportIds', { field: 'batchId' });
    if (ids && (ids.length === 0 || ids.length > MAX_MINT_QUANTITY)) {
      throw new BadInputError(`passportIds: 1 to ${MAX_MINT_QUANTITY} ids`, { field: 'passportIds' });
    }
    if (byBatch !== null && !isUuid(byBatch)) throw new NotFoundError('MintBatch', byBatch);
    const unique = ids ? [...new Set(ids)] : [];
    const malformed = unique.find((id) => !isUuid(id));
    if (malformed) throw new NotFoundError('Passport', malformed);

    const signer = await signingKeyService.activeSigner(em.fork(), services, brandId);
    return em.transactional(async (tx) => {
      if (byBatch !== null) {
        const batch = await tx.findOne(MintBatch, { id: byBatch, brand: brandId });
        if (!batch) throw new NotFoundError('MintBatch', byBatch);
      }
      type Row = { id: string; gtin: string; serial: string; lot: string | null; status: PassportStatus; head_hash: string; head_seq: number };
      const rows = await rawQuery<Row>(
        tx,
        byBatch !== null
          ? `select id, gtin, serial, lot, status, head_hash, head_seq from passport where brand_id = $1 and batch_id = $2 order by id for update`
          : `select id, gtin, serial, lot, status, head_hash, head_seq from passport where brand_id = $1 and id = any($2::uuid[]) order by id for update`,
        [brandId, byBatch ?? unique],
      );
      if (ids && rows.length !== unique.length) {
        const found = new Set(rows.map((r) => r.id));
        // Another brand's units are reported as not found, like units that do not exist.
        throw new NotFoundError('Passport', unique.find((id) => !found.has(id)));
      }
      const toSign = rows.filter((r) => canMove(r.status, 'SIGNED'));
      if (toSign.length === 0) return { signed: 0, kid: signer.kid };

      const now = new Date();
      const chunks: Row[][] = [];
      for (let i = 0; i < toSign.length; i += CHUNK) chunks.push(toSign.slice(i, i + CHUNK));
      // Pipelined: the key store signs chunk k+1 (on worker threads) while the database writes chunk k.
      let signing = signer.sign(chunks[0]!.map((r) => identityBytes(r)));
      for (let k = 0; k < chunks.length; k++) {
        const signatures = await signing;
        if (k + 1 < chunks.length) {
          signing = signer.sign(chunks[k + 1]!.map((r) => identityBytes(r)));
          signing.catch(() => undefined); // awaited next round; never an unhandled rejection if a write fails first
        }
        const events: (EventDraft & { id: string; hash: string })[] = [];
        const chunk = chunks[k]!;
        const values = chunk.map((r, i) => {
          const value = toBase64Url(signatures[i]!);
          const event: EventDraft = {
            passportId: r.id,
            seq: r.head_seq + 1,
            type: 'SIGNED',
            occurredAt: now,
            recordedAt: now,
            actorId: brandId,
            payload: { kid: signer.kid, algorithm: 'Ed25519', signature: value },
            prevHash: r.head_hash,
          };
          const hash = eventHash(event);
          events.push({ ...event, id: newId(), hash });
          return { value, hash, seq: event.seq };
        });
        await rawQuery(
          tx,
          `update passport p set signature = u.signature, kid = $5, signed_at = $6, status = 'SIGNED', head_hash = u.head_hash,
             head_seq = u.head_seq, updated_at = $6
           from unnest(${unpack(1, 'uuid')}, ${unpack(2, 'text')}, ${unpack(3, 'text')}, ${unpack(4, 'int')}) as u(id, signature, head_hash, head_seq)
           where p.id = u.id`,
          [packList(chunk.map((r) => r.id)), packList(values.map((u) => u.value)), packList(values.map((u) => u.hash)), packList(values.map((u) => u.seq)), signer.kid, now.toISOString()],
        );
        await insertEvents(tx, events);
      }
      return { signed: toSign.length, kid: signer.kid };
    });
  },

  /** Any caller may look a unit up; what it then sees is decided per field by its tier (passport.access.ts). */
  async get(em: EntityManager, _viewer: Viewer, id: string): Promise<IPassport | null> {
    if (!isUuid(id)) return null;
    return em.findOne(Passport, { id });
  },

  async getBySgtin(em: EntityManager, _viewer: Viewer, gtin: string, serial: string): Promise<IPassport | null> {
    const g = gtin14(gtin);
    if (!isValidSerial(serial)) throw new BadInputError('serial: 1 to 20 characters of the GS1 AI 21 character set', { field: 'serial' });
    return em.findOne(Passport, { gtin: g, serial });
  },

  async getByDigitalLink(em: EntityManager, viewer: Viewer, url: string): Promise<IPassport | null> {
    let parsed;
    try {
      parsed = parseIdentifier(url);
    } catch (e) {
      if (e instanceof Gs1Error) throw new BadInputError(`url: ${e.message}`, { field: 'url', reason: e.reason });
      throw e;
    }
    return passportService.getBySgtin(em, viewer, parsed.gtin, parsed.serial);
  },

  /**
   * A page of passports in (createdAt, id) order, which stays stable while new units are minted.
   * Brands and service partners see their own (filter.brandId naming another: FORBIDDEN); authorities and the platform see all (optionally one brand's).
   */
  async list(em: EntityManager, viewer: Viewer, filter: PassportFilter, first: number, after?: string | null) {
    if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError();
    if (!Number.isInteger(first) || first < 1 || first > 500) throw new BadInputError('first: 1 to 500', { field: 'first' });
    const where: Record<string, unknown> = {};
    if (OPERATOR_KINDS.has(viewer.orgKind)) {
      // Another brand's id is a question a brand may not ask (as in scanAnalytics), never silently its own units.
      if (filter.brandId != null && filter.brandId !== viewer.organizationId) throw new ForbiddenError('A brand (or service partner) lists only its own passports: filter.brandId must be its own id or absent');
      where.brand = viewer.organizationId;
    } else if (!LIST_ALL.has(viewer.orgKind)) throw new ForbiddenError(`An organisation of kind ${viewer.orgKind} may not list passports`);
    else if (filter.brandId) where.brand = isUuid(filter.brandId) ? filter.brandId : '00000000-0000-0000-0000-000000000000';
    if (filter.gtin) where.gtin = gtin14(filter.gtin, 'filter.gtin');
    if (filter.lot) where.lot = filter.lot;
    if (filter.status) where.status = filter.status;
    if (filter.batchId) where.batch = isUuid(filter.batchId) ? filter.batchId : '00000000-0000-0000-0000-000000000000';
    const made: Record<string, Date> = {};
    if (filter.manufacturedFrom) made.$gte = filter.manufacturedFrom;
    if (filter.manufacturedTo) made.$lt = filter.manufacturedTo;
    if (Object.keys(made).length) where.manufacturedAt = made;
    if (filter.updatedSince) where.updatedAt = { $gte: filter.updatedSince };
    if (after) {
      const cursor = decodeCursor(after);
      where.$or = [{ createdAt: { $gt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $gt: cursor.id } }];
    }
    const rows = await em.find(Passport, where, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: first + 1 });
    const page = rows.slice(0, first);
    return { items: page, hasNextPage: rows.length > first, cursorOf: encodeCursor };
  },
};

export function encodeCursor(p: Pick<IPassport, 'createdAt' | 'id'>): string {
  return Buffer.from(`${p.createdAt.toISOString()}|${p.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !isUuid(id) || Number.isNaN(createdAt.getTime())) throw new BadInputError('after: not a cursor from this list', { field: 'after' });
  return { createdAt, id };
}
