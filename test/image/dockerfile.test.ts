import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dockerIgnored, execForm, lintDockerfile, parseDockerfile } from './dockerfile.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFile(new URL(path, root), 'utf8');

/** The build stage both correct files below share. */
const BUILD = `
ARG BASE=node:24-bookworm-slim@sha256:${'a'.repeat(64)}
FROM $BASE AS build
COPY package.json package-lock.json ./
RUN npm ci
RUN npm run build
`;

const GOOD = `${BUILD}FROM $BASE
COPY --from=build /src/dist/bundle ./dist/bundle
USER 65532
ENTRYPOINT ["node", "/app/bin/sockeye.js"]
`;

/** The other correct way: tsc's output with the production dependencies beside it. */
const GOOD_WITH_MODULES = `${BUILD}FROM $BASE AS deps
RUN npm ci --omit=dev \\
    --ignore-scripts
FROM $BASE
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532
ENTRYPOINT ["node", "/app/bin/sockeye.js"]
`;

describe('Dockerfile', () => {
  it('passes every rule', async () => {
    expect(lintDockerfile(await read('Dockerfile'))).toEqual([]);
  });

  it('runs node on /app/bin/sockeye.js, exec form, as the chart’s non-root UID, on the chart’s port', async () => {
    const file = parseDockerfile(await read('Dockerfile'));
    const runtime = file.stages.at(-1)?.instructions ?? [];
    const entrypoint = runtime.find((i) => i.keyword === 'ENTRYPOINT');
    expect(execForm(entrypoint?.args ?? '')).toEqual(['node', '/app/bin/sockeye.js']);
    const values = parse(await read('charts/sockeye/values.yaml')) as {
      podSecurityContext: { runAsUser: number; runAsGroup: number };
      operator: { httpPort: number };
    };
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBe(`${values.podSecurityContext.runAsUser}:${values.podSecurityContext.runAsGroup}`);
    expect(runtime.find((i) => i.keyword === 'EXPOSE')?.args).toBe(String(values.operator.httpPort));
    // Node.js 24 LTS everywhere, one pinned image for every stage.
    expect(new Set(file.stages.map((s) => s.image)).size).toBe(1);
    expect(file.stages[0]?.image).toMatch(/^node:24-bookworm-slim@sha256:[a-f0-9]{64}$/);
  });

  it('accepts minimal correct files (the rules are not tuned to one text): a bundle, or node_modules beside tsc output', () => {
    expect(lintDockerfile(GOOD)).toEqual([]);
    expect(lintDockerfile(GOOD_WITH_MODULES)).toEqual([]);
  });

  it.each([
    ['a single stage', GOOD.slice(GOOD.indexOf('FROM $BASE\n')), /not multi-stage/],
    ['a tag instead of a digest', GOOD.replace(/@sha256:a+/, ''), /not pinned by digest/],
    ['an older Node.js', GOOD.replace('node:24-bookworm-slim', 'node:20-bookworm-slim'), /not Node\.js 24/],
    ['no USER', GOOD.replace('USER 65532\n', ''), /runs as root/],
    ['USER root', GOOD.replace('USER 65532', 'USER 0'), /USER 0 is root/],
    ['a user name', GOOD.replace('USER 65532', 'USER node'), /numeric UID/],
    [
      'a shell-form ENTRYPOINT',
      GOOD.replace(/ENTRYPOINT .*/, 'ENTRYPOINT node /app/bin/sockeye.js'),
      /shell form/,
    ],
    ['CMD npm start', `${GOOD}CMD ["npm", "start"]\n`, /runs npm/],
    ['ADD of a URL', GOOD.replace('USER', 'ADD https://example.com/x.tgz /x\nUSER'), /ADD of a URL/],
    ['npm install', GOOD.replace('RUN npm ci\n', 'RUN npm install\n'), /use npm ci/],
    [
      'dev dependencies in the runtime',
      GOOD_WITH_MODULES.replace('npm ci --omit=dev', 'npm ci'),
      /does not run npm ci --omit=dev/,
    ],
    [
      'node_modules from the build stage',
      GOOD_WITH_MODULES.replace('--from=deps', '--from=build'),
      /stage build/,
    ],
    [
      "tsc's output without node_modules",
      GOOD.replace('/src/dist/bundle ./dist/bundle', '/src/dist ./dist'),
      /neither node_modules nor a bundle/,
    ],
    ['no build', GOOD.replace('RUN npm run build\n', ''), /npm run build/],
  ])('rejects %s', (_what, text, problem) => {
    expect(lintDockerfile(text).join('\n')).toMatch(problem);
  });
});

describe('.dockerignore', () => {
  it('sends only what the Dockerfile copies: no node_modules, .git, cluster state, tests or charts', async () => {
    const ignore = await read('.dockerignore');
    for (const path of [
      'node_modules/yaml/package.json',
      '.git/HEAD',
      '.cluster/local/state.json',
      'dist/bin/sockeye.js',
      'test/chart/chart.test.ts',
      'charts/sockeye/values.yaml',
      'src/probe/engine.test.ts',
      '.env',
    ]) {
      expect(dockerIgnored(ignore, path), path).toBe(true);
    }
    for (const path of [
      'package.json',
      'package-lock.json',
      'bin/sockeye.js',
      'src/bin/sockeye.ts',
      'tsconfig.json',
    ]) {
      expect(dockerIgnored(ignore, path), path).toBe(false);
    }
  });

  it('keeps every path the Dockerfile copies from the build context', async () => {
    const ignore = await read('.dockerignore');
    const file = parseDockerfile(await read('Dockerfile'));
    const sources = file.stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources)
      expect(dockerIgnored(ignore, source.replace(/^\.\//, '')), source).toBe(false);
  });
});
