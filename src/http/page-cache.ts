import { randomBytes } from 'node:crypto';

/**
 * Rendered HTML of pages that are the same for every anonymous visitor of a
 * URL (the login and signup forms), except for their CSRF token. The page is
 * rendered once with a placeholder where the token goes; later visitors get
 * the stored HTML with their own token put in. Bounded, least recently used
 * first out, so query strings cannot grow it.
 */
export class PageCache {
  /** Unguessable, so nothing a visitor puts in a URL can stand for the token. */
  readonly tokenPlaceholder = `csrf-${randomBytes(16).toString('hex')}`;
  private readonly pages = new Map<string, string>();
  /** Moves on clear(): a page whose rendering began before is not stored after it. */
  generation = 0;

  constructor(private readonly maxEntries = 256) {}

  get(key: string, csrfToken: string): string | undefined {
    const html = this.pages.get(key);
    if (html === undefined) return undefined;
    // Most recently used goes last.
    this.pages.delete(key);
    this.pages.set(key, html);
    return html.replaceAll(this.tokenPlaceholder, csrfToken);
  }

  /** Stores a page rendered in `generation` (default: the current one), unless the cache was cleared since. */
  set(key: string, html: string, generation = this.generation): void {
    if (generation !== this.generation) return;
    this.pages.set(key, html);
    if (this.pages.size > this.maxEntries) this.pages.delete(this.pages.keys().next().value!);
  }

  /** Forgets every page (the realms they were rendered from changed). */
  clear(): void {
    this.pages.clear();
    this.generation++;
  }

  get size(): number {
    return this.pages.size;
  }
}
