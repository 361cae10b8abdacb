import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.ts';
import { MANAGEMENT_KEY_SCAN } from '../domain/management-key.ts';
import { NotFoundError, RuleViolation } from '../domain/errors.ts';
import { AuditLog } from '../services/audit-log.ts';
import { CLI_CONTEXT } from '../services/context.ts';
import { managementPorts } from '../store/open.ts';
import { servedRealms } from './realms.ts';
import { ManagementKeys } from '../services/management-keys.ts';
import { openStore, UsageError, type CliIo } from './users.ts';

export const API_KEYS_USAGE = `Usage:
  gatehouse api-keys create --realm <id|*> --access read|write [--name <text>]
      Prints the new management API key alone on the last line of standard output, once.
  gatehouse api-keys list
  gatehouse api-keys revoke <key id>

Keys look like ghmk_ + 49 letters and digits (secret scanners: ${MANAGEMENT_KEY_SCAN}).
Use one with: curl -H "Authorization: Bearer <key>" http://localhost:3000/api/v1/realms/<id>/users`;

/** `gatehouse api-keys …`: management API keys on the store the server uses. Returns the exit code. */
export async function apiKeysCommand(args: string[], env: Record<string, string | undefined>, io: CliIo): Promise<number> {
  const say = (text: string) => io.stderr.write(`${text}\n`);
  let close: (() => Promise<void>) | null = null;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { realm: { type: 'string' }, access: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      io.stdout.write(`${API_KEYS_USAGE}\n`);
      return 0;
    }
    const [command, ...rest] = positionals;
    if (command !== 'create' && command !== 'list' && command !== 'revoke') throw new UsageError(command ? `unknown command api-keys ${command}` : 'create, list or revoke?', true);
    if (command === 'create') {
      if (!values.realm) throw new UsageError('--realm is required (a realm id, or * for every realm)', true);
      if (values.access !== 'read' && values.access !== 'write') throw new UsageError('--access must be read or write', true);
      if (values.name !== undefined && (values.name.length === 0 || values.name.length > 100 || /[\u0000-\u001f\u007f]/.test(values.name))) throw new UsageError('--name must be one line of 1 to 100 characters');
    }
    if (command === 'revoke' && rest.length !== 1) throw new UsageError('revoke takes one key id', true);
    if (command !== 'revoke' && rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}`, true);
    const config = loadConfig(env);
    const store = await openStore(config);
    close = () => store.close();
    const ports = await managementPorts(store);
    const realms = await servedRealms(config, store);
    const keys = new ManagementKeys(ports.keys, new AuditLog(ports.audit, () => new Date()), (id) => realms.has(id), () => new Date());

    if (command === 'create') {
      const { key, secret } = await keys.create({ realmId: values.realm === '*' ? null : values.realm!, access: values.access as 'read' | 'write', name: values.name ?? null }, CLI_CONTEXT);
      io.stdout.write(`created ${key.id} (${key.access}, realm ${key.realmId ?? '*'}${key.name ? `, "${key.name}"` : ''}); the key is shown this once:\n${secret}\n`);
    } else if (command === 'list') {
      for (const k of await keys.list()) {
        io.stdout.write(`${k.id}\t${k.realmId ?? '*'}\t${k.access}\t…${k.lastFour}\t${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}\tlast used ${k.lastUsedAt?.toISOString() ?? 'never'}\t${k.name ?? ''}\n`);
      }
    } else {
      const key = await keys.revoke(rest[0]!, CLI_CONTEXT);
      io.stdout.write(`revoked ${key.id}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof NotFoundError) {
      say('no such key');
      return 1;
    }
    if (err instanceof RuleViolation) {
      say(err.issues.map((i) => i.message).join('; '));
      return 1;
    }
    if (err instanceof ConfigError || (err instanceof UsageError && !err.showUsage)) {
      say(err.message);
      return 1;
    }
    if (err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')) {
      say(`${(err as Error).message}\n\n${API_KEYS_USAGE}`);
      return 1;
    }
    throw err;
  } finally {
    await close?.();
  }
}
