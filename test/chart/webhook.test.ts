import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ciValuesFiles, type K8sObject, parseObjects, podSpecs, rbacRules, renderChart } from './helm.ts';

const NAMESPACE = 'sockeye-system';
const render = async (set: readonly string[] = []): Promise<K8sObject[]> =>
  parseObjects(await renderChart({ namespace: NAMESPACE, set }));
const only = (objects: readonly K8sObject[], kind: string): K8sObject => {
  const found = objects.filter(
    (o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === 'webhook',
  );
  expect(found, kind).toHaveLength(1);
  return found[0] as K8sObject;
};

interface Webhook {
  name: string;
  failurePolicy: string;
  sideEffects: string;
  admissionReviewVersions: string[];
  timeoutSeconds: number;
  clientConfig: {
    caBundle: string;
    service: { name: string; namespace: string; path: string; port: number };
  };
  rules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[];
  namespaceSelector: unknown;
  matchConditions: { name: string; expression: string }[];
}

describe('charts/sockeye: the sidecar-injection webhook', () => {
  it('has a ci/ values file that enables it', () => {
    expect(ciValuesFiles()).toContain('webhook-values.yaml');
  });

  it('renders nothing of the webhook by default', async () => {
    const objects = await render();
    expect(objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'webhook')).toEqual(
      [],
    );
    expect(objects.filter((o) => o.kind === 'MutatingWebhookConfiguration' || o.kind === 'Secret')).toEqual(
      [],
    );
  });

  it('registers for pod CREATE with failurePolicy Ignore, the namespace selector and the annotation', async () => {
    const objects = await render(['webhook.enabled=true']);
    const config = only(objects, 'MutatingWebhookConfiguration');
    const hooks = config.webhooks as Webhook[];
    expect(hooks).toHaveLength(1);
    const hook = hooks[0] as Webhook;
    expect(hook.failurePolicy).toBe('Ignore');
    expect(hook.sideEffects).toBe('None');
    expect(hook.admissionReviewVersions).toEqual(['v1']);
    expect(hook.rules).toEqual([
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        operations: ['CREATE'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ]);
    expect(hook.namespaceSelector).toEqual({ matchLabels: { 'sockeye.dev/injection': 'enabled' } });
    expect(hook.matchConditions).toHaveLength(1);
    expect(hook.matchConditions[0]?.expression).toContain(
      "object.metadata.annotations['sockeye.dev/inject'] == 'true'",
    );
    // The Service it calls is the chart's, on 443, in front of the webhook's 8443.
    const service = only(objects, 'Service');
    expect(hook.clientConfig.service).toEqual({
      name: service.metadata.name,
      namespace: NAMESPACE,
      path: '/mutate',
      port: 443,
    });
    expect((service.spec as { ports: unknown[] }).ports).toEqual([
      { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
    ]);
    const failing = await render(['webhook.enabled=true', 'webhook.failurePolicy=Fail']);
    expect((only(failing, 'MutatingWebhookConfiguration').webhooks as Webhook[])[0]?.failurePolicy).toBe(
      'Fail',
    );
  });

  it('serves a certificate for <svc>.<ns>.svc signed by the CA of the caBundle', async () => {
    const objects = await render(['webhook.enabled=true']);
    const secret = only(objects, 'Secret');
    const data = secret.data as Record<string, string>;
    const pem = (key: string) => Buffer.from(data[key] ?? '', 'base64');
    const hook = (only(objects, 'MutatingWebhookConfiguration').webhooks as Webhook[])[0] as Webhook;
    expect(Buffer.from(hook.clientConfig.caBundle, 'base64').toString()).toBe(pem('ca.crt').toString());
    const ca = new X509Certificate(pem('ca.crt'));
    const cert = new X509Certificate(pem('tls.crt'));
    expect(ca.ca).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(pem('tls.key')))).toBe(true);
    const svc = only(objects, 'Service').metadata.name;
    expect(cert.checkHost(`${svc}.${NAMESPACE}.svc`)).toBe(`${svc}.${NAMESPACE}.svc`);
    // The pods mount that Secret, read-only, and serve it on the Service's target port.
    const pod = podSpecs([only(objects, 'Deployment')])[0]?.spec as {
      serviceAccountName: string;
      automountServiceAccountToken: boolean;
      volumes: { name: string; secret?: { secretName: string } }[];
      containers: {
        args: string[];
        ports: { name: string; containerPort: number }[];
        volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
      }[];
    };
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({
        name: 'tls',
        secret: expect.objectContaining({ secretName: secret.metadata.name }),
      }),
    );
    const container = pod.containers[0];
    expect(container?.volumeMounts).toContainEqual({
      name: 'tls',
      mountPath: '/etc/sockeye/webhook',
      readOnly: true,
    });
    expect(container?.args).toEqual([
      'webhook',
      '--cert=/etc/sockeye/webhook/tls.crt',
      '--key=/etc/sockeye/webhook/tls.key',
      '--port=8443',
      expect.stringMatching(/^--image=ghcr\.io\/sockeye-dev\/sockeye:\d+\.\d+\.\d+/),
      '--sidecar-port=9876',
    ]);
    expect(container?.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
  });

  it('runs with its own tokenless ServiceAccount, no RBAC, and the restricted security context', async () => {
    const objects = await render(['webhook.enabled=true']);
    const account = only(objects, 'ServiceAccount');
    expect(account.automountServiceAccountToken).toBe(false);
    const pod = podSpecs([only(objects, 'Deployment')])[0]?.spec as {
      serviceAccountName: string;
      automountServiceAccountToken: boolean;
      securityContext: Record<string, unknown>;
      containers: { securityContext: Record<string, unknown> }[];
    };
    expect(pod.serviceAccountName).toBe(account.metadata.name);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const webhookRoles = rbacRules(objects).filter(
      ({ role }) => role.metadata.labels?.['app.kubernetes.io/component'] === 'webhook',
    );
    expect(webhookRoles).toEqual([]);
    const bound = objects
      .filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')
      .flatMap((b) => (b.subjects as { name: string }[]).map((s) => s.name));
    expect(bound).not.toContain(account.metadata.name);
  });

  it('passes the sidecar image, port and flags on to the webhook', async () => {
    const objects = await render([
      'webhook.enabled=true',
      'webhook.sidecar.image=registry.example/sockeye:dev',
      'webhook.sidecar.port=9999',
      'webhook.sidecar.args={--interval=30s,--confirmations=3}',
      'webhook.port=9443',
    ]);
    const pod = podSpecs([only(objects, 'Deployment')])[0]?.spec as { containers: { args: string[] }[] };
    expect(pod.containers[0]?.args).toEqual(
      expect.arrayContaining([
        '--port=9443',
        '--image=registry.example/sockeye:dev',
        '--sidecar-port=9999',
        '--sidecar-arg=--interval=30s',
        '--sidecar-arg=--confirmations=3',
      ]),
    );
  });
});
