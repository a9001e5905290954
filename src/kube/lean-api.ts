/**
 * The few API calls the operator makes, with the signatures of client-node's generated API classes
 * (so the sinks and stores over them take either), sent by `requestJson` (raw-requests.ts) instead
 * of the generated code: importing any generated API class loads every API group and model (see
 * lean-client-node.ts). Answers are plain JSON (times are strings, as in a watch); every reader of
 * them accepts strings. Options (merge-patch header, AbortSignal) work as with the generated calls.
 */
import type {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
} from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { HttpMethod, type RawRequest, requestJson } from './raw-requests.ts';

const enc = encodeURIComponent;
const namespaced = (prefix: string, namespace: string, resource: string, name?: string) =>
  `${prefix}/namespaces/${enc(namespace)}/${resource}${name === undefined ? '' : `/${enc(name)}`}`;

/** A write (POST, PUT or PATCH) of the request's body, with its fieldManager when it has one. */
const write = (
  kc: KubeConfig,
  method: HttpMethod,
  path: string,
  r: { readonly body: unknown; readonly fieldManager?: string | undefined },
  options: RawRequest['options'],
) => requestJson(kc, path, { method, query: { fieldManager: r.fieldManager }, body: r.body, options });

/** The write `method` to `resource` in the request's namespace (to the named object when `named`). */
const writeTo =
  (kc: KubeConfig, method: HttpMethod, prefix: string, resource: string, named: boolean) =>
  (
    r: {
      readonly namespace: string;
      readonly name?: string;
      readonly body: unknown;
      readonly fieldManager?: string | undefined;
    },
    options?: RawRequest['options'],
  ) =>
    write(kc, method, namespaced(prefix, r.namespace, resource, named ? r.name : undefined), r, options);

/** Query parameters of a list page. */
const listQuery = (r: { limit?: number | undefined; _continue?: string | undefined }) => ({
  ...(r.limit === undefined ? {} : { limit: String(r.limit) }),
  continue: r._continue,
});

export type LeanCoreV1 = Pick<CoreV1Api, 'patchNamespacedPod' | 'patchNamespacedService' | 'readNamespace'>;

export function leanCoreV1(kc: KubeConfig): LeanCoreV1 {
  const patch = (resource: string) => writeTo(kc, HttpMethod.PATCH, '/api/v1', resource, true);
  return {
    patchNamespacedPod: patch('pods') as LeanCoreV1['patchNamespacedPod'],
    patchNamespacedService: patch('services') as LeanCoreV1['patchNamespacedService'],
    readNamespace: ((r, options) =>
      requestJson(kc, `/api/v1/namespaces/${enc(r.name)}`, { options })) as LeanCoreV1['readNamespace'],
  };
}

export type LeanEventsV1 = Pick<
  EventsV1Api,
  'createNamespacedEvent' | 'patchNamespacedEvent' | 'listNamespacedEvent' | 'listEventForAllNamespaces'
>;

export function leanEventsV1(kc: KubeConfig): LeanEventsV1 {
  const prefix = '/apis/events.k8s.io/v1';
  return {
    createNamespacedEvent: writeTo(
      kc,
      HttpMethod.POST,
      prefix,
      'events',
      false,
    ) as LeanEventsV1['createNamespacedEvent'],
    patchNamespacedEvent: writeTo(
      kc,
      HttpMethod.PATCH,
      prefix,
      'events',
      true,
    ) as LeanEventsV1['patchNamespacedEvent'],
    listNamespacedEvent: ((r, options) =>
      requestJson(kc, namespaced(prefix, r.namespace, 'events'), {
        query: listQuery(r),
        options,
      })) as LeanEventsV1['listNamespacedEvent'],
    listEventForAllNamespaces: ((r, options) =>
      requestJson(kc, `${prefix}/events`, {
        query: listQuery(r ?? {}),
        options,
      })) as LeanEventsV1['listEventForAllNamespaces'],
  };
}

export type LeanCoordinationV1 = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export function leanCoordinationV1(kc: KubeConfig): LeanCoordinationV1 {
  const prefix = '/apis/coordination.k8s.io/v1';
  return {
    readNamespacedLease: ((r, options) =>
      requestJson(kc, namespaced(prefix, r.namespace, 'leases', r.name), {
        options,
      })) as LeanCoordinationV1['readNamespacedLease'],
    createNamespacedLease: writeTo(
      kc,
      HttpMethod.POST,
      prefix,
      'leases',
      false,
    ) as LeanCoordinationV1['createNamespacedLease'],
    replaceNamespacedLease: writeTo(
      kc,
      HttpMethod.PUT,
      prefix,
      'leases',
      true,
    ) as LeanCoordinationV1['replaceNamespacedLease'],
  };
}

export type LeanReviews = Pick<AuthenticationV1Api, 'createTokenReview'> &
  Pick<AuthorizationV1Api, 'createSubjectAccessReview'>;

export function leanReviews(kc: KubeConfig): LeanReviews {
  const create = (path: string) => (r: { body: unknown }, options?: never) =>
    requestJson(kc, path, { method: HttpMethod.POST, body: r.body, options });
  return {
    createTokenReview: create(
      '/apis/authentication.k8s.io/v1/tokenreviews',
    ) as LeanReviews['createTokenReview'],
    createSubjectAccessReview: create(
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    ) as LeanReviews['createSubjectAccessReview'],
  };
}
