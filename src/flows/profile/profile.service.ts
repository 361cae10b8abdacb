import type { RealmConfig } from '../../config/index.ts';
import { eventOf } from '../../events/publish.ts';
import type { SessionOrigin } from '../../identity/login-sessions.ts';
import type { AttributeValue, User } from '../../identity/user.ts';
import { UniqueViolation, type ProfilePatch, type Store } from '../../store/port.ts';
import { FlowError } from '../../http/flow-error.ts';
import { readAttributes, sameValue } from './attributes.ts';

/** What the profile form posts, already shaped by the route: absent = not in the form, '' = cleared. */
export interface ProfileInput {
  firstName?: string;
  lastName?: string;
  nickname?: string;
  photo?: string;
  /** A supported locale, or '' for "the browser's language". */
  locale?: string;
  /** The raw form body: the realm's editable attributes are read from it by type. */
  body: Record<string, unknown>;
}

export const PHOTO_MAX_LENGTH = 2048;

/**
 * The photo is shown as an image on pages and handed to apps (`picture`):
 * only an absolute https URL without credentials in it, so nothing else
 * (javascript:, data:, a plain-http tracker on a secure page) gets there.
 */
export function photoUrl(value: string): string {
  if (value.length > PHOTO_MAX_LENGTH || !URL.canParse(value)) throw new FlowError(400, 'profile.photoInvalid', {}, 'photo');
  const url = new URL(value);
  if (url.protocol !== 'https:' || !url.hostname || url.username || url.password) throw new FlowError(400, 'profile.photoInvalid', {}, 'photo');
  if (url.href.length > PHOTO_MAX_LENGTH) throw new FlowError(400, 'profile.photoInvalid', {}, 'photo');
  return url.href;
}

/** Whether the realm lets users change their username (the setting only means something with separate usernames). */
export function usernameEditable(realm: RealmConfig): boolean {
  return realm.fields.usernames === 'separate' && realm.account.usernameEditable;
}

/**
 * The profile page's rules: names, nickname, photo, language and the realm's
 * editable custom attributes; the username only where the realm allows it.
 * Only what changed is written and recorded (`profile.updated`).
 */
export class ProfileService {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date,
  ) {}

  /** Saves the profile form; returns the user and the names of the fields that changed (none: nothing written). */
  async update(realm: RealmConfig, user: User, input: ProfileInput, origin: SessionOrigin): Promise<{ user: User; fields: string[] }> {
    const patch: ProfilePatch = {};
    const fields: string[] = [];
    const plain = {
      firstName: input.firstName,
      lastName: input.lastName,
      nickname: input.nickname,
      photo: input.photo === undefined || input.photo === '' ? input.photo : photoUrl(input.photo),
      locale: input.locale,
    } as const;
    for (const [name, typed] of Object.entries(plain) as Array<[keyof typeof plain, string | undefined]>) {
      if (typed === undefined) continue;
      const value = typed === '' ? null : typed;
      if (value === user[name]) continue;
      patch[name] = value;
      fields.push(name);
    }
    const attributes: Record<string, AttributeValue> = {};
    for (const [key, value] of Object.entries(readAttributes(realm.account.attributes, input.body))) {
      const current = Object.hasOwn(user.customAttributes, key) ? user.customAttributes[key] : undefined;
      // An unticked checkbox of a never-set boolean is no change: absent already reads as false.
      if (sameValue(current, value) || (value === false && current === undefined)) continue;
      attributes[key] = value;
      fields.push(`attributes.${key}`);
    }
    if (Object.keys(attributes).length > 0) patch.customAttributes = attributes;
    if (fields.length === 0) return { user, fields };

    const at = this.clock();
    const updated = await this.store.updateProfile(realm.id, user.id, patch, at, [eventOf({ realm, type: 'user.updated', userId: user.id, origin, at, data: { fields } })]);
    return { user: updated, fields };
  }

  /**
   * A new username, under the realm's rules (the same as at sign-up: folded
   * to lower case where the realm says so; unique, which the store enforces).
   * Returns whether it changed.
   */
  async changeUsername(realm: RealmConfig, user: User, typed: string, origin: SessionOrigin): Promise<{ user: User; changed: boolean }> {
    if (!usernameEditable(realm)) throw new FlowError(403, 'profile.usernameLocked', {}, 'username');
    const username = realm.fields.lowercaseUsernames ? typed.toLowerCase() : typed;
    if (username === user.username) return { user, changed: false };
    const at = this.clock();
    let updated: User;
    try {
      updated = await this.store.updateProfile(realm.id, user.id, { username }, at, [eventOf({ realm, type: 'user.updated', userId: user.id, origin, at, data: { fields: ['username'] } })]);
    } catch (err) {
      if (err instanceof UniqueViolation && err.field === 'username') throw new FlowError(409, 'profile.usernameTaken', {}, 'username');
      throw err;
    }
    return { user: updated, changed: true };
  }
}
