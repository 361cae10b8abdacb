/**
 * The redirect-URI rule of DESIGN.md §3: a candidate is accepted only when it
 * equals, character for character, a URI the app registered. No prefix,
 * wildcard, case folding or normalisation: anything a parser might read two
 * ways (`//evil.com`, `https://app.example.com.evil.com`, `https://user@evil.com`,
 * trailing dots, percent-encoding) simply is not equal to a registered URI.
 */
export function matchRedirectUri(candidate: unknown, registered: readonly string[]): string | null {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 2048) return null;
  // Registered URIs never hold control characters or spaces; reject early and cheaply.
  if (/[\u0000-\u0020\u007f-\u009f]/.test(candidate)) return null;
  return registered.includes(candidate) ? candidate : null;
}
