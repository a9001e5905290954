import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProcNetListeners } from './proc-net-file.ts';

const exec = promisify(execFile);
const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const line = (sl: number, local: string, remote: string, st: string) =>
  `${String(sl).padStart(6)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${1_000_000 + sl} 1 00000000cea31d4e 100 0 0 10 0                   \n`;

/** A pod with 100,000 established connections to its 8080 and two listeners: /proc/net/tcp of ~16 MB. */
function busyPod(connections: number): string {
  const parts = [
    HEADER,
    line(0, '0100007F:1F90', '00000000:0000', '0A'),
    line(1, '050012C6:1F91', '00000000:0000', '0A'),
  ];
  for (let i = 2; i < connections + 2; i++) {
    const port = (1024 + (i % 60_000)).toString(16).toUpperCase().padStart(4, '0');
    parts.push(line(i, '050012C6:1F91', `0A0012C6:${port}`, '01'));
  }
  return parts.join('');
}

describe('readProcNetListeners', () => {
  let dir = '';
  let file = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-procnet-'));
    file = join(dir, 'tcp');
    await writeFile(file, busyPod(100_000));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps only the listening sockets of a file with 100,000 connections', async () => {
    expect(await readProcNetListeners(file, 4)).toEqual([
      { family: 4, address: '127.0.0.1', port: 8080 },
      { family: 4, address: '198.18.0.5', port: 8081 },
    ]);
  });

  it('rejects when the file cannot be read', async () => {
    await expect(readProcNetListeners(join(dir, 'missing'), 4)).rejects.toThrow(/ENOENT/);
  });

  // The same file read in a process whose heap is capped below what holding the file would take:
  // the line reader fits, reading the whole text (the way it was read before) does not.
  const inSmallHeap = (code: string) =>
    exec(process.execPath, ['--max-old-space-size=10', '--input-type=module', '-e', code], {
      env: { ...process.env, FILE: file },
    });
  const module = new URL('./proc-net-file.ts', import.meta.url).href;
  const whole = new URL('./proc-net.ts', import.meta.url).href;

  it('reads it within a 10 MB heap, where reading the whole text at once does not fit', async () => {
    const streamed = await inSmallHeap(
      `const { readProcNetListeners } = await import(${JSON.stringify(module)});
       const l = await readProcNetListeners(process.env.FILE, 4); console.log(l.length);`,
    );
    expect(streamed.stdout.trim()).toBe('2');
    await expect(
      inSmallHeap(
        `const { readFile } = await import('node:fs/promises');
         const { parseProcNetTcp } = await import(${JSON.stringify(whole)});
         const text = await readFile(process.env.FILE, 'utf8');
         const lines = text.split('\\n'); console.log(parseProcNetTcp(lines.join('\\n'), 4).length, lines.length);`,
      ),
    ).rejects.toThrow(/heap|memory/i);
  }, 60_000);
});
