import { describe, expect, it } from 'vitest';
import { MESSAGES } from './catalog.ts';

const m = MESSAGES;
const alsoMatches = (n: number) =>
  m.SelectorMatchesOtherWorkloads.alsoMatches(
    'http',
    'tier=b',
    n,
    'Deployment w',
    'T',
    n,
    '8080/TCP',
    'app=api',
  );

/** Every message template, once with one of the counted things and once with several: the words agree. */
const grammar: readonly (readonly [string, string, string])[] = [
  [
    'NoEndpoints.noLivePod',
    m.NoEndpoints.noLivePod('app=web', ['web-1 Pending']),
    m.NoEndpoints.noLivePod('app=web', ['web-1 Pending', 'web-2 Failed']),
  ],
  [
    'NoEndpoints.controllerLag',
    m.NoEndpoints.controllerLag('app=web', ['web-1']),
    m.NoEndpoints.controllerLag('app=web', ['web-1', 'web-2']),
  ],
  [
    'NoReadyEndpoints.noneReady',
    m.NoReadyEndpoints.noneReady(['web-1 not ready']),
    m.NoReadyEndpoints.noneReady(['web-1 not ready', 'web-2 terminating']),
  ],
  [
    'NoHealthyTargets.allFail',
    m.NoHealthyTargets.allFail('http', 1, 'T'),
    m.NoHealthyTargets.allFail('http', 3, 'T'),
  ],
  [
    'TargetsRefusing.someFail',
    m.TargetsRefusing.someFail('http', 1, 3, 'T'),
    m.TargetsRefusing.someFail('http', 2, 3, 'T'),
  ],
  [
    'Undeclared.targetPortWrong',
    m.Undeclared.targetPortWrong('8081/TCP', 1, ['8080/TCP']),
    m.Undeclared.targetPortWrong('8081/TCP', 2, ['8080/TCP']),
  ],
  [
    'Undeclared.someUndeclared',
    m.Undeclared.someUndeclared('8080/TCP', ['web-old'], undefined),
    m.Undeclared.someUndeclared('8080/TCP', ['web-old-1', 'web-old-2'], 'Deployment worker'),
  ],
  [
    'TargetPortMismatch.numberNotDeclared',
    m.TargetPortMismatch.numberNotDeclared('http', '8081/TCP', 1, ['8080/TCP']),
    m.TargetPortMismatch.numberNotDeclared('http', '8081/TCP', 2, ['8080/TCP']),
  ],
  [
    'TargetPortMismatch.nameUndefined',
    m.TargetPortMismatch.nameUndefined('http', 'htpp', 1),
    m.TargetPortMismatch.nameUndefined('http', 'htpp', 2),
  ],
  [
    'TargetPortMismatch.rolloutSkew',
    m.TargetPortMismatch.rolloutSkew('http', 'http', 1, 2, ['web-old']),
    m.TargetPortMismatch.rolloutSkew('http', 'http', 1, 3, ['web-old-1', 'web-old-2']),
  ],
  ['SelectorMatchesOtherWorkloads.alsoMatches', alsoMatches(1), alsoMatches(2)],
  [
    'ReadyButRefusing.refusing',
    m.ReadyButRefusing.refusing('http', ['web'], ['10.0.0.1'], 'R'),
    m.ReadyButRefusing.refusing('http', ['web', 'web-internal'], ['10.0.0.1', 'fd00::1'], 'R'),
  ],
  [
    'ReadyButRefusing.otherPort',
    m.ReadyButRefusing.otherPort(['9090']),
    m.ReadyButRefusing.otherPort(['9090', '9091']),
  ],
  [
    'NodePortFailing.someNodes',
    m.NodePortFailing.someNodes('http', 'B', 'F', 1, ['n0']),
    m.NodePortFailing.someNodes('http', 'B', 'F', 2, ['n0', 'n3']),
  ],
  [
    'NodePortFailing.everyNode',
    m.NodePortFailing.everyNode('http', 'B', 'F', 1),
    m.NodePortFailing.everyNode('http', 'B', 'F', 3),
  ],
  [
    'LoadBalancerFailing.ignoresHealthChecks',
    m.LoadBalancerFailing.ignoresHealthChecks('http', 'B', 'F', ['n1'], ''),
    m.LoadBalancerFailing.ignoresHealthChecks('http', 'B', 'F', ['n1', 'n2'], ''),
  ],
  [
    'ConnectTimeout.dropped',
    m.ConnectTimeout.dropped('grpc', ['10.0.0.1'], ['shop/deny'], 'ingress'),
    m.ConnectTimeout.dropped('grpc', ['10.0.0.1'], ['shop/deny', 'shop/other'], 'ingress'),
  ],
];

/** Number and noun, or noun and verb, that disagree. */
const DISAGREE = [
  /\b1 (pods|endpoints|targets|ready targets|Running pods)\b/,
  /\ball 1\b/,
  /\bof 1 \w+ pods\b/,
  /\b(1 ready target|1 of \d+ ready targets|1 pod that declares \S+) (fail|answer)\b/,
  /\b[2-9] (pod|endpoint|ready target|Running pod)\b(?!s)/,
  /\b[2-9] of \d+ ready targets fails\b/,
  /\bpods? that declare\b.*\banswers\b.*\bpods\b/,
  /\bweb-old (do|get|define)\b/,
  /\bweb-old-1, web-old-2 (does|gets)\b/,
  /\bService web, web-internal\b/,
  /\bNetworkPolicy shop\/deny, /,
  /\bports 9090\b(?!,)/,
  /\bport 9090, 9091\b/,
  /\bthe pod does not declare\b.*\bthey declare\b/,
  /\bnone of the 2 pods declares\b.*\bit declares\b/,
  /\bthose nodes does\b|\bthat node do\b/,
  /\ball 1 nodes\b/,
  /\bnode n1, n2\b|\bnodes n1 without\b/,
  /\bn1 drop\b|\bn1, n2 drops\b/,
];

describe('message grammar', () => {
  it.each(grammar)('%s agrees in the singular and the plural', (_, one, many) => {
    for (const text of [one, many]) for (const bad of DISAGREE) expect(text).not.toMatch(bad);
  });

  it.each([
    [m.NoHealthyTargets.allFail('http', 1, 'T'), 'port http: 1 ready target fails (T)'],
    [m.NoHealthyTargets.allFail('http', 3, 'T'), 'port http: all 3 ready targets fail (T)'],
    [m.TargetsRefusing.someFail('http', 1, 3, 'T'), 'port http: 1 of 3 ready targets fails (T)'],
    [m.TargetsRefusing.someFail('http', 2, 3, 'T'), 'port http: 2 of 3 ready targets fail (T)'],
    [m.Undeclared.someUndeclared('8080/TCP', ['web-old'], undefined), 'web-old does not declare 8080/TCP'],
    [
      m.Undeclared.someUndeclared('8080/TCP', ['a', 'b'], 'Deployment worker'),
      'a, b do not declare 8080/TCP (Deployment worker, which the selector also matches)',
    ],
    [m.ReadyButRefusing.otherPort(['9090', '9091']), 'its readiness probe checks ports 9090, 9091'],
    [
      m.ServiceIPNotForwarding.notForwarding(
        '80/TCP',
        '3/3 pods open on 8080',
        'ClusterIP 198.19.0.12:80 times out',
        'sim-a',
      ),
      "port 80/TCP: 3/3 pods open on 8080; ClusterIP 198.19.0.12:80 times out from node sim-a: the node's Service data path (kube-proxy or the CNI) does not forward",
    ],
    [
      m.ConnectTimeout.dropped('grpc', ['10.0.0.1'], ['shop/a', 'shop/b'], 'ingress'),
      'port grpc times out on 10.0.0.1: dropped by NetworkPolicies shop/a, shop/b (ingress to the pod)',
    ],
  ])('%s', (text, expected) => {
    expect(text).toBe(expected);
  });
});
