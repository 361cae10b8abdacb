/** The user as the domain sees it (DESIGN.md §2). Credentials are kept apart. */
export type EmailVerification = 'none' | 'requested' | 'verified';
export type AttributeValue = string | number | boolean | null | Array<string | number | boolean>;

export interface User {
  id: string;
  realmId: string;
  userType: 'human' | 'api';
  username: string;
  email: string | null;
  emailVerification: EmailVerification;
  phone: string | null;
  phoneVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  /** An API user's own name (editable); null for humans, whose name is derived (displayName). */
  name: string | null;
  nickname: string | null;
  photo: string | null;
  locale: string | null;
  state: 'active' | 'inactive';
  reference: string | null;
  customAttributes: Record<string, AttributeValue>;
  loginsCount: number;
  lastLoginAt: Date | null;
  lastLoginIp: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const HAN_HANGUL_KANA = /^[\p{Script=Han}\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}·・]+$/u;

/**
 * A human's display name is derived from the parts they gave. Names written
 * in Chinese, Japanese or Korean scripts put the family name first, without a
 * space (李晓明); others are "given family" (Ada Lovelace).
 */
export function displayName(user: Pick<User, 'userType' | 'firstName' | 'lastName' | 'username'> & { name?: string | null }): string {
  if (user.userType === 'api' && user.name) return user.name;
  const parts = [user.firstName, user.lastName].filter((p): p is string => Boolean(p));
  if (parts.length === 0) return user.username;
  if (parts.length === 2 && parts.every((p) => HAN_HANGUL_KANA.test(p))) return `${user.lastName}${user.firstName}`;
  return parts.join(' ');
}

/** Case-insensitive comparison key for usernames, emails and names (nameNormOf); the stored value keeps its case. */
export function normalizeLogin(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

/**
 * What the users list sorts and searches names by: the name the console shows (an API user's name, else
 * the human's "first last", else the username), folded as logins are, Unicode-aware ("Émile" as "émile"),
 * so that a search's normalizeLogin(q) is a prefix of it. Both stores keep it (SQLite: name_norm).
 */
export function nameNormOf(user: Pick<User, 'firstName' | 'lastName' | 'username'> & { name?: string | null }): string {
  return normalizeLogin(user.name || `${user.firstName ?? ''} ${user.lastName ?? ''}`.trim() || user.username);
}

/** The name a mail to the user is addressed to: the display name, or none when that would only repeat the username. */
export function mailName(user: Pick<User, 'userType' | 'firstName' | 'lastName' | 'username'>): string | null {
  const name = displayName(user);
  return name === user.username ? null : name;
}
