import type { RealmConfig } from '../../config/index.ts';
import type { ExternalIdentity, Store } from '../../store/port.ts';

/** The social identities linked to a user, for the personal center. Linking and unlinking arrive with social login. */
export class ConnectedAccountsService {
  constructor(private readonly store: Store) {}

  list(realm: RealmConfig, userId: string): Promise<ExternalIdentity[]> {
    return this.store.listExternalIdentities(realm.id, userId);
  }
}
