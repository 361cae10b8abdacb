import type { Response } from 'express';
import type { ProviderConfig, RealmConfig } from '../../config/index.ts';
import { allowFormAction } from '../../http/csp.ts';
import { returnQuery, type ReturnTarget } from '../handoff/handoff.service.ts';

/** A provider button: where it posts, and what it shows (partials/social-buttons.ejs). */
export interface ProviderButton {
  id: string;
  name: string;
  /** github, google or oidc: the mark on the button. */
  type: ProviderConfig['type'];
  action: string;
}

/** What a provider is called on its button and in messages. */
export function providerName(provider: Pick<ProviderConfig, 'id' | 'type' | 'name'>): string {
  return provider.name ?? (provider.type === 'github' ? 'GitHub' : provider.type === 'google' ? 'Google' : provider.id);
}

/** The realm's enabled providers as buttons posting to `action(id)`. */
export function providerButtons(realm: RealmConfig, action: (id: string) => string, only?: (id: string) => boolean): ProviderButton[] {
  return realm.social.providers
    .filter((p) => p.enabled && (!only || only(p.id)))
    .map((p) => ({ id: p.id, name: providerName(p), type: p.type, action: action(p.id) }));
}

/** The login and signup pages' buttons: the app the user came from rides along. */
export function loginButtons(realm: RealmConfig, target: ReturnTarget | null): ProviderButton[] {
  return providerButtons(realm, (id) => `/social/${id}${returnQuery(target)}`);
}

/**
 * The authorization endpoints OpenID providers' discovery documents named
 * (by `${realmId}/${providerId}`), filled in by SocialStrategies. Before a
 * provider's first sign-in its issuer's origin stands in.
 */
export const discoveredAuthorization = new Map<string, string>();

function authorizationUrl(realm: RealmConfig, p: ProviderConfig): string {
  if (p.type === 'oidc') return discoveredAuthorization.get(`${realm.id}/${p.id}`) ?? p.issuer;
  return p.endpoints.authorization;
}

/**
 * A button's form is answered with a redirect to the provider, and the CSP's
 * form-action governs that redirect too: the page that shows `buttons` lets
 * its forms go on to those providers' authorization endpoints.
 */
export function allowProviderForms(res: Response, realm: RealmConfig, buttons: ProviderButton[]): void {
  for (const b of buttons) {
    const p = realm.social.providers.find((x) => x.id === b.id);
    if (p) allowFormAction(res, authorizationUrl(realm, p));
  }
}
