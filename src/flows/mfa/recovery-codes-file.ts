import type { Request, Response } from 'express';

/**
 * Recovery codes as a text file to keep, in the user's language. Sent only
 * while the codes are still shown on the page (they live in the browser's
 * session until the user says they are saved), never cached.
 */
export function sendRecoveryCodes(req: Request, res: Response, account: string, codes: string[]): void {
  const t = res.locals.t;
  const lines = [
    t('mfa.codes.fileHeading', { realm: req.realm.name, account }),
    t('mfa.codes.fileNote'),
    '',
    ...codes,
    '',
  ];
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Disposition', `attachment; filename="${req.realm.id}-recovery-codes.txt"`);
  res.type('text/plain; charset=utf-8').send(lines.join('\r\n'));
}
