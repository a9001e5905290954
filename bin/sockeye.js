#!/usr/bin/env node
// Runs the TypeScript sources directly in a checkout (Node >= 22.18 strips types), and the
// compiled dist/ when installed as a package (Node never strips types under node_modules).
import { existsSync } from 'node:fs';

const source = new URL('../src/bin/sockeye.ts', import.meta.url);
const fromSource = existsSync(source) && !source.pathname.includes('/node_modules/');
const { main } = await import(fromSource ? source.href : '../dist/bin/sockeye.js');
process.exitCode = await main(process.argv.slice(2));
