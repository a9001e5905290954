import { pino } from 'pino';

/** The one root logger; components log through `logger.child({ component })`. JSON lines on stderr. */
export const logger = pino(
  { level: process.env.SOCKEYE_LOG_LEVEL ?? 'info', base: { app: 'sockeye' } },
  pino.destination(2),
);

export type Logger = typeof logger;
