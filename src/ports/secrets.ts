/**
 * Process-wide secrets every instance on one store shares (main.ts: the session secret when none is
 * configured). Part of the Store (src/store/port.ts), whose adapters pass test/contract/secrets.contract.ts.
 */
export interface SecretsPort {
  /** The secret `name`, created once by `create` and shared by every instance on this store. */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;
}
