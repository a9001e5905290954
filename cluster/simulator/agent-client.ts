import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const agentScript = fileURLToPath(new URL('./agent.ts', import.meta.url));

/** A process the agent started has exited (see agent.ts). */
export interface ContainerExit {
  readonly key: string;
  readonly uid: string;
  readonly container: string;
  readonly code: number;
}

/** The simulator's end of one namespace agent (see agent.ts): requests out, answers matched by seq. */
export class AgentClient {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #seq = 0;
  #exited = false;
  readonly netns: string;

  constructor(netns: string, onExit: (exit: ContainerExit) => void = () => undefined) {
    this.netns = netns;
    // Many pods share one node namespace: their listeners count against this process's fd limit
    // (inherited; spread pods over more --nodes when it is too low).
    this.#child = spawn('ip', ['netns', 'exec', netns, process.execPath, agentScript], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#child.on('exit', () => {
      this.#exited = true;
      for (const p of this.#pending.values()) p.reject(new Error(`agent in ${netns} exited`));
      this.#pending.clear();
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const answer = JSON.parse(line) as { seq: number; ok?: true; error?: string; exited?: ContainerExit };
      if (answer.exited) {
        onExit(answer.exited);
        return;
      }
      const pending = this.#pending.get(answer.seq);
      this.#pending.delete(answer.seq);
      if (answer.error !== undefined) pending?.reject(new Error(answer.error));
      else pending?.resolve();
    });
  }

  request(body: Record<string, unknown>): Promise<void> {
    if (this.#exited) return Promise.reject(new Error(`agent in ${this.netns} is not running`));
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.#child.stdin!.write(`${JSON.stringify({ seq, ...body })}\n`);
    });
  }

  /** Closing stdin makes the agent kill what it started and exit. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
