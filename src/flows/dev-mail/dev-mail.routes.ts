import { Router } from 'express';
import { FlowError } from '../../http/flow-error.ts';
import { renderPage } from '../../http/render.ts';
import type { MailOutboxPort } from '../../ports/mail-outbox.ts';
import type { SmsOutboxPort } from '../../ports/sms-outbox.ts';

/**
 * The development outbox (mounted only when NODE_ENV=development): every mail
 * Gatehouse wrote, newest first, with its link, and every text message the
 * development SMS outbox kept, so `npm start` works without a mail server or
 * an SMS provider.
 */
export function devMailRoutes(store: MailOutboxPort & SmsOutboxPort): Router {
  const router = Router();

  /** GET /dev/mail */
  router.get('/dev/mail', async (_req, res) => {
    const [mails, texts] = await Promise.all([store.listMail(50), store.listSms(50)]);
    renderPage(res, 'dev-mail/list', { title: res.locals.t('devMail.title'), mails, texts });
  });

  /** GET /dev/mail/:id — one mail's HTML part, as a mail client would show it (no scripts, no forms). */
  router.get('/dev/mail/:id', async (req, res) => {
    const mail = await store.getMail(req.params.id);
    if (!mail) throw new FlowError(404, 'errors.notFound');
    res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'");
    res.type('html').send(mail.html);
  });

  return router;
}
