// How the chart runs the operator, read from `helm template` of charts/sockeye with its default values:
// the operator container's args and environment (NODE_OPTIONS and MALLOC_ARENA_MAX among them, derived
// from the default memory limit). The bench runs its operator process with exactly these, so what it
// measures is what a user who installs the chart as it is gets; no copy of the chart's settings here.
import { type K8sObject, parseObjects, renderChart } from '../test/chart/helm.ts';

/** The operator process as the chart's Deployment starts it (without the image's `node bin/sockeye.js`). */
export interface ChartProcess {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath?: string } };
}

interface Container {
  readonly name: string;
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
}

/**
 * The operator container of a rendered chart. Downward-API values (`fieldRef`) come from `fields`
 * (e.g. `metadata.name`); one missing there is left unset, as for a process outside any pod.
 */
export function chartProcess(
  objects: readonly K8sObject[],
  fields: Readonly<Record<string, string>>,
): ChartProcess {
  const deployment = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'operator',
  );
  const spec = deployment?.spec as { template?: { spec?: { containers?: Container[] } } } | undefined;
  const container = spec?.template?.spec?.containers?.find((c) => c.name === 'operator');
  if (!container) throw new Error('the rendered chart has no operator Deployment with an operator container');
  const env: Record<string, string> = {};
  for (const v of container.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value;
    else {
      const path = v.valueFrom?.fieldRef?.fieldPath;
      const field = path === undefined ? undefined : fields[path];
      if (field !== undefined) env[v.name] = field;
      else if (path === undefined) throw new Error(`env ${v.name}: neither a value nor a fieldRef`);
    }
  }
  return { args: [...(container.args ?? [])], env };
}

/** `helm template` of the chart with its defaults and `set` (e.g. the bench's interval), in `namespace`. */
export async function renderedChartProcess(
  namespace: string,
  set: readonly string[],
  fields: Readonly<Record<string, string>>,
): Promise<ChartProcess> {
  return chartProcess(parseObjects(await renderChart({ namespace, set })), fields);
}
