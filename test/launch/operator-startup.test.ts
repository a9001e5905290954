import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const sockeye = fileURLToPath(new URL('../../bin/sockeye.js', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly stderr: string;
}

/**
 * `sockeye operator ARGS` as a process with only `env` (plus PATH): what a start-up error looks like to
 * whoever runs it. Killed after 20 s: an operator that started instead of refusing fails the test.
 */
function operator(args: readonly string[], env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      // Any port the case does not name is the kernel's choice: nothing else on the machine is touched.
      [
        sockeye,
        'operator',
        '--leader-elect=false',
        '--pod-name=startup-test',
        '--http-port=0',
        '--metrics-port=0',
        ...args,
      ],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000, killSignal: 'SIGKILL' },
      (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stderr });
      },
    );
  });
}

/** Exit 2 and exactly one line on stderr, matching `line`; no stack trace. */
function refused(exit: Exit, line: string | RegExp): void {
  const lines = exit.stderr.split('\n').filter((l) => l !== '');
  expect(lines, exit.stderr).toHaveLength(1);
  if (typeof line === 'string') expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
  expect(exit.code, exit.stderr).toBe(2);
}

const TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

describe('sockeye operator: start-up errors are one line on stderr and exit 2', () => {
  let dir = '';
  let home = '';
  /** A kubeconfig that loads; its server (a loopback port nothing listens on) is never reached. */
  let kubeconfig = '';
  let broken = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockeye-startup-'));
    home = join(dir, 'home');
    await mkdir(home);
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      `apiVersion: v1
kind: Config
current-context: dev
clusters: [{name: dev, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: me, user: {token: t}}]
contexts: [{name: dev, context: {cluster: dev, user: me}}]
`,
    );
    broken = join(dir, 'broken');
    await writeFile(broken, 'clusters: [\n  {name: x\n');
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a --kubeconfig that does not exist', async () => {
    const missing = join(dir, 'missing');
    refused(
      await operator(['--kubeconfig', missing], { HOME: home }),
      new RegExp(`^sockeye: cannot load kubeconfig ${missing}: ENOENT`),
    );
  });

  it('a kubeconfig that does not parse, from --kubeconfig or $KUBECONFIG', async () => {
    const line = new RegExp(`^sockeye: cannot load kubeconfig ${broken}: \\S`);
    refused(await operator(['--kubeconfig', broken], { HOME: home }), line);
    refused(await operator([], { HOME: home, KUBECONFIG: broken }), line);
  });

  it('a --context the kubeconfig does not have', async () => {
    refused(
      await operator(['--kubeconfig', kubeconfig, '--context', 'staging'], { HOME: home }),
      'sockeye: no context "staging" in the kubeconfig (it has: dev)',
    );
  });

  it('no kubeconfig and not in a cluster: no fall-back to localhost:8080', async () => {
    refused(
      await operator([], { HOME: home }),
      'sockeye: no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a cluster (KUBERNETES_SERVICE_HOST unset)',
    );
  });

  it.skipIf(existsSync(TOKEN))('in a cluster without a ServiceAccount token', async () => {
    refused(
      await operator([], {
        HOME: home,
        KUBERNETES_SERVICE_HOST: '198.18.0.1',
        KUBERNETES_SERVICE_PORT: '443',
      }),
      `sockeye: in a cluster (KUBERNETES_SERVICE_HOST=198.18.0.1) but no ServiceAccount token at ${TOKEN}; mount one or pass --kubeconfig`,
    );
  });

  describe('the HTTP port in use', () => {
    let taken: Server | undefined;
    let port = 0;
    beforeAll(async () => {
      const server = createServer();
      taken = server;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => taken?.close(resolve) ?? resolve(undefined));
    });

    const listening = (flags: readonly string[]) =>
      operator(['--kubeconfig', kubeconfig, '--http-host=127.0.0.1', ...flags], {
        HOME: home,
        SOCKEYE_LOG_LEVEL: 'warn',
      });

    it('names the health port flag and the port', async () => {
      refused(
        await listening([`--http-port=${port}`, '--metrics-port=0']),
        `sockeye: --http-port ${port}: address already in use`,
      );
    });

    it('names the metrics port flag and the port', async () => {
      refused(
        await listening(['--http-port=0', `--metrics-port=${port}`]),
        `sockeye: --metrics-port ${port}: address already in use`,
      );
    });
  });
});
