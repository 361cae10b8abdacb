import argon2 from 'argon2';

/**
 * argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane). The native
 * binding hashes on libuv's thread pool, so the event loop stays free.
 */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** The same password typed on two keyboards (NFC vs NFD "café") is the same password (NIST 800-63B 5.1.1.2). */
function normalize(password: string): string {
  return password.normalize('NFKC');
}

export class PasswordHasher {
  private dummyHash: Promise<string>;

  constructor(private readonly options = ARGON2_OPTIONS) {
    // Verifying an unknown user's login against this hash costs what a real one costs.
    this.dummyHash = argon2.hash('gatehouse-dummy-password', this.options);
  }

  hash(password: string): Promise<string> {
    return argon2.hash(normalize(password), this.options);
  }

  /**
   * True when `password` matches `hash`. No hash, or one this hasher cannot
   * read, costs a dummy verification first, so timing reveals neither.
   */
  async verify(hash: string | null, password: string): Promise<boolean> {
    if (hash?.startsWith('$argon2')) {
      try {
        return await argon2.verify(hash, normalize(password));
      } catch {
        // fall through to the dummy work
      }
    }
    await argon2.verify(await this.dummyHash, password).catch(() => false);
    return false;
  }
}
