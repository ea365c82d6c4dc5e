import { once } from 'node:events';
import type { MikroORM } from '@mikro-orm/postgresql';
import { stringify } from 'csv-stringify';
import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Config } from '../../config/config.js';
import { AppError } from '../../errors/app-error.js';
import type { Authenticate, Viewer } from '../../context/viewer.js';
import { labelService } from './label.service.js';
import { parseLayout, writeLabelPdf } from './pdf.js';
import { pngLabel, svgLabel } from './render.js';
import { elementString, encode, humanReadable, parseModuleSize, parseSymbolQuery } from './symbol.js';

type Deps = { orm: MikroORM; config: Config; masterKey: Uint8Array; authenticate: Authenticate };

const STATUS: Record<string, number> = { BAD_USER_INPUT: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404 };

/** Route handler whose AppErrors answer as JSON errors like the rest of the API; anything else goes to Express. */
function handle(fn: (req: Request, res: Response, viewer: Viewer) => Promise<void>, deps: Deps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      await fn(req, res, await deps.authenticate(req.headers.authorization));
    } catch (e) {
      if (e instanceof AppError && STATUS[e.code] && !res.headersSent) {
        res.status(STATUS[e.code]!).json({ error: { code: e.code, message: e.message } });
        return;
      }
      next(e);
    }
  };
}

/**
 * Print-ready carriers: a unit's QR or Data Matrix as SVG or PNG, a batch's CSV and PDF label sheet. The unit's
 * brand and the platform only. Batch files hold claim codes (CSV always, PDF with `?claimCodes=1`) for units
 * nobody owns yet; every batch download is audited.
 */
export function labelRouter(deps: Deps): Router {
  const router = Router();
  router.get(
    '/labels/units/:file',
    handle(async (req, res, viewer) => {
      const match = /^(.+)\.(svg|png)$/.exec(req.params.file as string);
      if (!match) {
        res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Labels are /labels/units/<passportId>.svg or .png' } });
        return;
      }
      const format = match[2] as 'svg' | 'png';
      const o = parseSymbolQuery(req.query);
      const size = parseModuleSize(req.query, format);
      const unit = await labelService.unit(deps.orm.em.fork(), deps.config, viewer, match[1]!);
      const text = o.symbology === 'gs1datamatrix' ? elementString(unit) : unit.digitalLink;
      const lines = o.text ? humanReadable(unit) : [];
      res.setHeader('cache-control', 'private, no-store');
      if (format === 'svg') res.type('image/svg+xml').send(svgLabel(encode(text, o), size, lines));
      else res.type('image/png').send(await pngLabel(text, o, size, lines));
    }, deps),
  );

  router.get(
    '/labels/batches/:file',
    handle(async (req, res, viewer) => {
      const match = /^(.+)\.(csv|pdf)$/.exec(req.params.file as string);
      if (!match) {
        res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Batch labels are /labels/batches/<batchId>.csv or .pdf' } });
        return;
      }
      const format = match[2] as 'csv' | 'pdf';
      const o = format === 'pdf' ? parseSymbolQuery(req.query) : undefined;
      const layout = format === 'pdf' ? parseLayout(req.query.layout) : undefined;
      const withClaimCodes = format === 'csv' || req.query.claimCodes === '1';
      const requestId = String(res.getHeader('x-request-id') ?? '');
      const { pages } = await labelService.batch(deps.orm.em.fork(), deps.config, deps.masterKey, viewer, match[1]!, { format, withClaimCodes, requestId });
      res.setHeader('cache-control', 'private, no-store');
      res.setHeader('content-disposition', `attachment; filename="batch-${match[1]}.${format}"`);
      if (format === 'pdf') {
        res.type('application/pdf');
        await writeLabelPdf(res, pages(), o!, layout!, `Labels of batch ${match[1]}`);
        return;
      }
      res.type('text/csv; charset=utf-8');
      const csv = stringify({ header: true, columns: ['gtin', 'serial', 'lot', 'epc_uri', 'digital_link', 'claim_code'] });
      csv.pipe(res);
      for await (const units of pages()) {
        for (const u of units) {
          if (!csv.write([u.gtin, u.serial, u.lot ?? '', u.sgtinUri, u.digitalLink, u.claimCode ?? ''])) await once(csv, 'drain');
        }
      }
      csv.end();
      await once(res, 'finish');
    }, deps),
  );
  return router;
}
