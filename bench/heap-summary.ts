// Where the memory of a heap snapshot goes: node bench/heap-summary.ts FILE.heapsnapshot [TOP]
//
// Take one from a running operator with `node --heapsnapshot-signal=SIGUSR2` (SOCKEYE_BENCH_NODE_ARGS
// in bench:operator) and `kill -USR2 PID`. Prints the live heap by node type, the source text of the
// loaded scripts by package (what importing a library costs before it does anything), compiled code,
// and the objects by constructor (self size, count): the figures the README's operator memory
// section quotes. Self sizes only: what a group retains beyond itself is not attributed.
import { readFileSync } from 'node:fs';
import { summarise } from './heap-summary-lib.ts';

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/heap-summary.ts FILE.heapsnapshot [TOP]\n');
  process.exit(2);
}
process.stdout.write(`${summarise(JSON.parse(readFileSync(file, 'utf8')), Number(top)).join('\n')}\n`);
