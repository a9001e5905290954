#!/usr/bin/env node
// Runs the TypeScript sources directly in a checkout (Node >= 22.18 strips types). Installed (the
// image, a package), it runs the bundle `npm run build` writes (dist/bundle/, scripts/bundle.ts: a
// mode's code in a few files, not ~900 modules), or tsc's dist/ where only that was built (`prepare`);
// Node never strips types under node_modules.
import { existsSync } from 'node:fs';

const source = new URL('../src/bin/sockeye.ts', import.meta.url);
const bundle = new URL('../dist/bundle/sockeye.mjs', import.meta.url);
const entry =
  existsSync(source) && !source.pathname.includes('/node_modules/')
    ? source.href
    : existsSync(bundle)
      ? bundle.href
      : '../dist/bin/sockeye.js';
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
