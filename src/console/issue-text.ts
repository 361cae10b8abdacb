import type { FieldIssue } from '../domain/errors.ts';

type Translate = (key: string, params?: Record<string, unknown>) => string;

/**
 * The realm schema's and realm rules' refusals (src/domain/realm-settings.ts, realm-rules.ts) in the page's
 * language. The domain words them in English once — the API, the configuration file and the CLI show them so —
 * and the console looks each one up here by its code, or by its English text for a schema's own message.
 * test/unit/issue-text.test.ts fails when a message of those files has no entry.
 */
export const MESSAGE_KEYS: Readonly<Record<string, string>> = {
  'must be an absolute URL': 'console.issue.absoluteUrl',
  'must be an absolute http(s) URL': 'console.issue.absoluteUrl',
  'must be an http(s) URL': 'console.issue.absoluteUrl',
  'must use https (http is allowed for localhost only)': 'console.issue.https',
  'must not contain user info': 'console.issue.userInfo',
  'must not contain a fragment': 'console.issue.fragment',
  'wildcards are not supported: register each URI exactly': 'console.issue.wildcard',
  'must be an origin, without path or query': 'console.issue.origin',
  'must be a host name, optionally with a port': 'console.issue.host',
  'letters, digits, dot, dash and underscore, at most 64': 'console.issue.clientId',
  'is reserved (the console’s page for a new app); choose another': 'console.issue.reservedClientId',
  'must be one line without control characters': 'console.issue.oneLine',
  'an environment variable name, like DEMO_APP_SECRET': 'console.issue.envName',
  'an environment variable name, like GITHUB_CLIENT_SECRET': 'console.issue.envName',
  'a letter, then letters, digits or underscores, at most 64': 'console.issue.attributeKey',
  'an enum attribute needs options': 'console.issue.enumNeedsOptions',
  'options are for enum attributes only': 'console.issue.optionsForEnum',
  'maxLength is for string attributes only': 'console.issue.maxLengthForString',
  'a boolean is always true or false: it cannot be required': 'console.issue.booleanRequired',
  'lower-case letters, digits and dashes, 2 to 32, starting with a letter': 'console.issue.providerId',
  'is an RFC 8176 authentication method name: pick another id': 'console.issue.amrName',
  'is the name of a page under /social/: pick another id': 'console.issue.socialPage',
  'a colour like #4f46e5': 'console.issue.colour',
  'lower-case letters, digits and dashes': 'console.issue.realmId',
  'reserved: "new" is a console path': 'console.issue.reservedRealmId',
  'each field once': 'console.issue.duplicate',
  'letters, digits, dash and underscore, at most 16': 'console.issue.apiKeyPrefix',
  'must be an ISO 3166-1 alpha-2 country code, like "US" or "CN"': 'console.issue.country',
  'a permission: letters, digits and * : ; . _ -, at most 62': 'console.issue.permission',
  'an org id (org_…)': 'console.issue.orgId',
  'a group id (grp_…)': 'console.issue.groupId',
  'name at least one org or group': 'console.issue.membersNeeded',
};

/** Issues the domain names by code (a message with the offending value in it, or a rule across fields). */
export const CODE_KEYS: Readonly<Record<string, string>> = {
  one_way: 'console.settings.issue.oneWay',
  needs_separate_usernames: 'console.settings.issue.needsSeparateUsernames',
  needs_provider: 'console.settings.issue.needsProvider',
  unsupported: 'console.settings.issue.unsupported',
  duplicate: 'console.issue.duplicate',
  host_taken: 'console.issue.hostTaken',
  unrecognized_keys: 'console.issue.unknownKey',
  invalid_type: 'console.issue.invalidType',
  invalid_value: 'console.issue.invalidValue',
};

/** One refusal of the realms service as a page in `t`'s language says it (the English text when none fits). */
export function issueText(t: Translate, issue: Pick<FieldIssue, 'code' | 'message' | 'limit'>): string {
  const key = MESSAGE_KEYS[issue.message] ?? CODE_KEYS[issue.code];
  if (key) return t(key);
  // "duplicate option value "a"", "duplicate provider id "x"": the schema's own checks across a list.
  if (issue.message.startsWith('duplicate ')) return t('console.issue.duplicate');
  if (issue.code === 'too_big' && issue.limit !== undefined) return t('console.issue.tooBig', { limit: issue.limit });
  // At least 1 of a text or a list is "fill it in"; a number below 1 (0 seconds, 0 attempts) is filled in, and too small.
  if (issue.code === 'too_small' && issue.limit !== undefined) return t(issue.limit <= 1 && !/\bnumber\b/.test(issue.message) ? 'console.issue.required' : 'console.issue.tooSmall', { limit: issue.limit });
  return issue.message;
}
