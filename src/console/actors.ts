import type { RealmConfig } from '../config/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { UsersService } from '../services/users.ts';

/** Who did something, as the events and audit pages show it: a locale key for the kind, and a name or id. */
export interface ActorView {
  /** console.actors.<type>: operator, api_key, cli, user, system. */
  type: string;
  /** The operator's email, the key's or user's id; null for the CLI and the system. */
  label: string | null;
  /** A console link to the user (events by the user themselves). */
  href: string | null;
}

/**
 * The emails of the operators among `ids` (console-realm users), looked up once per page. An operator deleted
 * since is shown by id.
 */
export async function operatorEmails(users: Pick<UsersService, 'get'>, consoleRealm: RealmConfig | null, ids: Iterable<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!consoleRealm) return out;
  await Promise.all(
    [...new Set(ids)].map(async (id) => {
      try {
        const u = await users.get(consoleRealm, id);
        out.set(id, u.email ?? u.username);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }),
  );
  return out;
}

export function actorView(actor: { type: string; id: string | null }, emails: Map<string, string>, userHref: (id: string) => string | null): ActorView {
  if (actor.type === 'operator') return { type: 'operator', label: actor.id === null ? null : (emails.get(actor.id) ?? actor.id), href: null };
  if (actor.type === 'user' && actor.id) return { type: 'user', label: actor.id, href: userHref(actor.id) };
  if (actor.type === 'api_key' || actor.type === 'user') return { type: actor.type, label: actor.id, href: null };
  return { type: actor.type === 'cli' ? 'cli' : 'system', label: null, href: null };
}
