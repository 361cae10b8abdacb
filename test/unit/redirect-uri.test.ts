import { describe, expect, it } from 'vitest';
import { parseFileConfig, type RealmConfig } from '../../src/config/index.ts';
import { FlowError } from '../../src/http/flow-error.ts';
import { resolveReturnTarget, returnQuery, withParams } from '../../src/flows/handoff/handoff.service.ts';
import { matchRedirectUri } from '../../src/identity/redirect-uri.ts';

const REGISTERED = ['https://app.example.com/cb'];

/** A realm with apps parsed through the real config schema, so defaults are filled in as in production. */
const realm: RealmConfig = parseFileConfig({
  defaultRealm: 'alpha',
  realms: [
    {
      id: 'alpha',
      name: 'Alpha',
      publicUrl: 'https://login.example.com',
      apps: [
        {
          clientId: 'app1',
          name: 'App One',
          redirectUris: ['https://app.example.com/cb', 'https://app.example.com/cb2?x=1'],
          logoutRedirectUris: ['https://app.example.com/bye'],
        },
        { clientId: 'spa', name: 'SPA', redirectUris: ['https://spa.example.com/cb'], delivery: 'fragment' },
        { clientId: 'shared', name: 'Shared', redirectUris: ['https://shared.example.com/cb'] },
      ],
    },
  ],
}).realms[0]!;

/** The FlowError `fn` throws (fails the test when it throws nothing or something else). */
function flowErrorOf(fn: () => unknown): FlowError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FlowError);
    return err as FlowError;
  }
  throw new Error('expected a FlowError, nothing was thrown');
}

describe('matchRedirectUri', () => {
  it('accepts a URI equal to a registered one (ASVS 10.4.1)', () => {
    expect(matchRedirectUri('https://app.example.com/cb', REGISTERED)).toBe('https://app.example.com/cb');
  });

  it('accepts a registered URI that carries a query string, exactly as registered (ASVS 10.4.1)', () => {
    const registered = ['https://app.example.com/cb2?x=1'];
    expect(matchRedirectUri('https://app.example.com/cb2?x=1', registered)).toBe('https://app.example.com/cb2?x=1');
    expect(matchRedirectUri('https://app.example.com/cb2?x=2', registered)).toBeNull();
    expect(matchRedirectUri('https://app.example.com/cb2', registered)).toBeNull();
  });

  it('picks the matching URI out of several registered ones', () => {
    const registered = ['https://a.example.com/cb', 'https://b.example.com/cb'];
    expect(matchRedirectUri('https://b.example.com/cb', registered)).toBe('https://b.example.com/cb');
  });

  it('refuses everything when the app registered nothing', () => {
    expect(matchRedirectUri('https://app.example.com/cb', [])).toBeNull();
  });

  const hostile: Array<[string, string]> = [
    ['a protocol-relative URI', '//evil.com'],
    ['a backslash protocol-relative URI', '/\\evil.com'],
    ['a scheme with a single slash', 'https:/evil.com'],
    ['a registered host used as a subdomain of another', 'https://app.example.com.evil.com/cb'],
    ['user info pointing elsewhere', 'https://user@evil.com'],
    ['the registered host as user info', 'https://app.example.com@evil.com/cb'],
    ['a trailing-dot host', 'https://app.example.com./cb'],
    ['percent-encoded dots in the host', 'https://app%2eexample%2ecom/cb'],
    ['percent-encoded path characters', 'https://app.example.com/%63b'],
    ['a javascript: URI', 'javascript:alert(1)'],
    ['a data: URI', 'data:text/html,x'],
    ['a mixed-case scheme', 'HTTPS://app.example.com/cb'],
    ['an upper-case host', 'https://APP.example.com/cb'],
    ['a Cyrillic homoglyph host', 'https://\u0430pp.example.com/cb'],
    ['an explicit default port', 'https://app.example.com:443/cb'],
    ['http instead of https', 'http://app.example.com/cb'],
    ['dot segments after the registered path', 'https://app.example.com/cb/../evil'],
    ['a longer path with the registered prefix', 'https://app.example.com/cbx'],
    ['a sub-path of the registered path', 'https://app.example.com/cb/x'],
    ['a trailing slash', 'https://app.example.com/cb/'],
    ['an unregistered query string', 'https://app.example.com/cb?x=1'],
    ['an empty query string', 'https://app.example.com/cb?'],
    ['a fragment', 'https://app.example.com/cb#frag'],
    ['an empty fragment', 'https://app.example.com/cb#'],
    ['CRLF header injection', 'https://app.example.com/cb\r\nLocation: https://evil.com'],
    ['an encoded CRLF', 'https://app.example.com/cb%0d%0aLocation:%20https://evil.com'],
    ['a bare line feed', 'https://app.example.com/cb\n'],
    ['a tab inside the host', 'https://app.example.com\t/cb'],
    ['a leading space', ' https://app.example.com/cb'],
    ['a trailing space', 'https://app.example.com/cb '],
    ['a NUL byte', 'https://app.example.com/cb\u0000'],
    ['a C1 control character', 'https://app.example.com/cb\u0085'],
    ['the empty string', ''],
  ];
  for (const [what, candidate] of hostile) {
    it(`refuses ${what} (ASVS 3.7.2, ASVS 10.4.1)`, () => {
      expect(matchRedirectUri(candidate, REGISTERED)).toBeNull();
    });
  }

  it('refuses a registered URI with whitespace or control characters even when it was registered that way (ASVS 2.2.1)', () => {
    // The early control-character check wins over a (mis)registered entry.
    expect(matchRedirectUri('https://app.example.com/c b', ['https://app.example.com/c b'])).toBeNull();
  });

  it('refuses values that are not strings (ASVS 2.2.1)', () => {
    for (const candidate of [['https://app.example.com/cb'], 42, { href: 'https://app.example.com/cb' }, null, undefined, true]) {
      expect(matchRedirectUri(candidate, REGISTERED)).toBeNull();
    }
  });

  it('refuses an over-long URI even when it is registered (ASVS 2.2.1)', () => {
    const long = `https://app.example.com/cb?${'a'.repeat(3000)}`;
    expect(matchRedirectUri(long, [long])).toBeNull();
  });
});

describe('resolveReturnTarget', () => {
  it('returns null when no redirect_uri is given (the user lands in the personal center)', () => {
    expect(resolveReturnTarget(realm, {})).toBeNull();
    expect(resolveReturnTarget(realm, { redirect_uri: '' })).toBeNull();
  });

  it('returns the app and URI for an exactly registered redirect_uri, echoing state (ASVS 10.4.1)', () => {
    const target = resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', state: 'xyz' });
    expect(target?.app.clientId).toBe('app1');
    expect(target?.redirectUri).toBe('https://app.example.com/cb');
    expect(target?.state).toBe('xyz');
  });

  it('finds the app owning the URI without a client_id', () => {
    expect(resolveReturnTarget(realm, { redirect_uri: 'https://spa.example.com/cb' })?.app.clientId).toBe('spa');
  });

  it('accepts a registered URI with a query string', () => {
    const target = resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb2?x=1' });
    expect(target?.redirectUri).toBe('https://app.example.com/cb2?x=1');
  });

  it('leaves state out when it is empty', () => {
    const target = resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', state: '' });
    expect(target).not.toBeNull();
    expect(target?.state).toBeUndefined();
  });

  it('accepts a state of exactly 1024 printable characters', () => {
    const state = 'a'.repeat(1024);
    expect(resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', state })?.state).toBe(state);
  });

  it('with client_id, only looks at that app\'s URIs (ASVS 10.4.1)', () => {
    expect(resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', client_id: 'app1' })?.app.clientId).toBe('app1');
    const err = flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', client_id: 'spa' }));
    expect(err.status).toBe(400);
    expect(err.messageKey).toBe('redirect.unregistered');
  });

  it('refuses an unknown client_id with 400 redirect.unknownApp', () => {
    for (const query of [{ redirect_uri: 'https://app.example.com/cb', client_id: 'nope' }, { client_id: 'nope' }]) {
      const err = flowErrorOf(() => resolveReturnTarget(realm, query));
      expect(err.status).toBe(400);
      expect(err.messageKey).toBe('redirect.unknownApp');
    }
  });

  it('accepts a known client_id without redirect_uri and returns null', () => {
    expect(resolveReturnTarget(realm, { client_id: 'app1' })).toBeNull();
  });

  const hostile = [
    '//evil.com',
    '/\\evil.com',
    'https:/evil.com',
    'https://app.example.com.evil.com/cb',
    'https://user@evil.com',
    'https://app.example.com@evil.com/cb',
    'https://app.example.com./cb',
    'https://app%2eexample%2ecom/cb',
    'javascript:alert(1)',
    'data:text/html,x',
    'HTTPS://app.example.com/cb',
    'https://APP.example.com/cb',
    'https://app.example.com/cb/../evil',
    'https://app.example.com/cbx',
    'https://app.example.com/cb?x=1',
    'https://app.example.com/cb#frag',
    'https://app.example.com/cb\r\nSet-Cookie: x=1',
    'https://app.example.com/cb\t',
    ' https://app.example.com/cb',
  ];
  for (const uri of hostile) {
    it(`answers ${JSON.stringify(uri)} with a 400 error, never a target (ASVS 3.7.2)`, () => {
      const err = flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: uri, state: 's' }));
      expect(err.status).toBe(400);
      expect(err.messageKey).toBe('redirect.unregistered');
    });
  }

  it('refuses a redirect_uri that arrives as an array, number or object (ASVS 2.2.1)', () => {
    for (const redirect_uri of [['https://app.example.com/cb', 'https://evil.com'], 42, { a: 'https://app.example.com/cb' }]) {
      const err = flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri }));
      expect(err.status).toBe(400);
      expect(err.messageKey).toBe('redirect.invalidParams');
    }
  });

  it('refuses an over-long redirect_uri (3000 characters) with 400 (ASVS 2.2.1)', () => {
    const err = flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: `https://app.example.com/cb?${'a'.repeat(3000)}` }));
    expect(err.status).toBe(400);
  });

  it('refuses a state over 1024 characters (ASVS 2.2.1)', () => {
    const err = flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', state: 'a'.repeat(1025) }));
    expect(err.status).toBe(400);
    expect(err.messageKey).toBe('redirect.invalidParams');
  });

  it('refuses a state with control characters or CRLF (ASVS 2.2.1)', () => {
    for (const state of ['a\r\nb', 'a\nb', 'a\tb', 'a\u0000b', 'a\u007fb']) {
      const err = flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', state }));
      expect(err.status).toBe(400);
      expect(err.messageKey).toBe('redirect.invalidParams');
    }
  });

  it('refuses a state or client_id that arrives as an array (ASVS 2.2.1)', () => {
    expect(flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', state: ['a', 'b'] })).status).toBe(400);
    expect(flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb', client_id: ['app1'] })).status).toBe(400);
  });

  it("kind 'logout' matches the app's logout URIs, not its login URIs", () => {
    expect(resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/bye' }, 'logout')?.redirectUri).toBe('https://app.example.com/bye');
    expect(flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb' }, 'logout')).messageKey).toBe('redirect.unregistered');
  });

  it("kind 'login' does not accept a logout URI", () => {
    expect(flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/bye' })).messageKey).toBe('redirect.unregistered');
  });

  it('refuses a logout redirect for an app that registered no logout URIs', () => {
    expect(flowErrorOf(() => resolveReturnTarget(realm, { redirect_uri: 'https://spa.example.com/cb' }, 'logout')).status).toBe(400);
  });
});

describe('withParams', () => {
  it('adds parameters to the query', () => {
    expect(withParams('https://app.example.com/cb', { token: 'abc', state: 'xyz' }, 'query')).toBe('https://app.example.com/cb?token=abc&state=xyz');
  });

  it('keeps a registered query and appends after it', () => {
    const url = new URL(withParams('https://app.example.com/cb2?x=1', { token: 'abc' }, 'query'));
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.searchParams.get('token')).toBe('abc');
    expect(url.origin + url.pathname).toBe('https://app.example.com/cb2');
  });

  it('puts parameters in the fragment, leaving the query alone', () => {
    const result = withParams('https://app.example.com/cb2?x=1', { token: 'abc', state: 'xyz' }, 'fragment');
    expect(result).toBe('https://app.example.com/cb2?x=1#token=abc&state=xyz');
    const url = new URL(result);
    expect(url.search).toBe('?x=1');
    expect(new URLSearchParams(url.hash.slice(1)).get('token')).toBe('abc');
  });

  it('leaves out undefined parameters and returns the URI unchanged when none are left', () => {
    expect(withParams('https://app.example.com/cb', { token: 'abc', state: undefined }, 'query')).toBe('https://app.example.com/cb?token=abc');
    expect(withParams('https://app.example.com/cb', { state: undefined }, 'query')).toBe('https://app.example.com/cb');
    expect(withParams('https://app.example.com/cb', {}, 'fragment')).toBe('https://app.example.com/cb');
  });

  it('encodes values so a state cannot add parameters or change the destination (ASVS 1.2.2)', () => {
    const result = withParams('https://app.example.com/cb', { state: 'a&token=forged#x' }, 'query');
    const url = new URL(result);
    expect(url.host).toBe('app.example.com');
    expect(url.searchParams.getAll('token')).toEqual([]);
    expect(url.searchParams.get('state')).toBe('a&token=forged#x');
    expect(url.hash).toBe('');
  });
});

describe('returnQuery', () => {
  it('is empty without a target', () => {
    expect(returnQuery(null)).toBe('');
  });

  it('carries redirect_uri, client_id and state, and resolves back to the same target', () => {
    const target = resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb2?x=1', state: 'a b&c' })!;
    const query = returnQuery(target);
    expect(query.startsWith('?')).toBe(true);
    const params = Object.fromEntries(new URLSearchParams(query.slice(1)));
    expect(params).toEqual({ redirect_uri: 'https://app.example.com/cb2?x=1', client_id: 'app1', state: 'a b&c' });
    const again = resolveReturnTarget(realm, params);
    expect(again?.app.clientId).toBe('app1');
    expect(again?.redirectUri).toBe(target.redirectUri);
    expect(again?.state).toBe('a b&c');
  });

  it('leaves state out when there is none', () => {
    const target = resolveReturnTarget(realm, { redirect_uri: 'https://app.example.com/cb' })!;
    expect(new URLSearchParams(returnQuery(target).slice(1)).has('state')).toBe(false);
  });
});
