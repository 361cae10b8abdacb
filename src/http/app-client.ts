import type { NextFunction, Request, Response } from 'express';
import type { LimiterFactory } from '../identity/throttle.ts';

/**
 * An app calling Gatehouse from its back end (GET /api/sessions/:sid, POST /api/v1/apps/token): HTTP Basic with
 * its client id and secret (RFC 6749 §2.3.1), the realm by Host — the app calls its token's `iss`.
 */

/** Whether `secret` is the secret of app `clientId` of realm `realmId` (Realms.appSecretMatches: env var or generated). */
export type AppSecretCheck = (realmId: string, clientId: string, secret: string) => boolean;

/** Session ids are 16 random bytes, base64url; anything else cannot be one. */
export const SESSION_ID = /^[A-Za-z0-9_-]{10,64}$/;

/** Failed app authentications one IP may make in the window before every attempt from it is 429 (as the management API's). */
export const APP_AUTH_FAILURE_RULE = { points: 30, durationSeconds: 300 };

/** The app named by HTTP Basic `clientId:secret` in realm `realmId`, when the secret matches the app's. */
export function authenticatedApp(req: Request, realmId: string, secretMatches: AppSecretCheck): string | null {
  const header = req.get('authorization') ?? '';
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return null;
  // RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
  let clientId: string;
  let secret: string;
  try {
    clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    return null;
  }
  // Compared as digests: constant time whatever the lengths.
  return secretMatches(realmId, clientId, secret) ? clientId : null;
}

/**
 * Middleware: the calling app's client id in `res.locals.appClientId`, or `refuse(res, false)` (no or wrong
 * credentials: 401, the failure counted per IP) / `refuse(res, seconds)` (over the limit: 429 with Retry-After).
 * `realmOf` names the realm the request is for (by Host).
 */
export function appClient(
  d: { secretMatches: AppSecretCheck; limiters: LimiterFactory; realmOf: (req: Request) => string },
  refuse: (res: Response, retryAfterSeconds: number | false, realmId: string) => void,
) {
  const failures = d.limiters('app-auth-ip', APP_AUTH_FAILURE_RULE);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const realmId = d.realmOf(req);
      const clientId = authenticatedApp(req, realmId, d.secretMatches);
      if (clientId) {
        res.locals.appClientId = clientId;
        return next();
      }
      const wait = await failures.take(req.ip ?? 'unknown');
      if (wait > 0) {
        res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
        return refuse(res, Math.ceil(wait / 1000), realmId);
      }
      res.setHeader('WWW-Authenticate', `Basic realm="${realmId}", charset="UTF-8"`);
      refuse(res, false, realmId);
    } catch (err) {
      next(err);
    }
  };
}
