/**
 * The OpenReports `Report` API (openreports.io/v1alpha1, the successor of wg-policy's PolicyReport):
 * whether the cluster serves it (discovery), and the calls the operator's report writer makes on
 * sockeye's own Reports, all as field manager `sockeye`. sockeye never installs the CRD.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { isNotFound } from './errors.ts';
import { FIELD_MANAGER } from './field-manager.ts';
import { paginate } from './pager.ts';
import { getRaw, HttpMethod, listRaw, requestRaw } from './raw-requests.ts';
import { withSignal } from './request-options.ts';

export const REPORT_GROUP = 'openreports.io';
export const REPORT_VERSION = 'v1alpha1';
export const REPORT_PLURAL = 'reports';
export const REPORT_API_VERSION = `${REPORT_GROUP}/${REPORT_VERSION}`;

/** A Report as the API serves it: plain JSON, read by the pure mapping (operator/policy-report.ts). */
export interface ReportObject extends KubernetesObject {
  readonly metadata: { readonly name: string; readonly namespace: string } & KubernetesObject['metadata'];
  readonly [field: string]: unknown;
}

/** What the report writer needs of the API (tests of the writer pass their own). */
export interface ReportStore {
  /** Whether the API server serves openreports.io/v1alpha1 `reports` (false: not installed). */
  served(signal?: AbortSignal): Promise<boolean>;
  /** Every Report matching `labelSelector`, in `namespaces` (undefined: the whole cluster). */
  list(
    labelSelector: string,
    namespaces: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Promise<ReportObject[]>;
  /** Creates or updates the Report (server-side apply, forced: sockeye owns its Reports). */
  apply(report: ReportObject, signal?: AbortSignal): Promise<void>;
  /** Deletes it; one that is already gone is no error. */
  delete(namespace: string, name: string, signal?: AbortSignal): Promise<void>;
}

const BASE = `/apis/${REPORT_GROUP}/${REPORT_VERSION}`;
const LIST_PAGE_SIZE = 500;

export function openReportsStore(kc: KubeConfig): ReportStore {
  // Plain requests, not client-node's CustomObjectsApi: importing a generated API class loads every
  // API group and model (kube/lean-client-node.ts; test/structure/lean-client-node.test.ts).
  const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  const at = (namespace: string, name: string) =>
    `${BASE}/namespaces/${encodeURIComponent(namespace)}/${REPORT_PLURAL}/${encodeURIComponent(name)}`;
  return {
    async served() {
      try {
        const list = JSON.parse(await getRaw(kc, BASE)) as { resources?: { name?: string }[] };
        return (list.resources ?? []).some((r) => r.name === REPORT_PLURAL);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    async list(labelSelector, namespaces, signal) {
      const paths =
        namespaces === undefined
          ? [`${BASE}/${REPORT_PLURAL}`]
          : namespaces.map((ns) => `${BASE}/namespaces/${ns}/${REPORT_PLURAL}`);
      const out: ReportObject[] = [];
      for (const path of paths) {
        const listed = await paginate<ReportObject>((page) => listRaw(kc, path, page), {
          limit: LIST_PAGE_SIZE,
          labelSelector,
          signal,
        });
        out.push(...listed.items);
      }
      return out;
    },
    async apply(report, signal) {
      const { namespace, name } = report.metadata;
      await requestRaw(kc, at(namespace, name), {
        method: HttpMethod.PATCH,
        query: { fieldManager: FIELD_MANAGER, force: 'true' },
        body: report,
        options: withSignal(signal, apply),
      });
    },
    async delete(namespace, name, signal) {
      try {
        await requestRaw(kc, at(namespace, name), { method: HttpMethod.DELETE, options: withSignal(signal) });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}
