/**
 * `npm run package:chart [-- OUT_DIR]`: `helm package charts/sockeye`, made reproducible. Helm 3
 * (v3.22, pkg/chartutil/save.go) stamps every tar entry with the time of packaging and reads no
 * SOURCE_DATE_EPOCH, so two runs a second apart differ. This rewrites each entry's mtime to one fixed
 * time (SOURCE_DATE_EPOCH when set, else the last commit of charts/sockeye) and compresses again with
 * fixed settings (gzip mtime 0, level 9); names, modes, order and contents stay helm's. Prints the
 * archive's path and sha256.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ensureBinaries } from '../cluster/binaries.ts';

const run = promisify(execFile);
const chartDir = fileURLToPath(new URL('../charts/sockeye/', import.meta.url));
const BLOCK = 512;

/** SOURCE_DATE_EPOCH (the reproducible-builds convention), else the chart's last commit time. */
export async function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined) {
    if (!/^\d+$/.test(fromEnv)) throw new Error(`SOURCE_DATE_EPOCH=${fromEnv} is not a number of seconds`);
    return Number(fromEnv);
  }
  const { stdout } = await run('git', ['log', '-1', '--format=%ct', '--', chartDir], { cwd: chartDir });
  const epoch = Number(stdout.trim());
  if (!Number.isInteger(epoch) || epoch <= 0) {
    throw new Error('charts/sockeye has no commit to date the archive by: set SOURCE_DATE_EPOCH');
  }
  return epoch;
}

/** One ustar entry of an uncompressed tar: its name, mtime (seconds) and contents. */
export interface TarEntry {
  readonly name: string;
  readonly mtime: number;
  readonly body: Buffer;
}

const field = (header: Buffer, offset: number, length: number): string =>
  header
    .subarray(offset, offset + length)
    .toString('latin1')
    .replace(/\0.*$/s, '')
    .trim();

/** Walks a tar's headers; refuses the extensions (PAX, GNU long names) whose records could carry times. */
function* headers(tar: Buffer): Generator<{ offset: number; entry: TarEntry }> {
  let offset = 0;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return;
    const type = String.fromCharCode(header[156] ?? 0);
    if (!['0', '\0', '5'].includes(type)) {
      throw new Error(`tar entry of type '${type}' at ${offset}: only plain files and folders are expected`);
    }
    const size = Number.parseInt(field(header, 124, 12) || '0', 8);
    const prefix = field(header, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(header, 0, 100);
    const mtime = Number.parseInt(field(header, 136, 12), 8);
    const body = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    yield { offset, entry: { name, mtime, body } };
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
}

/** The entries of a .tgz, as helm wrote them. */
export function tgzEntries(tgz: Buffer): TarEntry[] {
  return [...headers(gunzipSync(tgz))].map((h) => h.entry);
}

/** The .tgz with every entry's mtime set to `epoch`, compressed with fixed settings. */
export function normaliseTgz(tgz: Buffer, epoch: number): Buffer {
  const tar = Buffer.from(gunzipSync(tgz));
  for (const { offset } of [...headers(tar)]) {
    const header = tar.subarray(offset, offset + BLOCK);
    header.write(`${epoch.toString(8).padStart(11, '0')}\0`, 136, 12, 'latin1');
    // The checksum: the header's bytes summed with its own field read as spaces.
    header.fill(0x20, 148, 156);
    const sum = header.reduce((a, b) => a + b, 0);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  }
  return gzipSync(tar, { level: 9 });
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** `helm package` into `outDir`, normalised in place; returns the archive's path and digest. */
export async function packageChart(
  outDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ file: string; sha256: string }> {
  const { helm } = await ensureBinaries(['helm']);
  const { stdout } = await run(helm, ['package', chartDir, '--destination', outDir]);
  // "Successfully packaged chart and saved it to: /out/sockeye-0.1.0.tgz"
  const file = /saved it to: (.+\.tgz)\s*$/m.exec(stdout)?.[1];
  if (!file) throw new Error(`helm package said: ${stdout.trim()}`);
  const reproducible = normaliseTgz(await readFile(file), await sourceDateEpoch(env));
  await writeFile(file, reproducible);
  return { file, sha256: sha256(reproducible) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { file, sha256: digest } = await packageChart(resolve(process.argv[2] ?? '.'));
  process.stdout.write(`${file}\nsha256:${digest}\n`);
}
