import { Router } from 'express';
import type { KeyRing } from '../../identity/keys.ts';

/** The realm's public keys, for apps verifying Gatehouse's JWTs. */
export function jwksRoutes(keys: KeyRing): Router {
  const router = Router();

  /** GET /.well-known/jwks.json */
  router.get('/.well-known/jwks.json', async (req, res) => {
    // A retired key stays published while tokens it signed may still be presented.
    const jwks = await keys.jwks(req.realm.id, req.realm.tokens.ttlSeconds + 300);
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(jwks);
  });

  return router;
}
