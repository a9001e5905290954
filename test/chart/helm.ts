import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { binaryPath } from '../../cluster/binaries.ts';

export const chartDir = fileURLToPath(new URL('../../charts/sockeye/', import.meta.url));
export const ciDir = `${chartDir}ci/`;
/** The local cluster's API server version; our helm is built without a default one (it says v1.20). */
export const KUBE_VERSION = 'v1.36.3';
/** The API version `helm template` must be told of for the chart to render its admission policy. */
export const VAP_API = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command and returns its exit code and output; never throws for a non-zero exit. */
export function exec(file: string, args: readonly string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')}: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like exec(), but a non-zero exit throws with the command's stderr. */
export async function mustExec(file: string, args: readonly string[], input?: string): Promise<string> {
  const result = await exec(file, args, input);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

export const helm = (args: readonly string[]): Promise<Result> => exec(binaryPath('helm'), args);

/** The ci/ values files, one per supported mode. */
export function ciValuesFiles(): string[] {
  return readdirSync(ciDir)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort();
}

export interface RenderOptions {
  readonly release?: string;
  readonly namespace: string;
  readonly valuesFiles?: readonly string[];
  readonly set?: readonly string[];
  /** `--api-versions`: what the API server would serve (helm template knows only the built-in ones). */
  readonly apiVersions?: readonly string[];
}

/** `helm template` of the chart with `--set` values, for the cases where helm must refuse. */
export function tryTemplate(set: readonly string[]): Promise<Result> {
  return helm([
    'template',
    'sockeye',
    chartDir,
    '--kube-version',
    KUBE_VERSION,
    ...set.flatMap((s) => ['--set', s]),
  ]);
}

/** `helm template` of the chart; throws when helm refuses. */
export async function renderChart(options: RenderOptions): Promise<string> {
  const args = [
    'template',
    options.release ?? 'sockeye',
    chartDir,
    '--namespace',
    options.namespace,
    '--kube-version',
    KUBE_VERSION,
    ...(options.valuesFiles ?? []).flatMap((f) => ['--values', f]),
    ...(options.set ?? []).flatMap((s) => ['--set', s]),
    ...(options.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
  ];
  return mustExec(binaryPath('helm'), args);
}

/** A rendered Kubernetes object, as plain data. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly [field: string]: unknown;
}

export function parseObjects(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((obj): obj is K8sObject => obj !== null);
}

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

/** Every (ClusterRole|Role, rule) pair of a render. */
export function rbacRules(objects: readonly K8sObject[]): { role: K8sObject; rule: PolicyRule }[] {
  return objects
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
    .flatMap((role) => ((role.rules as PolicyRule[] | undefined) ?? []).map((rule) => ({ role, rule })));
}

/** The verbs granted on `group/resource` by the roles of `component` (operator or audit). */
export function grantedVerbs(
  objects: readonly K8sObject[],
  component: string,
  group: string,
  resource: string,
): Set<string> {
  const verbs = new Set<string>();
  for (const { role, rule } of rbacRules(objects)) {
    if (role.metadata.labels?.['app.kubernetes.io/component'] !== component) continue;
    if (rule.apiGroups?.includes(group) && rule.resources?.includes(resource)) {
      for (const verb of rule.verbs) verbs.add(verb);
    }
  }
  return verbs;
}

/** The pod specs of a render (Deployment, Job, CronJob, Pod), with the name of the object they belong to. */
export function podSpecs(objects: readonly K8sObject[]): { owner: string; spec: Record<string, unknown> }[] {
  const out: { owner: string; spec: Record<string, unknown> }[] = [];
  for (const o of objects) {
    const spec = o.spec as Record<string, unknown> | undefined;
    const template =
      o.kind === 'CronJob'
        ? (
            (spec?.jobTemplate as Record<string, unknown> | undefined)?.spec as
              | Record<string, unknown>
              | undefined
          )?.template
        : o.kind === 'Deployment' || o.kind === 'Job'
          ? spec?.template
          : undefined;
    const podSpec = o.kind === 'Pod' ? spec : (template as Record<string, unknown> | undefined)?.spec;
    if (podSpec)
      out.push({ owner: `${o.kind}/${o.metadata.name}`, spec: podSpec as Record<string, unknown> });
  }
  return out;
}
