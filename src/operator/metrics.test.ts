import { describe, expect, it } from 'vitest';
import { METRIC_LABELS, type ServicePortCount, SockeyeMetrics } from './metrics.ts';

/** Exercises every method, so that every series the operator can produce exists. */
function busy(): SockeyeMetrics {
  const m = new SockeyeMetrics({ processMetrics: false });
  m.probe('open', 1.2);
  m.probe('refused', 0.4);
  m.probe('timeout', 2000);
  m.write('event', 'created');
  m.write('patch', 'conflict');
  m.findings([
    { reason: 'NoHealthyTargets' },
    { reason: 'NoHealthyTargets' },
    { reason: 'PortNotListening' },
  ]);
  m.servicePorts('shop', 'payments', [
    { port: 'http', targets: 3, open: 1 },
    { port: '9000', targets: 3, open: 3 },
  ]);
  m.trackedFrom(() => ({ reconciler_warnings: 2 }));
  m.queue(4);
  m.retry();
  m.informerRestart('pods');
  m.leader(true);
  return m;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('SockeyeMetrics', () => {
  it('renders DESIGN metrics in the Prometheus text format', async () => {
    const text = await busy().render();
    expect(sample(text, 'sockeye_service_targets{namespace="shop",service="payments",port="http"}')).toBe(3);
    expect(
      sample(text, 'sockeye_service_open_targets{namespace="shop",service="payments",port="http"}'),
    ).toBe(1);
    expect(sample(text, 'sockeye_probes_total{outcome="refused"}')).toBe(1);
    expect(sample(text, 'sockeye_probes_total{outcome="unreachable"}')).toBe(0);
    expect(sample(text, 'sockeye_probe_duration_seconds_bucket{le="0.0025",outcome="open"}')).toBe(1);
    expect(sample(text, 'sockeye_probe_duration_seconds_count{outcome="timeout"}')).toBe(1);
    expect(sample(text, 'sockeye_findings{reason="NoHealthyTargets"}')).toBe(2);
    expect(sample(text, 'sockeye_findings{reason="NoEndpoints"}')).toBe(0);
    expect(sample(text, 'sockeye_api_writes_total{kind="patch",result="conflict"}')).toBe(1);
    expect(sample(text, 'sockeye_workqueue_depth')).toBe(4);
    expect(sample(text, 'sockeye_workqueue_retries_total')).toBe(1);
    expect(sample(text, 'sockeye_informer_restarts_total{informer="pods"}')).toBe(1);
    expect(sample(text, 'sockeye_leader{shard="0"}')).toBe(1);
    expect(sample(text, 'sockeye_shard{shard="0",shards="1"}')).toBe(1);
  });

  it('says which shard the replica serves, and whether it leads that shard', async () => {
    const m = new SockeyeMetrics({ processMetrics: false, shard: { index: 2, count: 3 } });
    expect(sample(await m.render(), 'sockeye_shard{shard="2",shards="3"}')).toBe(1);
    expect(sample(await m.render(), 'sockeye_leader{shard="2"}')).toBe(0);
    m.leader(true);
    expect(sample(await m.render(), 'sockeye_leader{shard="2"}')).toBe(1);
  });

  it.each([
    ['queue depth', 'sockeye_workqueue_depth', (m: SockeyeMetrics, n: () => number) => m.queueDepthFrom(n)],
    [
      'pending annotation writes',
      'sockeye_annotation_writes_pending',
      (m: SockeyeMetrics, n: () => number) => m.pendingWritesFrom(n),
    ],
  ])('reads the %s from its source at every scrape', async (_what, name, from) => {
    const m = new SockeyeMetrics({ processMetrics: false });
    let value = 7;
    from(m, () => value);
    expect(sample(await m.render(), name)).toBe(7);
    value = 0;
    expect(sample(await m.render(), name)).toBe(0);
  });

  it('counts findings from their source at every scrape', async () => {
    const m = new SockeyeMetrics({ processMetrics: false });
    const current: { reason: string }[] = [{ reason: 'NoEndpoints' }];
    m.findingsFrom(() => current);
    expect(sample(await m.render(), 'sockeye_findings{reason="NoEndpoints"}')).toBe(1);
    current.push({ reason: 'NoEndpoints' }, { reason: 'ConnectTimeout' });
    const text = await m.render();
    expect(sample(text, 'sockeye_findings{reason="NoEndpoints"}')).toBe(2);
    expect(sample(text, 'sockeye_findings{reason="ConnectTimeout"}')).toBe(1);
  });

  it('has no label that grows with the number of pods', async () => {
    const json = await busy().registry.getMetricsAsJSON();
    expect(json.map((m) => m.name).sort()).toEqual(Object.keys(METRIC_LABELS).sort());
    for (const metric of json) {
      const allowed = [...(METRIC_LABELS[metric.name] ?? []), 'le'];
      for (const value of metric.values) {
        for (const label of Object.keys(value.labels)) {
          expect(label, `${metric.name} label ${label}`).not.toMatch(/pod|ip|address|endpoint|target/i);
          expect(allowed, `${metric.name} label ${label}`).toContain(label);
        }
      }
    }
  });

  it('clears to zero the findings that went away', async () => {
    const m = busy();
    m.findings([]);
    expect(sample(await m.render(), 'sockeye_findings{reason="NoHealthyTargets"}')).toBe(0);
  });

  it('removes every port series of a forgotten Service', async () => {
    const m = busy();
    m.servicePorts('shop', 'orders', [{ port: 'grpc', targets: 2, open: 2 }]);
    m.forgetService('shop', 'payments');
    const text = await m.render();
    expect(text).not.toContain('service="payments"');
    expect(text).toContain('service="orders"');
    expect(m.servicesWithSeries).toBe(1);
  });

  describe('removes the series of a port the Service no longer reports', () => {
    const ports = (text: string) =>
      text
        .split('\n')
        .filter((l) => /^sockeye_service_(open_)?targets\{/.test(l))
        .map((l) => l.replace(/^sockeye_service_|\{namespace="shop",service="payments",port=|\}/g, ''))
        .sort();
    it.each<[string, ServicePortCount[], string[]]>([
      ['removed', [{ port: 'http', targets: 3, open: 0 }], ['open_targets"http" 0', 'targets"http" 3']],
      [
        'renamed',
        [
          { port: 'web', targets: 3, open: 0 },
          { port: '9000', targets: 3, open: 3 },
        ],
        ['open_targets"9000" 3', 'open_targets"web" 0', 'targets"9000" 3', 'targets"web" 3'],
      ],
      ['all gone (opted out, selector lost)', [], []],
    ])('a port %s', async (_case, now, left) => {
      const m = busy();
      m.servicePorts('shop', 'payments', now);
      expect(ports(await m.render())).toEqual(left);
      expect(m.servicesWithSeries).toBe(left.length > 0 ? 1 : 0);
    });
  });

  it('reports each hop kind of a port, and removes the kinds and ports no longer reported', async () => {
    const m = new SockeyeMetrics({ processMetrics: false });
    const hops = (text: string) =>
      text
        .split('\n')
        .filter((l) => /^sockeye_service_hop_(open_)?targets\{/.test(l))
        .map((l) => l.replace(/^sockeye_service_|namespace="shop",service="web",/g, ''))
        .sort();
    m.servicePorts('shop', 'web', [
      {
        port: 'http',
        targets: 3,
        open: 3,
        hops: [
          { hop: 'cluster-ip', targets: 1, open: 0 },
          { hop: 'node-port', targets: 3, open: 2 },
        ],
      },
    ]);
    expect(hops(await m.render())).toEqual([
      'hop_open_targets{port="http",hop="cluster-ip"} 0',
      'hop_open_targets{port="http",hop="node-port"} 2',
      'hop_targets{port="http",hop="cluster-ip"} 1',
      'hop_targets{port="http",hop="node-port"} 3',
    ]);
    m.servicePorts('shop', 'web', [
      { port: 'http', targets: 3, open: 3, hops: [{ hop: 'cluster-ip', targets: 1, open: 1 }] },
    ]);
    expect(hops(await m.render())).toEqual([
      'hop_open_targets{port="http",hop="cluster-ip"} 1',
      'hop_targets{port="http",hop="cluster-ip"} 1',
    ]);
    m.forgetService('shop', 'web');
    expect(hops(await m.render())).toEqual([]);
  });

  it('reads the size of each per-object map at every scrape', async () => {
    const m = new SockeyeMetrics({ processMetrics: false });
    let tracked: Record<string, number> = { reconciler_warnings: 3, annotation_expectations: 1 };
    m.trackedFrom(() => tracked);
    let text = await m.render();
    expect(sample(text, 'sockeye_tracked_objects{map="reconciler_warnings"}')).toBe(3);
    expect(sample(text, 'sockeye_tracked_objects{map="annotation_expectations"}')).toBe(1);
    tracked = { reconciler_warnings: 0 };
    text = await m.render();
    expect(sample(text, 'sockeye_tracked_objects{map="reconciler_warnings"}')).toBe(0);
    expect(sample(text, 'sockeye_tracked_objects{map="annotation_expectations"}')).toBeUndefined();
  });

  it('says at every scrape whether the connects are made in a thread of their own', async () => {
    const m = new SockeyeMetrics({ processMetrics: false });
    expect(sample(await m.render(), 'sockeye_probe_thread')).toBe(0);
    let inThread = true;
    m.probeThreadFrom(() => inThread);
    expect(sample(await m.render(), 'sockeye_probe_thread')).toBe(1);
    inThread = false;
    expect(sample(await m.render(), 'sockeye_probe_thread')).toBe(0);
  });

  it('exports process metrics unless told not to', async () => {
    expect(await new SockeyeMetrics().render()).toContain('process_cpu_user_seconds_total');
  });
});
