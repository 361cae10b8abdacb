/** What helmet gives the pages, for JSON: nothing here is ever a document to render, frame or sniff. */
export function apiSecurityHeaders(hsts: boolean): Map<string, string> {
  return new Map(
    Object.entries({
      'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
      ...(hsts ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
    }),
  );
}
