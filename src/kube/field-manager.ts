/**
 * The field manager every sockeye write names (`?fieldManager=`): the API server records in
 * `metadata.managedFields` that sockeye owns the `sockeye.dev/*` annotations it sets, so GitOps tools
 * can tell them from the fields their manifests own (README "GitOps tools"). No imports: the sidecar
 * uses it without loading @kubernetes/client-node.
 */
export const FIELD_MANAGER = 'sockeye';
