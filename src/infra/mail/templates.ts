import path from 'node:path';
import ejs from 'ejs';
import type { TFunction } from 'i18next';
import type { MailKind, MailRenderer } from '../../mail/mailer.ts';

/**
 * Mails from views/emails: `<kind>.html.ejs` inside `layout.html.ejs`, and
 * `<kind>.text.ejs`; the subject is the locale's `emails.<kind>.subject`.
 */
export function ejsMailRenderer(viewsDir: string, t: (locale: string) => TFunction, cache: boolean): MailRenderer {
  const dir = path.join(viewsDir, 'emails');
  const options = { cache, root: viewsDir, views: [viewsDir] };
  return async (kind: MailKind, locale: string, model: Record<string, unknown>) => {
    const tl = t(locale);
    const data = { ...model, t: tl, lang: locale };
    // The subject may name more than the realm (an invitation's inviter and org): the model's values, the realm's name as `realm`.
    const subject = tl(`emails.${kind}.subject`, { ...model, realm: model.realmName });
    const [body, text] = await Promise.all([
      ejs.renderFile(path.join(dir, `${kind}.html.ejs`), data, options),
      ejs.renderFile(path.join(dir, `${kind}.text.ejs`), data, options),
    ]);
    const html = await ejs.renderFile(path.join(dir, 'layout.html.ejs'), { ...data, subject, body }, options);
    return { subject, html, text: text.trim() + '\n' };
  };
}
