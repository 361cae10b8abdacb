/**
 * Facts about a realm that outlive its configuration: one-way settings (identity/realm-settings.ts). Part of
 * the Store (src/store/port.ts), whose adapters pass test/contract/realm-state.contract.ts.
 */
export interface RealmStatePort {
  getRealmState(realmId: string, key: string): Promise<string | null>;
  setRealmState(realmId: string, key: string, value: string): Promise<void>;
}
