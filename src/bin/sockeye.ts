import { commands } from '../cli/commands.ts';
import { type CommandIO, ExitCode, UsageError } from '../cli/io.ts';
import { programName } from '../cli/program.ts';
import { useLeanClientNode } from '../kube/lean-client-node.ts';
import { version } from '../version.ts';

function usage(program: string): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    `${program}: finds the Kubernetes backends that refuse connections, and says why.`,
    '',
    `Usage: ${program} COMMAND [flags]`,
    '',
    'Commands:',
    ...lines,
    '',
    `Run \`${program} COMMAND --help\` for the flags of one command.`,
  ].join('\n');
}

export async function main(argv: readonly string[], io?: CommandIO): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  const realIO: CommandIO = io ?? {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    program: programName(process.argv[1]),
    signal: controller.signal,
  };
  if (!io) {
    // Before any mode loads client-node: only the parts sockeye runs (see lean-client-node.ts).
    useLeanClientNode();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      realIO.stdout.write(`${usage(realIO.program)}\n`);
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (name === '--version' || name === 'version') {
      realIO.stdout.write(`sockeye ${version()}\n`);
      return ExitCode.ok;
    }
    const entry = commands[name];
    if (!entry) {
      throw new UsageError(`unknown command "${name}"; run \`${realIO.program} --help\` for the list`);
    }
    const command = await entry.load();
    return await command(rest, realIO);
  } catch (err) {
    if (err instanceof UsageError) {
      realIO.stderr.write(`${realIO.program}: ${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
