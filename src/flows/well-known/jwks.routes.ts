import { Router } from 'express';
import type { KeyRing } from '../../identity/keys.ts';

/** The realm's public keys, for apps verifying Gatehouse's JWTs. Mounted at /.well-known. */
export function jwksRoutes(keys: KeyRing): Router {
  const router = Router();

  /** GET /.well-known/jwks.json */
  router.get('/jwks.json', async (req, res) => {
    // A retired key stays published while tokens it signed may still be presented.
    const { json, etag } = await keys.jwksDocument(req.realm.id, req.realm.tokens.ttlSeconds + 300);
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.setHeader('ETag', etag);
    if (req.fresh) return res.status(304).end();
    res.type('application/json').send(json);
  });

  return router;
}
