import { describe, expect, it } from 'vitest';
import { admissionResponse, injectionPatch } from './inject.ts';

const options = {
  image: 'ghcr.io/sockeye-dev/sockeye:1.2.3',
  containerName: 'sockeye',
  port: 9876,
  args: [],
};
const annotated = {
  metadata: { annotations: { 'sockeye.dev/inject': 'true' } },
  spec: { containers: [{ name: 'app' }] },
};

describe('injectionPatch', () => {
  it('appends the sidecar to an annotated pod', () => {
    const patch = injectionPatch(annotated, options);
    expect(patch).toHaveLength(1);
    expect(patch?.[0]).toMatchObject({
      op: 'add',
      path: '/spec/containers/-',
      value: {
        name: 'sockeye',
        image: 'ghcr.io/sockeye-dev/sockeye:1.2.3',
        args: ['sidecar', '--port=9876', '--container-name=sockeye'],
        resources: { limits: { memory: '64Mi' } },
      },
    });
  });

  it.each([
    ['no annotation', { spec: { containers: [{ name: 'app' }] } }],
    [
      'inject: "false"',
      { metadata: { annotations: { 'sockeye.dev/inject': 'false' } }, spec: annotated.spec },
    ],
    [
      'already has the sidecar',
      { ...annotated, spec: { containers: [{ name: 'app' }, { name: 'sockeye' }] } },
    ],
  ])('leaves a pod alone: %s', (_name, pod) => {
    expect(injectionPatch(pod, options)).toBeUndefined();
  });
});

describe('admissionResponse', () => {
  const request = (object: unknown, operation = 'CREATE') => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u-1', kind: { kind: 'Pod' }, operation, object },
  });

  it('allows with a base64 JSON patch for an annotated pod', () => {
    const { response } = admissionResponse(request(annotated), options) as {
      response: { uid: string; allowed: boolean; patchType: string; patch: string };
    };
    expect(response).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
    expect(JSON.parse(Buffer.from(response.patch, 'base64').toString())).toEqual(
      injectionPatch(annotated, options),
    );
  });

  it('allows everything else unchanged, and refuses a body that is no review', () => {
    expect(admissionResponse(request({ spec: { containers: [] } }), options)).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: true },
    });
    expect(
      (admissionResponse(request(annotated, 'UPDATE'), options) as { response: object }).response,
    ).toEqual({
      uid: 'u-1',
      allowed: true,
    });
    expect(() => admissionResponse({}, options)).toThrow('not an AdmissionReview');
  });
});
