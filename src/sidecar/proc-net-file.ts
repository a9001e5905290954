import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Family, type Listener, parseProcNetLine } from './proc-net.ts';

/**
 * The listening sockets of a `/proc/net/tcp{,6}` file, read a line at a time and keeping only LISTEN
 * sockets: a pod with 100,000 connections (each a line) costs the sidecar no more memory than one
 * with ten. Rejects when the file cannot be read.
 */
export async function readProcNetListeners(
  path: string,
  family: Family,
  endianness: 'LE' | 'BE' = 'LE',
): Promise<Listener[]> {
  const listeners: Listener[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    const listener = parseProcNetLine(line, family, endianness);
    if (listener) listeners.push(listener);
  }
  return listeners;
}
