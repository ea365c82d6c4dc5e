import { readFileSync } from 'node:fs';
import { type Response, Router } from 'express';

/**
 * Script, styles and API calls from this origin only; nothing inline, nothing third-party, no framing,
 * no form posts (the page's forms are handled by its script).
 */
export const OWNER_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS = new URL('./owner-page/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, ASSETS));

function send(res: Response, type: string, body: Buffer): void {
  res.setHeader('content-type', type);
  res.setHeader('content-security-policy', OWNER_PAGE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cache-control', 'no-cache');
  res.send(body);
}

/**
 * The owner page (`GET /owner`): create a passkey account, sign in, claim a unit, offer and accept
 * transfers, file warranty claims, list one's units; it talks to `/graphql` like any client. Static
 * files under `owner-page/` (copied next to the compiled module by the build), read once at start.
 */
export function ownerPageRouter(): Router {
  const html = read('index.html');
  const js = read('owner.js');
  const css = read('owner.css');
  const router = Router();
  router.get('/owner', (_req, res) => send(res, 'text/html; charset=utf-8', html));
  router.get('/owner/owner.js', (_req, res) => send(res, 'text/javascript; charset=utf-8', js));
  router.get('/owner/owner.css', (_req, res) => send(res, 'text/css; charset=utf-8', css));
  return router;
}
