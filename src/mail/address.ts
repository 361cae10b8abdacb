import { z } from 'zod';

/** Control characters (CR, LF, NUL, …) would let a value add mail headers: never allowed in any mail field. */
const CONTROL = /[\u0000-\u001f\u007f]/;

const addressSchema = z.email().max(254);

export class MailAddressError extends Error {
  override name = 'MailAddressError';
}

export interface MailRecipient {
  address: string;
  name: string | null;
}

/**
 * The recipient as nodemailer will get it: a valid address, trimmed, and a
 * display name without control characters or angle brackets. An address that
 * is not one is refused here, before a mail is written. A display name that
 * could carry a header or another address is left out instead: the name is
 * only decoration, and refusing it would fail a flow (a signup whose user
 * already exists) with a 500 and no mail.
 */
export function normalizeRecipient(address: string, name: string | null): MailRecipient {
  const trimmed = address.trim();
  if (CONTROL.test(address) || !addressSchema.safeParse(trimmed).success) throw new MailAddressError(`not a deliverable address: ${JSON.stringify(address)}`);
  const cleanName = name?.trim() ?? '';
  if (CONTROL.test(cleanName) || /[<>]/.test(cleanName)) return { address: trimmed, name: null };
  return { address: trimmed, name: cleanName || null };
}

/** Any header value we write (subject, From): one line, no control characters. */
export function assertHeaderSafe(value: string, what: string): void {
  if (CONTROL.test(value)) throw new MailAddressError(`${what} contains control characters`);
}
