import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Runs `ip -batch` scripts through one long-lived bash process. Forking from the simulator (a Node
 * process of hundreds of MB) cost ~20 ms of its CPU per `ip` call, its main cost at scale
 * (profiled); bash forks for a fraction of that. One request per line: id, namespace (`-` for the
 * host; bash's `read` folds empty tab-separated fields) and the script with newlines as \x1f; one answer per line: id, exit status, error text.
 * `-force`: a batch holds the lines of many pods; one failing line must not stop the others' (the
 * batch still fails, and its callers retry their idempotent lines).
 */
const LOOP = `
while IFS=$'\\t' read -r id ns script; do
  script=\${script//$'\\x1f'/$'\\n'}
  if [ "$ns" != "-" ]; then err=$(ip -force -n "$ns" -batch - 2>&1 <<<"$script"); else err=$(ip -force -batch - 2>&1 <<<"$script"); fi
  rc=$?
  printf '%s\\t%s\\t%s\\n' "$id" "$rc" "\${err//$'\\n'/ }"
done
`;

export class IpRunner {
  readonly #child: ChildProcess;
  readonly #pending = new Map<
    number,
    { resolve: () => void; reject: (err: Error) => void; script: string }
  >();
  #next = 0;

  constructor() {
    this.#child = spawn('bash', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.on('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error('ip runner exited'));
      this.#pending.clear();
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const [id = '', rc = '', err = ''] = line.split('\t');
      const pending = this.#pending.get(Number(id));
      this.#pending.delete(Number(id));
      if (!pending) return;
      if (rc === '0') pending.resolve();
      else
        pending.reject(
          new Error(`ip -batch failed (${rc}): ${err.trim()} [${pending.script.replaceAll('\n', '; ')}]`),
        );
    });
  }

  run(netns: string | null, lines: readonly string[]): Promise<void> {
    const id = ++this.#next;
    const script = lines.join('\n');
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, script });
      this.#child.stdin!.write(`${id}\t${netns ?? '-'}\t${lines.join('\x1f')}\n`);
    });
  }

  close(): void {
    this.#child.stdin!.end();
  }
}
