/**
 * The krew plugin manifest of `kubectl sockeye`, as plain data from what the build made: one platform
 * per archive, selected by os/arch, with the archive's URI and sha256. Format: krew's "Writing Krew
 * plugin manifests" (krew.sigs.k8s.io/docs/developer-guide/plugin-manifest); test/plugin/ checks it
 * against a schema of krew's own validation rules.
 */

/** A Node.js architecture (process.arch) we build for, with krew's (Go's) name for it. */
export const PLUGIN_TARGETS = [
  { nodeArch: 'x64', goArch: 'amd64', elfMachine: 0x3e },
  { nodeArch: 'arm64', goArch: 'arm64', elfMachine: 0xb7 },
] as const;

export type PluginTarget = (typeof PLUGIN_TARGETS)[number];

export const PLUGIN_BIN = 'kubectl-sockeye';

export const archiveName = (target: PluginTarget): string => `kubectl-sockeye_linux_${target.goArch}.tar.gz`;

export interface BuiltArchive {
  readonly target: PluginTarget;
  readonly sha256: string;
  /** The files in the archive, the binary first. */
  readonly files: readonly string[];
}

export interface KrewPlatform {
  readonly selector: { readonly matchLabels: { readonly os: string; readonly arch: string } };
  readonly uri: string;
  readonly sha256: string;
  readonly bin: string;
  readonly files: readonly { readonly from: string; readonly to: string }[];
}

export interface KrewPlugin {
  readonly apiVersion: 'krew.googlecontainertools.github.com/v1alpha2';
  readonly kind: 'Plugin';
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly version: string;
    readonly homepage: string;
    readonly shortDescription: string;
    readonly description: string;
    readonly caveats: string;
    readonly platforms: readonly KrewPlatform[];
  };
}

export const HOMEPAGE = 'https://github.com/sockeye-dev/sockeye';

/** Where a release's archives are published unless the build is told otherwise. */
export const defaultBaseUrl = (version: string): string => `${HOMEPAGE}/releases/download/v${version}`;

export function krewManifest(input: {
  readonly version: string;
  readonly baseUrl: string;
  readonly archives: readonly BuiltArchive[];
}): KrewPlugin {
  return {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'sockeye' },
    spec: {
      version: `v${input.version}`,
      homepage: HOMEPAGE,
      shortDescription: 'Find the Service backends that refuse connections, and why',
      description: `${[
        'sockeye audit lists the Services of a cluster, probes every backend they route to with a TCP',
        'connect, and says which would refuse a connection now and why (nothing listening, a wrong',
        'targetPort, a pod that is Ready but refuses, a NetworkPolicy, ...), with the kubectl commands',
        'that confirm it. sockeye explain REASON prints the troubleshooting guide of a finding.',
        'A single executable: Node.js is not needed on the machine.',
      ].join(' ')}\n`,
      caveats: `${[
        'sockeye audit connects to pod IPs: run it where they are routable (a node, a VPN into the',
        'pod network), or in the cluster with the Helm chart (--set auditJob.enabled=true).',
      ].join(' ')}\n`,
      platforms: input.archives.map((a) => ({
        selector: { matchLabels: { os: 'linux', arch: a.target.goArch } },
        uri: `${input.baseUrl.replace(/\/+$/, '')}/${archiveName(a.target)}`,
        sha256: a.sha256,
        bin: PLUGIN_BIN,
        files: a.files.map((f) => ({ from: f, to: '.' })),
      })),
    },
  };
}
