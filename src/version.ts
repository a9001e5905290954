import { readFileSync } from 'node:fs';

/** sockeye's release, from package.json (the image, the SARIF driver and `--version` report it). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
