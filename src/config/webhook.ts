/**
 * The `sockeye webhook` settings table: flags > env > defaults. The sidecar it injects serves on the
 * sidecar's own default port (config/sidecar.ts), so the two cannot disagree.
 */
import { z } from 'zod';
import { list, setting, text } from './settings.ts';
import { DEFAULT_SIDECAR_PORT, listenPort } from './sidecar.ts';

export const WEBHOOK_SETTINGS = {
  cert: setting({
    kind: text('a certificate file'),
    flag: 'cert',
    env: 'SOCKEYE_WEBHOOK_CERT',
    metavar: 'FILE',
    default: undefined,
    help: "TLS certificate (PEM) for the webhook's Service name",
  }),
  key: setting({
    kind: text('a key file'),
    flag: 'key',
    env: 'SOCKEYE_WEBHOOK_KEY',
    metavar: 'FILE',
    default: undefined,
    help: 'its private key (PEM)',
  }),
  port: setting({
    kind: listenPort,
    flag: 'port',
    env: 'SOCKEYE_WEBHOOK_PORT',
    default: 8443,
    help: 'HTTPS port',
  }),
  host: setting({
    kind: text('a listen address'),
    flag: 'host',
    env: 'SOCKEYE_WEBHOOK_HOST',
    metavar: 'ADDR',
    default: undefined,
    help: 'address to serve on (default: every address)',
  }),
  image: setting({
    kind: text('an image'),
    flag: 'image',
    metavar: 'IMAGE',
    // The running release's image, filled in by the command.
    default: undefined,
    help: 'sidecar image (default ghcr.io/sockeye-dev/sockeye:VERSION)',
  }),
  sidecarPort: setting({
    kind: listenPort,
    flag: 'sidecar-port',
    default: DEFAULT_SIDECAR_PORT,
    help: "the sidecar's /healthz /readyz /metrics port",
  }),
  sidecarArgs: setting({
    kind: { ...list(z.string(), 'sidecar flags', false), metavar: 'ARG' },
    flag: 'sidecar-arg',
    default: [],
    help: 'extra sidecar flag, repeatable (e.g. --sidecar-arg=--interval=30s)',
  }),
} as const;
