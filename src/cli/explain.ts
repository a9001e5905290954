import { isReason, REASON_NAMES, REASONS } from '../rules/catalog.ts';
import { GUIDES, renderGuide } from '../rules/guides.ts';
import { type Command, ExitCode, UsageError } from './io.ts';

const usage = (program: string) =>
  `Usage: ${program} explain [REASON]\n\nLists the findings sockeye reports, or prints the guide for one.`;

/** `sockeye explain` lists the reasons; `sockeye explain REASON` prints its troubleshooting guide. */
export const explainCommand: Command = async (argv, io) => {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${usage(io.program)}\n`);
    return ExitCode.ok;
  }
  if (argv.length > 1)
    throw new UsageError(`explain takes one REASON, got ${argv.length}: ${argv.join(' ')}`);
  const [asked] = argv;
  if (asked === undefined) {
    const width = Math.max(...REASON_NAMES.map((r) => r.length));
    const lines = REASON_NAMES.map(
      (r) => `  ${r.padEnd(width)}  ${REASONS[r].severity.padEnd(7)}  ${REASONS[r].summary}`,
    );
    io.stdout.write(
      [`Findings (run \`${io.program} explain REASON\` for one guide):`, ...lines, ''].join('\n'),
    );
    return ExitCode.ok;
  }
  // Reasons are UpperCamelCase; accept any case, since people type them from Event listings.
  const reason = isReason(asked) ? asked : REASON_NAMES.find((r) => r.toLowerCase() === asked.toLowerCase());
  if (reason === undefined) {
    throw new UsageError(`unknown reason "${asked}"; run \`${io.program} explain\` for the list`);
  }
  io.stdout.write(renderGuide(reason, REASONS[reason].summary, GUIDES[reason]));
  return ExitCode.ok;
};
