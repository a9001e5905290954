/**
 * The sidecar's narrow view of the Kubernetes API: read its own pod, merge-patch its annotations,
 * create and continue Events about it. Plain node:https with the mounted token and CA, not
 * @kubernetes/client-node: loading the client costs ~65 MiB of anonymous memory, more than the whole
 * sidecar may use (README "sockeye sidecar"). Errors carry `code` (HTTP status), `body` and `headers`
 * like client-node's ApiException, so src/kube/errors.ts classifies them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { type RequestOptions, request } from 'node:https';
import { FIELD_MANAGER } from '../kube/field-manager.ts';
import type { DeclaredPort } from './port-classes.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Only what the loop reads of its pod. */
export interface OwnPod {
  readonly uid: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
  readonly containers: readonly PodContainer[];
}

export interface PodContainer {
  readonly name: string;
  readonly ports?: readonly {
    readonly name?: string;
    readonly containerPort: number;
    readonly protocol?: string;
  }[];
}

/** An events.k8s.io/v1 Event body, as the sidecar writes it. */
export interface EventBody {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly [key: string]: unknown;
}

export interface SidecarApi {
  readPod(namespace: string, name: string): Promise<OwnPod>;
  patchAnnotations(
    namespace: string,
    name: string,
    patch: Readonly<Record<string, string | null>>,
  ): Promise<void>;
  createEvent(event: EventBody): Promise<void>;
  patchEvent(namespace: string, name: string, patch: object): Promise<void>;
}

/** What a failed call throws: the fields src/kube/errors.ts reads. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(method: string, path: string, code: number, body: string, headers: Record<string, string>) {
    super(`${method} ${path}: HTTP ${code}`);
    this.code = code;
    this.body = body;
    this.headers = headers;
  }
}

/** One API request: resolves with the response body, rejects with an `ApiError` (or a network error). */
export type ApiCall = (method: string, path: string, body?: object, contentType?: string) => Promise<string>;

/** The in-cluster API when a ServiceAccount token is mounted and the API server's address is known. */
export function inClusterApi(
  env: Readonly<Record<string, string | undefined>>,
  dir: string = SERVICE_ACCOUNT_DIR,
): SidecarApi | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host || !existsSync(`${dir}/token`)) return undefined;
  const ca = readFileSync(`${dir}/ca.crt`);
  const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}`);
  server.port = String(Number(env.KUBERNETES_SERVICE_PORT ?? 443));
  return sidecarApi(
    requestCall(server, async (options) => {
      options.ca = ca;
      // Read per call: the kubelet rotates projected tokens.
      options.headers = {
        ...options.headers,
        authorization: `Bearer ${readFileSync(`${dir}/token`, 'utf8').trim()}`,
      };
    }),
  );
}

/**
 * What the sidecar needs of a loaded kubeconfig (client-node's `KubeConfig` has both), so that this
 * module never loads client-node: the cluster's address, and the TLS and credentials of a request.
 */
export interface KubeconfigCredentials {
  getCurrentCluster(): { readonly server: string } | null;
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

/** The API a kubeconfig (`--kubeconfig`, `--context`) points at, with its context's credentials. */
export function kubeconfigApi(kc: KubeconfigCredentials): SidecarApi {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig has no current cluster');
  // Per call: an exec or token-file credential may change between two calls.
  return sidecarApi(requestCall(new URL(server), (options) => kc.applyToHTTPSOptions(options)));
}

/**
 * One API request function against `server` (https or http, with any path prefix); `prepare` adds the
 * TLS and credentials to each request's options.
 */
function requestCall(server: URL, prepare: (options: RequestOptions) => Promise<void>): ApiCall {
  const send = server.protocol === 'http:' ? httpRequest : request;
  const prefix = server.pathname.replace(/\/+$/, '');
  return async (method, path, body, contentType = 'application/json') => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options: RequestOptions = {
      host: server.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: server.port === '' ? undefined : Number(server.port),
      method,
      path: `${prefix}${path}`,
      timeout: 10_000,
      headers: {
        accept: 'application/json',
        ...(payload === undefined
          ? {}
          : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
      },
    };
    await prepare(options);
    return new Promise<string>((resolve, reject) => {
      const req = send(options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(text);
          else {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
            reject(new ApiError(method, path, status, text, headers));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
}

/**
 * The SidecarApi over one request function. Every write names sockeye as its field manager, so the
 * pod's managedFields give sockeye exactly the annotation keys it sets.
 */
export function sidecarApi(call: ApiCall): SidecarApi {
  const pod = (ns: string, name: string) =>
    `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`;
  const events = (ns: string) => `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`;
  const write = (method: 'POST' | 'PATCH', path: string, body: object) =>
    call(
      method,
      `${path}?fieldManager=${encodeURIComponent(FIELD_MANAGER)}`,
      body,
      method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
    );
  return {
    async readPod(namespace, name) {
      return ownPod(JSON.parse(await call('GET', pod(namespace, name))) as ApiPod);
    },
    async patchAnnotations(namespace, name, patch) {
      await write('PATCH', pod(namespace, name), { metadata: { annotations: patch } });
    },
    async createEvent(event) {
      await write('POST', events(event.metadata.namespace), event);
    },
    async patchEvent(namespace, name, patch) {
      await write('PATCH', `${events(namespace)}/${encodeURIComponent(name)}`, patch);
    },
  };
}

/** The namespace of the mounted token, for a pod spec without POD_NAMESPACE. */
export function serviceAccountNamespace(dir: string = SERVICE_ACCOUNT_DIR): string | undefined {
  try {
    return readFileSync(`${dir}/namespace`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The fields of a v1 Pod the sidecar reads. */
interface ApiPod {
  readonly metadata?: { readonly uid?: string; readonly annotations?: Record<string, string> };
  readonly spec?: {
    readonly containers?: readonly {
      readonly name: string;
      readonly ports?: readonly {
        readonly name?: string;
        readonly containerPort: number;
        readonly protocol?: string;
      }[];
    }[];
  };
}

export function ownPod(pod: ApiPod): OwnPod {
  return {
    uid: pod.metadata?.uid,
    annotations: pod.metadata?.annotations ?? {},
    containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, ports: c.ports ?? [] })),
  };
}

/**
 * The TCP ports the pod's other containers declare, in spec order, each number once. The sidecar's
 * own container and own ports are left out: it does not judge itself.
 */
export function declaredPorts(
  containers: readonly PodContainer[],
  ownContainer: string,
  ownPorts: readonly number[],
): DeclaredPort[] {
  const out: DeclaredPort[] = [];
  for (const c of containers) {
    if (c.name === ownContainer) continue;
    for (const p of c.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP' || ownPorts.includes(p.containerPort)) continue;
      if (out.some((d) => d.number === p.containerPort)) continue;
      out.push({ name: p.name ?? '', number: p.containerPort });
    }
  }
  return out;
}
