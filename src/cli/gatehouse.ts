import { apiKeysCommand } from './api-keys.ts';
import { usersCommand } from './users.ts';

const USAGE = `Usage: gatehouse users export|import … (gatehouse users --help)
       gatehouse api-keys create|list|revoke … (gatehouse api-keys --help)
       gatehouse operators create|setup-link|list|grant|revoke … (gatehouse operators --help)`;

/** `gatehouse <command> …`: the administration commands, run beside (or instead of) the server on its configuration. */
export async function gatehouse(args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = args;
  const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  if (command === 'api-keys') return apiKeysCommand(rest, env, io);
  // Loaded only for this command: it runs the server's composition (the whole app), which the others do not need.
  if (command === 'operators') return (await import('./operators.ts')).operatorsCommand(rest, env, io);
  if (command === 'users') return usersCommand(rest, env, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  process.stderr.write(`${command ? `unknown command ${command}\n` : ''}${USAGE}\n`);
  return command === '--help' || command === '-h' ? 0 : 1;
}

// The exit code is set, not forced: standard output and the store get to finish and close first.
process.exitCode = await gatehouse(process.argv.slice(2));
