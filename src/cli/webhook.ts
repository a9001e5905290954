import { readFileSync } from 'node:fs';
import { readFlags } from '../config/flags.ts';
import { logger } from '../log.ts';
import { version } from '../version.ts';
import { DEFAULT_SIDECAR_PORT } from '../webhook/inject.ts';
import { startWebhook, stopWebhook } from '../webhook/server.ts';
import { type Command, ExitCode, UsageError } from './io.ts';

const help = (program: string) => `Usage: ${program} webhook --cert FILE --key FILE [flags]

Mutating admission webhook: adds the sockeye sidecar container to pods annotated
sockeye.dev/inject: "true" that do not have it yet; every other pod is admitted unchanged. Serves
POST /mutate (admission.k8s.io/v1 AdmissionReview) and GET /healthz over TLS. Register it with
failurePolicy: Ignore so that a webhook that is down never blocks pod creation.

  --cert FILE            TLS certificate (PEM) for the webhook's Service name    SOCKEYE_WEBHOOK_CERT
  --key FILE             its private key (PEM)                                   SOCKEYE_WEBHOOK_KEY
  --port N               HTTPS port (default 8443)                               SOCKEYE_WEBHOOK_PORT
  --host ADDR            address to serve on (default: every address)            SOCKEYE_WEBHOOK_HOST
  --image IMAGE          sidecar image (default ghcr.io/sockeye-dev/sockeye:VERSION)
  --sidecar-port N       the sidecar's /healthz /readyz /metrics port (default ${DEFAULT_SIDECAR_PORT})
  --sidecar-arg ARG      extra sidecar flag, repeatable (e.g. --sidecar-arg=--interval=30s)
  -h, --help`;

export const webhookCommand: Command = async (argv, io) => {
  const { values } = readFlags(
    argv,
    {
      cert: { type: 'string' },
      key: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      image: { type: 'string' },
      'sidecar-port': { type: 'string' },
      'sidecar-arg': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    { command: 'webhook' },
  );
  if (values.help) {
    io.stdout.write(`${help(io.program)}\n`);
    return ExitCode.ok;
  }
  const str = (flag: 'cert' | 'key' | 'port' | 'host' | 'image' | 'sidecar-port', env?: string) =>
    values[flag] ?? (env ? io.env[env] : undefined);
  const port = (flag: 'port' | 'sidecar-port', env: string | undefined, fallback: number) => {
    const raw = str(flag, env);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > 65535)
      throw new UsageError(`webhook: --${flag}: want a port 0-65535 (got "${raw}")`);
    return n;
  };
  const certFile = str('cert', 'SOCKEYE_WEBHOOK_CERT');
  const keyFile = str('key', 'SOCKEYE_WEBHOOK_KEY');
  if (!certFile || !keyFile)
    throw new UsageError(
      'webhook: --cert and --key are required (the API server only calls webhooks over TLS)',
    );
  const read = (file: string, flag: 'cert' | 'key') => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(
        `webhook: --${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  };
  const { server, port: bound } = await startWebhook({
    cert: read(certFile, 'cert'),
    key: read(keyFile, 'key'),
    host: str('host', 'SOCKEYE_WEBHOOK_HOST'),
    port: port('port', 'SOCKEYE_WEBHOOK_PORT', 8443),
    inject: {
      image: str('image') ?? `ghcr.io/sockeye-dev/sockeye:${version()}`,
      containerName: 'sockeye',
      port: port('sidecar-port', undefined, DEFAULT_SIDECAR_PORT),
      args: values['sidecar-arg'] ?? [],
    },
    logger,
  });
  logger.info({ component: 'webhook', port: bound }, 'serving POST /mutate over TLS');
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await stopWebhook(server);
  return ExitCode.ok;
};
