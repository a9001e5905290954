/**
 * TokenReview and SubjectAccessReview (lean-api.ts): the two calls behind the metrics
 * listener's authentication and authorization (src/http/authz.ts holds the logic and the cache).
 * The ServiceAccount needs `create` on tokenreviews and subjectaccessreviews (the chart's
 * `-operator-delegated-auth` ClusterRole, the rules of the built-in system:auth-delegator).
 */
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { TokenReviewer, UserInfo } from '../http/authz.ts';
import { leanReviews } from './lean-api.ts';

export function kubeReviewer(kc: KubeConfig): TokenReviewer {
  const authn = leanReviews(kc);
  const authz = authn;
  return {
    async reviewToken(token) {
      const review = await authn.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const status = review.status;
      const username = status?.user?.username;
      if (!status?.authenticated || !username) {
        return { authenticated: false, ...(status?.error ? { error: status.error } : {}) };
      }
      const user: UserInfo = {
        username,
        ...(status.user?.uid ? { uid: status.user.uid } : {}),
        ...(status.user?.groups ? { groups: status.user.groups } : {}),
        ...(status.user?.extra ? { extra: status.user.extra } : {}),
      };
      return { authenticated: true, user };
    },
    async reviewAccess(user, attributes) {
      const review = await authz.createSubjectAccessReview({ body: subjectAccessReview(user, attributes) });
      return {
        allowed: review.status?.allowed === true && review.status.denied !== true,
        ...(review.status?.reason ? { reason: review.status.reason } : {}),
      };
    },
  };
}

/** The SubjectAccessReview body: the reviewed user as a whole, and the non-resource URL. */
export function subjectAccessReview(user: UserInfo, attributes: { path: string; verb: string }) {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: user.username,
      ...(user.uid ? { uid: user.uid } : {}),
      ...(user.groups ? { groups: [...user.groups] } : {}),
      ...(user.extra
        ? { extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])) }
        : {}),
      nonResourceAttributes: { path: attributes.path, verb: attributes.verb },
    },
  };
}
