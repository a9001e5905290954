import { readFileSync } from 'node:fs';
import { loadSettings, settingsHelp } from '../config/settings.ts';
import { WEBHOOK_SETTINGS } from '../config/webhook.ts';
import { logger } from '../log.ts';
import { version } from '../version.ts';
import { startWebhook, stopWebhook } from '../webhook/server.ts';
import { type Command, ExitCode, UsageError } from './io.ts';

const help = (program: string) => `Usage: ${program} webhook --cert FILE --key FILE [flags]

Mutating admission webhook: adds the sockeye sidecar container to pods annotated
sockeye.dev/inject: "true" that do not have it yet; every other pod is admitted unchanged. Serves
POST /mutate (admission.k8s.io/v1 AdmissionReview) and GET /healthz over TLS. Register it with
failurePolicy: Ignore so that a webhook that is down never blocks pod creation.

${settingsHelp(WEBHOOK_SETTINGS)}`;

export const webhookCommand: Command = async (argv, io) => {
  const { values: v, help: wantsHelp } = loadSettings(
    WEBHOOK_SETTINGS,
    { argv, env: io.env },
    { command: 'webhook' },
  );
  if (wantsHelp) {
    io.stdout.write(`${help(io.program)}\n`);
    return ExitCode.ok;
  }
  const certFile = v.cert;
  const keyFile = v.key;
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
    host: v.host,
    port: v.port,
    inject: {
      image: v.image ?? `ghcr.io/sockeye-dev/sockeye:${version()}`,
      containerName: 'sockeye',
      port: v.sidecarPort,
      args: v.sidecarArgs,
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
