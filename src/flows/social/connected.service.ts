import type { ProviderConfig, RealmConfig } from '../../config/index.ts';
import type { ExternalIdentity, Store } from '../../store/port.ts';

export interface ConnectedAccounts {
  /** The user's linked identities; `name`: the provider's button name (a provider since removed from the config keeps its id). */
  linked: (ExternalIdentity & { name: string; type: string | null })[];
  /** Enabled providers the user has no identity of: "link" buttons. */
  available: { id: string; name: string; type: ProviderConfig['type'] }[];
  /** Unlinking the only identity of a user without a password is refused: the page says so up front. */
  lastMethod: boolean;
}

/** Personal center → Connected accounts: what is linked, what may be linked. Linking and unlinking are SocialService's. */
export class ConnectedAccountsService {
  constructor(
    private readonly store: Store,
    private readonly nameOf: (realm: RealmConfig, provider: string) => string,
  ) {}

  async overview(realm: RealmConfig, userId: string): Promise<ConnectedAccounts> {
    const [identities, hash] = await Promise.all([this.store.listExternalIdentities(realm.id, userId), this.store.passwordHashOf(realm.id, userId)]);
    const linkedIds = new Set(identities.map((i) => i.provider));
    const enabled = realm.social.providers.filter((p) => p.enabled);
    const typeOf = (id: string) => realm.social.providers.find((p) => p.id === id)?.type ?? null;
    return {
      linked: identities.map((i) => ({ ...i, name: this.nameOf(realm, i.provider), type: typeOf(i.provider) })),
      available: enabled.filter((p) => !linkedIds.has(p.id)).map((p) => ({ id: p.id, name: this.nameOf(realm, p.id), type: p.type })),
      lastMethod: hash === null && identities.filter((i) => enabled.some((p) => p.id === i.provider)).length <= 1,
    };
  }
}
