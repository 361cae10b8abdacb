import type { AttributeValue } from '../identity/user.ts';

/**
 * A custom attribute's value as one line of text, for forms (the console's
 * user page): what an operator types, and how a stored value is shown so that
 * saving it unchanged stores the same value.
 *
 * The rule (AuthRocket's): text that parses as JSON and is a scalar or an
 * array of scalars is that value — `1` is the number 1, `true` the boolean,
 * `null` null, `"1"` the string "1", `[1, "a"]` an array. Any other text is
 * the string as typed (`elephant`, `1 2`, ``, `  spaced  `). Text that starts
 * like JSON (`[`, `{` or `"`) must be JSON of such a value: an object, an
 * array in an array, a null in an array, or broken JSON (`[a, b]`) is refused
 * with a reason, never silently stored as a string — quote it (`"[a, b]"`) to
 * store that text.
 *
 * Refusals are a result, not an exception, so that a form can gather one per
 * row. The realm's own rules (types of `account.attributes`) are checked
 * after, by checkCustomAttributes (services/user-rules.ts).
 */

/** At most this many characters (UTF-16 units, as the API's schema counts) in a string, alone or in an array. */
export const ATTRIBUTE_STRING_MAX = 2000;
/** At most this many items in an array value. */
export const ATTRIBUTE_ARRAY_MAX = 100;

export type AttributeTextProblem =
  /** `{"a": 1}`: values are scalars or arrays of them. */
  | 'object'
  /** `[[1]]`, `[{}]`. */
  | 'nested'
  /** `[1, null]`: an array holds strings, numbers and booleans only. */
  | 'null_in_array'
  /** Starts like JSON (`[`, `{`, `"`) but is not JSON. */
  | 'not_json'
  /** `1e400`, or an integer with more digits than a number keeps (`12345678901234567890`): quote it to keep the digits. */
  | 'number'
  | 'too_long'
  | 'too_many';

export type ParsedAttributeText = { ok: true; value: AttributeValue } | { ok: false; code: AttributeTextProblem; message: string };

type Scalar = string | number | boolean;

const refused = (code: AttributeTextProblem, message: string): ParsedAttributeText => ({ ok: false, code, message });
const QUOTE_HINT = 'put it in double quotes to keep it as text';

/** The number literals of JSON `text`, in order (strings blanked first, so digits inside them are not counted). */
function numberLiterals(text: string): string[] {
  const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...outsideStrings.matchAll(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)].map((m) => m[0]);
}

function scalarProblem(v: Scalar): ParsedAttributeText | null {
  if (typeof v === 'string' && v.length > ATTRIBUTE_STRING_MAX) return refused('too_long', `at most ${ATTRIBUTE_STRING_MAX} characters`);
  if (typeof v === 'number' && !Number.isFinite(v)) return refused('number', `the number is too large: ${QUOTE_HINT}`);
  return null;
}

/** What a line of text means as a custom attribute's value (the rule above), or why it means none. */
export function parseAttributeText(raw: string): ParsedAttributeText {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    if (/^\s*[[{"]/.test(raw)) return refused('not_json', `starts like JSON but is not JSON: write JSON, or ${QUOTE_HINT}`);
    return raw.length > ATTRIBUTE_STRING_MAX ? refused('too_long', `at most ${ATTRIBUTE_STRING_MAX} characters`) : { ok: true, value: raw };
  }
  if (json === null) return { ok: true, value: null };
  if (typeof json === 'object' && !Array.isArray(json)) return refused('object', `an object is not a value here (a value is a string, a number, true, false, null or an array of those): ${QUOTE_HINT}`);
  const items = Array.isArray(json) ? (json as unknown[]) : [json];
  if (Array.isArray(json) && items.length > ATTRIBUTE_ARRAY_MAX) return refused('too_many', `at most ${ATTRIBUTE_ARRAY_MAX} items`);
  for (const item of items) {
    if (item === null) return refused('null_in_array', 'an array holds strings, numbers and booleans, not null');
    if (typeof item === 'object') return refused('nested', 'an array holds strings, numbers and booleans, not arrays or objects');
    const problem = scalarProblem(item as Scalar);
    if (problem) return problem;
  }
  // A number keeps about 16 digits: a longer integer (an id, a phone number) would be stored as another one.
  const numbers = items.filter((i): i is number => typeof i === 'number');
  const literals = numberLiterals(raw);
  if (literals.some((t, i) => /^-?\d+$/.test(t) && BigInt(t) !== BigInt(numbers[i]!))) {
    return refused('number', `an integer of more digits than a number keeps exactly: ${QUOTE_HINT}`);
  }
  return { ok: true, value: json as AttributeValue };
}

/** A number as JSON writes it, but -0 as -0, and a large integer with all its digits (so that it reads back the same). */
function numberText(n: number): string {
  if (Object.is(n, -0)) return '-0';
  if (Number.isInteger(n) && Math.abs(n) > Number.MAX_SAFE_INTEGER && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n);
}

const scalarJson = (v: Scalar): string => (typeof v === 'number' ? numberText(v) : JSON.stringify(v));

/**
 * The text parseAttributeText reads back as `v`: a string as it is unless it
 * would read as something else (`1`, `true`, `null`, `"x"`, `[…]`, `{…}`,
 * ` 7 `), then quoted as JSON. Round-trips every value the API accepts
 * (finite numbers, strings of at most ATTRIBUTE_STRING_MAX, arrays of at most
 * ATTRIBUTE_ARRAY_MAX scalars).
 */
export function formatAttributeText(v: AttributeValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(scalarJson).join(', ')}]`;
  if (typeof v === 'string') {
    const read = parseAttributeText(v);
    return read.ok && read.value === v ? v : JSON.stringify(v);
  }
  return scalarJson(v);
}
