import { type Logger as PinoLogger, pino } from 'pino';

/** Where a logger keeps its component's name: inherited by its children through the prototype chain. */
const COMPONENT = Symbol('sockeye.component');
type WithComponent = { [COMPONENT]?: string };

/**
 * The `component` field of every line, taken from the innermost component logger. A mixin rather
 * than a child binding: pino writes each child's bindings as they are, so an informer under the
 * operator would print `"component":"operator","component":"informer"`.
 */
function componentField(_merge: object, _level: number, log: PinoLogger): object {
  const component = (log as WithComponent)[COMPONENT];
  return component === undefined ? {} : { component };
}

/** A root logger writing JSON lines to `destination`. */
export function makeLogger(
  destination: pino.DestinationStream,
  level = process.env.SOCKEYE_LOG_LEVEL ?? 'info',
) {
  return pino({ level, base: { app: 'sockeye' }, mixin: componentField }, destination);
}

/** The one root logger; components log through `componentLogger(parent, name)`. JSON lines on stderr. */
export const logger = makeLogger(pino.destination(2));

export type Logger = typeof logger;

/**
 * A child of `parent` for one component (`operator`, `informer`, ...), with further fields bound.
 * Lines carry one `component` key, the innermost one, however deep the nesting.
 */
export function componentLogger(
  parent: Logger,
  component: string,
  bindings: Record<string, unknown> = {},
): Logger {
  const child = parent.child(bindings) as Logger & WithComponent;
  child[COMPONENT] = component;
  return child;
}
