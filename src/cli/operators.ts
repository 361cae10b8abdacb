import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config/index.ts';
import { ConflictError, NotFoundError, RuleViolation } from '../domain/errors.ts';
import { ALL_REALMS, isOperatorRole, type OperatorRole, type RoleGrant } from '../domain/operator-role.ts';
import { CLI_CONTEXT } from '../services/context.ts';
import type { OperatorsService, SetupLink } from '../services/operators.ts';
import { UsageError, type CliIo } from './users.ts';

export const OPERATORS_USAGE = `Usage:
  gatehouse operators create --email <address> [--role owner|admin|viewer] [--realm <id>|*]
      A new console operator. The first one is owner of every realm (*) by default; after that,
      --role and --realm are required. Prints the setup link alone on the last line of standard
      output: it lets the operator choose a password, then set up an authenticator (1 hour).
  gatehouse operators setup-link --email <address>
      A new setup link (a lost password or authenticator, or an unused link); the older one stops working.
  gatehouse operators list
  gatehouse operators grant --email <address> --realm <id>|* --role owner|admin|viewer
  gatehouse operators revoke --email <address> --realm <id>|*

The console needs console.publicUrl in the configuration file (or CONSOLE_PUBLIC_URL).`;

const COMMANDS = ['create', 'setup-link', 'list', 'grant', 'revoke'] as const;
type Command = (typeof COMMANDS)[number];

/** "1 hour", "90 minutes": how long a link lives, from now. */
function lifetime(expiresAt: Date): string {
  const minutes = Math.round((expiresAt.getTime() - Date.now()) / 60_000);
  if (minutes % 60 === 0) return minutes === 60 ? '1 hour' : `${minutes / 60} hours`;
  return `${minutes} minutes`;
}

const grantText = (grants: RoleGrant[]) => (grants.length ? grants.map((g) => `${g.realmId}:${g.role}`).join(',') : '(no access)');

interface Args {
  command: Command;
  email?: string;
  realm?: string;
  role?: OperatorRole;
}

/** The command line, checked before the store is opened: every mistake is a UsageError. */
function parse(args: string[]): Args | 'help' {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { email: { type: 'string' }, realm: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return 'help';
  const [command, ...rest] = positionals;
  if (!COMMANDS.includes(command as Command)) throw new UsageError(command ? `unknown command operators ${command}` : `${COMMANDS.join(', ')}?`, true);
  if (rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}`, true);
  if (values.role !== undefined && !isOperatorRole(values.role)) throw new UsageError('--role must be owner, admin or viewer');
  if (values.realm !== undefined && values.realm !== ALL_REALMS && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(values.realm)) throw new UsageError('--realm must be a realm id, or * for every realm');
  const c = command as Command;
  if (c === 'list') {
    if (values.email || values.realm || values.role) throw new UsageError('list takes no options', true);
  } else if (!values.email) {
    throw new UsageError('--email is required', true);
  }
  if (c === 'setup-link' && (values.realm || values.role)) throw new UsageError('setup-link takes --email only', true);
  if (c === 'grant' && (!values.realm || !values.role)) throw new UsageError('grant needs --realm and --role', true);
  if (c === 'revoke' && !values.realm) throw new UsageError('revoke needs --realm', true);
  if (c === 'revoke' && values.role) throw new UsageError('revoke takes --email and --realm (the role there goes, whatever it is)', true);
  return { command: c, email: values.email, realm: values.realm, role: values.role as OperatorRole | undefined };
}

async function run(operators: OperatorsService, a: Args, out: (text: string) => void): Promise<void> {
  const printLink = (email: string, link: SetupLink) => out(`setup link for ${email} (expires in ${lifetime(link.expiresAt)}):\n${link.setupLink}`);
  if (a.command === 'create') {
    if ((await operators.hasOperators()) && (!a.role || !a.realm)) throw new UsageError('--role and --realm are required: the first operator is made already (owner of * by default only for that one)', true);
    const grant = { realmId: a.realm ?? ALL_REALMS, role: a.role ?? 'owner' };
    const made = await operators.create({ email: a.email!, grants: [grant] }, CLI_CONTEXT);
    out(`created operator ${made.operator.email} (${grant.role} on ${grant.realmId})`);
    printLink(made.operator.email!, made);
  } else if (a.command === 'setup-link') {
    printLink(a.email!, await operators.setupLink(a.email!, CLI_CONTEXT));
  } else if (a.command === 'list') {
    for (const { operator, grants } of await operators.list()) out(`${operator.email}\t${operator.id}\t${grantText(grants)}\t${operator.state}`);
  } else {
    const operator = await operators.byEmail(a.email!);
    if (a.command === 'grant') await operators.grant(operator.id, a.realm!, a.role!, CLI_CONTEXT);
    else await operators.revoke(operator.id, a.realm!, CLI_CONTEXT);
    out(`${operator.email}: ${grantText(await operators.grantsOf(operator.id))}`);
  }
}

/**
 * `gatehouse operators …`: the console's operators, on the store and with the services the server uses (the
 * same composition, without listening and without sending mail), so a link made here works on the running
 * server at once. Returns the exit code.
 */
export async function operatorsCommand(args: string[], env: Record<string, string | undefined>, io: CliIo): Promise<number> {
  const say = (text: string) => io.stderr.write(`${text}\n`);
  let close: (() => Promise<void>) | null = null;
  let startupError: (new (...args: never[]) => Error) | null = null;
  try {
    const parsed = parse(args);
    if (parsed === 'help') {
      io.stdout.write(`${OPERATORS_USAGE}\n`);
      return 0;
    }
    const config = loadConfig(env);
    if (!config.console) throw new UsageError(`there is no console in ${config.configPath}: set console.publicUrl there, or CONSOLE_PUBLIC_URL`);
    const logger = pino({ level: config.logLevel === 'silent' ? 'silent' : 'warn' }, pino.destination(2));
    // Loaded once the command line is known to be right: a mistake is answered without loading the whole app.
    const [{ createApp }, { compose, StartupError }] = await Promise.all([import('../app.ts'), import('../main.ts')]);
    startupError = StartupError;
    const composition = await compose(config, logger, {}, { sendMail: false });
    const gatehouse = createApp(composition.deps);
    close = async () => {
      await gatehouse.drain();
      await composition.close();
    };
    await run(gatehouse.management!.operators, parsed, (text) => io.stdout.write(`${text}\n`));
    return 0;
  } catch (err) {
    if (err instanceof NotFoundError) {
      say(err.resource === 'grant' ? 'that operator has no role on that realm' : 'no operator has that email');
      return 1;
    }
    if (err instanceof RuleViolation) {
      say(err.issues.map((i) => i.message).join('; '));
      return 1;
    }
    if (err instanceof ConflictError) {
      say(err.reason === 'email.taken' ? 'an operator has that email already: use operators grant, or operators setup-link' : err.message);
      return 1;
    }
    if (err instanceof ConfigError || (startupError && err instanceof startupError) || (err instanceof UsageError && !err.showUsage)) {
      say(err.message);
      return 1;
    }
    if (err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')) {
      say(`${(err as Error).message}\n\n${OPERATORS_USAGE}`);
      return 1;
    }
    throw err;
  } finally {
    await close?.();
  }
}
