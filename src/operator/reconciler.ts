/**
 * The reconcile of one Service key, level-based (controller-runtime): read the Service and what it
 * depends on from the caches, plan its targets through the rules (rules/rules.ts; the docs/design.md
 * "Safety" policy is theirs: rules/view.ts, address.ts, opt-in.ts), probe with confirmation, read the
 * caches again, judge, then write: an Event per state change (through the non-blocking recorder) and
 * the annotations of the Service, and of its pods while a Warning about them holds, when a value
 * changes.
 *
 * A pod's status depends on every Service that sends to it, and the gatherer includes all of them, so
 * reconciling either of two Services over one pod yields the same pod annotations and no extra Events.
 */
import type { EventInput } from '../kube/events.ts';
import type { ObjectKind, Service } from '../model/types.ts';
import { loopbackResultsOf } from '../rules/loopback.ts';
import { type Rules, rulesFor, targetKey } from '../rules/rules.ts';
import type { StatusReport } from '../rules/status.ts';
import type { ClusterState, Finding, ProbeObservation, ProberIdentity, RuleOptions } from '../rules/types.ts';
import type { Desired, PatchKind } from './annotation-patch.ts';
import type { ClusterCache } from './cache.ts';
import type { Prober } from './prober.ts';

export interface ReconcilerDeps {
  readonly cache: ClusterCache;
  readonly prober: Prober;
  /** Where the annotations a reconcile decides on go (the AnnotationWriter; it writes them later). */
  readonly annotations: AnnotationSink;
  /** The event recorder's `record`: returns at once, never throws. */
  readonly record: (event: EventInput) => void;
  readonly identity: ProberIdentity;
  readonly options?: Partial<RuleOptions> | undefined;
  readonly now?: () => Date;
  /**
   * Whether this replica writes about a pod or Namespace it judges (with shards, exactly one shard
   * does: operator/shard-filter.ts); default every one.
   */
  readonly reports?: ((kind: ObjectKind, namespace: string, name: string) => boolean) | undefined;
  /**
   * While a Warning holds and only its message changes (a count during a rollout: "2 of 3 ready
   * targets fail", then "1 of 2"), at most one Event per this many milliseconds says the new message
   * (the operator: its interval); the annotations carry the current one at once. 0: an Event per change.
   */
  readonly eventUpdateGapMs?: number;
  /** Targets and open targets per port of each judged Service, for metrics. */
  readonly onServicePorts?:
    | ((
        namespace: string,
        name: string,
        ports: readonly { port: string; targets: number; open: number }[],
      ) => void)
    | undefined;
}

/** Takes the annotations wanted on an object (undefined: remove sockeye's); see AnnotationWriter. */
export interface AnnotationSink {
  submit(kind: PatchKind, namespace: string, name: string, desired: Desired | undefined, at: Date): boolean;
}

export type ReconcileResult =
  /** Judged and written. */
  | { readonly kind: 'done'; readonly findings: readonly Finding[] }
  /** The Service is gone, or sockeye does not judge it (opt-out, ExternalName, selector-less). */
  | { readonly kind: 'skipped'; readonly why: string }
  /** The targets changed while probing: judge again with fresh probes. */
  | { readonly kind: 'changed' };

const objectKey = (o: { readonly kind: string; readonly namespace: string; readonly name: string }) =>
  `${o.kind}/${o.namespace}/${o.name}`;
const findingKey = (f: Finding) => `${f.reason}|${f.port?.name ?? ''}|${f.port?.number ?? ''}`;

/** A Warning that holds, with what the last Event about it said, and when. */
interface HeldWarning {
  readonly finding: Finding;
  readonly said: string;
  readonly saidAt: number;
}

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  /** The Warnings last seen per object (for one Event per state change, and TargetsRecovered). */
  readonly #warnings = new Map<string, readonly HeldWarning[]>();
  /**
   * Warning Events already on the server when this replica started leading (object → `reason|note`): a
   * new leader must not write again what its predecessor wrote. Consulted only for an object's first
   * judgement, then dropped.
   */
  readonly #inherited = new Map<string, Set<string>>();
  readonly #judgedOnce = new Set<string>();
  /** Every judged Service's current findings, for /sockeye/v1/findings. */
  readonly #byService = new Map<string, readonly Finding[]>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  /** Current findings of every judged Service and its pods (Warnings and the latest recoveries). */
  findings(): Finding[] {
    const seen = new Set<string>();
    return [...this.#byService.values()].flat().filter((f) => {
      const k = `${objectKey(f.object)}|${findingKey(f)}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /**
   * Current findings about the objects of one namespace (its Services, their pods, the Namespace),
   * for its policy report.
   */
  findingsIn(namespace: string): Finding[] {
    const prefix = `${namespace}/`;
    const seen = new Set<string>();
    const out: Finding[] = [];
    for (const [key, findings] of this.#byService) {
      if (!key.startsWith(prefix)) continue;
      for (const f of findings) {
        const k = `${objectKey(f.object)}|${findingKey(f)}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(f);
      }
    }
    return out;
  }

  /** Remembers a Warning Event another replica wrote (see #inherited). */
  inherit(event: EventInput): void {
    const r = event.regarding;
    const object = objectKey({ kind: r.kind, namespace: r.namespace ?? '', name: r.name });
    let events = this.#inherited.get(object);
    if (!events) {
      events = new Set();
      this.#inherited.set(object, events);
    }
    events.add(`${event.reason}|${event.note}`);
  }

  /** Forgets a Service that is deleted or no longer judged; its port metrics go with it. */
  forget(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    this.#byService.delete(key);
    this.forgetObject('Service', namespace, name);
    this.#deps.onServicePorts?.(namespace, name, []);
  }

  /** Forgets what is kept about one object (a deleted Pod or Namespace; a Service: `forget`). */
  forgetObject(kind: ObjectKind, namespace: string, name: string): void {
    const object = objectKey({ kind, namespace, name });
    this.#warnings.delete(object);
    this.#judgedOnce.delete(object);
    this.#inherited.delete(object);
  }

  /**
   * Forgets every object the cache no longer holds: behind the informers' delete handlers, for an
   * object a reconcile in flight judged after its delete was seen.
   */
  sweep(): void {
    const gone = (object: string) => !this.#live(object);
    for (const map of [this.#warnings, this.#inherited])
      for (const object of map.keys()) if (gone(object)) map.delete(object);
    for (const object of this.#judgedOnce) if (gone(object)) this.#judgedOnce.delete(object);
    for (const key of this.#byService.keys()) if (gone(`Service/${key}`)) this.forget(key);
  }

  /** Entries of each per-object map, for `sockeye_tracked_objects`. */
  tracked(): Record<string, number> {
    return {
      reconciler_findings: this.#byService.size,
      reconciler_warnings: this.#warnings.size,
      reconciler_judged: this.#judgedOnce.size,
      reconciler_inherited: this.#inherited.size,
    };
  }

  #live(object: string): boolean {
    const [kind = '', namespace = '', name = ''] = object.split('/');
    const { cache } = this.#deps;
    if (kind === 'Service' || kind === 'Pod') return cache.get(kind, namespace, name) !== undefined;
    // A Namespace is judged with its Services; it stays while it or one of them is cached (the
    // namespace-scoped poller may not be allowed to read it).
    if (kind === 'Namespace')
      return cache.get('Namespace', '', name) !== undefined || cache.list('Service', name).length > 0;
    return false;
  }

  async reconcile(key: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const { identity } = this.#deps;
    const [namespace = '', name = ''] = key.split('/');
    const stamp = this.#stamp(namespace);
    const state = this.#state(namespace, name);
    if (!state) {
      this.forget(key);
      return { kind: 'skipped', why: 'gone' };
    }
    const service = state.services[0];
    if (!service) return { kind: 'skipped', why: 'gone' };
    const rules = this.#rules(state);
    const skip = rules.skip(service);
    if (skip !== undefined) {
      this.forget(key);
      const now = this.#deps.now?.() ?? new Date();
      this.#deps.annotations.submit('Service', namespace, name, undefined, now);
      // Pods only this Service judged, now opted out themselves, lose their annotations too.
      for (const pod of skip.pods)
        if (this.#reports('Pod', namespace, pod.name))
          this.#deps.annotations.submit('Pod', namespace, pod.name, undefined, now);
      return { kind: 'skipped', why: skip.why };
    }

    const own = rules.planTargets(service);
    const pods = new Set(own.flatMap((t) => (t.pod ? [t.pod.name] : [])));
    const ownKeys = new Set(own.map((t) => targetKey(t.ip, t.port)));
    const probes = await this.#deps.prober(rules.planService(service), signal);
    signal?.throwIfAborted();

    // Level-based: judge on the state after probing. A pod deleted or replaced meanwhile changes the
    // targets; its probe says nothing about the new state, so probe again instead of reporting it.
    // Nothing the rules read changed while probing (the stamp): the planned state is that state.
    const unchanged = this.#stamp(namespace) === stamp;
    const fresh = unchanged ? state : this.#state(namespace, name);
    const freshService = fresh?.services[0];
    if (!fresh || !freshService) {
      this.forget(key);
      return { kind: 'skipped', why: 'gone' };
    }
    const freshRules = unchanged ? rules : this.#rules(fresh);
    if (!unchanged) {
      const freshKeys = freshRules.planTargets(freshService).map((t) => targetKey(t.ip, t.port));
      if (freshKeys.length !== ownKeys.size || freshKeys.some((k) => !ownKeys.has(k)))
        return { kind: 'changed' };
    }

    const objects: readonly { kind: ObjectKind; namespace: string; name: string }[] = [
      { kind: 'Service', namespace, name },
      ...[...pods].map((p) => ({ kind: 'Pod' as const, namespace, name: p })),
      { kind: 'Namespace', namespace: '', name: namespace },
    ];
    const judged = new Set(objects.map(objectKey));
    const previous = [...judged].flatMap((k) => (this.#warnings.get(k) ?? []).map((h) => h.finding));
    const now = this.#deps.now?.() ?? new Date();
    const judgement = freshRules.judge(
      {
        probes,
        // A sockeye sidecar in a pod says which ports answer on loopback only (sockeye.dev/loopback-only):
        // with our refused probe on the pod IP that is ListeningOnLoopbackOnly, the cause, not just the symptom.
        loopback: fresh.pods.flatMap(loopbackResultsOf),
        prober: identity,
        previous,
        now,
      },
      (f) => judged.has(objectKey(f.object)),
    );
    // Judged on all of them (a Service's status reads its pods' findings); written only about those
    // this replica reports (with shards, a pod's home shard and the namespace's).
    const reported = new Set(
      objects
        .filter((o) => o.kind === 'Service' || this.#reports(o.kind, o.namespace, o.name))
        .map(objectKey),
    );
    const findings = judgement.findings.filter((f) => reported.has(objectKey(f.object)));
    this.#recordChanges(reported, findings, now.getTime());
    this.#byService.set(key, findings);
    this.#reportPorts(freshService, freshRules, probes);

    for (const report of judgement.statuses)
      if (reported.has(objectKey(report.object))) this.#writeReport(report, now);
    return { kind: 'done', findings };
  }

  #reports(kind: ObjectKind, namespace: string, name: string): boolean {
    return this.#deps.reports?.(kind, namespace, name) ?? true;
  }

  #reportPorts(service: Service, rules: Rules, probes: readonly ProbeObservation[]): void {
    if (!this.#deps.onServicePorts) return;
    const ports = rules.tally(service, probes);
    this.#deps.onServicePorts(service.namespace, service.name, ports);
  }

  /**
   * The rules over a gathered state with the operator's options (opt-in modes, default timeout): the
   * same options for planning and judging, so what is probed is what is judged.
   */
  #rules(state: ClusterState): Rules {
    return rulesFor(this.#deps.options ? { ...state, options: this.#deps.options } : state);
  }

  #state(namespace: string, name: string) {
    return this.#deps.cache.gather(namespace, name, this.#deps.identity.namespace);
  }

  #stamp(namespace: string): string {
    return this.#deps.cache.stamp(namespace, this.#deps.identity.namespace);
  }

  /** Records an Event for each Warning that is new or whose message changed, and each recovery. */
  #recordChanges(judged: ReadonlySet<string>, findings: readonly Finding[], nowMs: number): void {
    const gap = this.#deps.eventUpdateGapMs ?? 0;
    for (const object of judged) {
      const before = new Map((this.#warnings.get(object) ?? []).map((h) => [findingKey(h.finding), h]));
      const mine = findings.filter((f) => objectKey(f.object) === object);
      const first = !this.#judgedOnce.has(object);
      this.#judgedOnce.add(object);
      const inherited = first ? this.#inherited.get(object) : undefined;
      this.#inherited.delete(object);
      const held: HeldWarning[] = [];
      for (const f of mine) {
        if (f.severity !== 'Warning') {
          this.#deps.record(toEvent(f));
          continue;
        }
        const was = before.get(findingKey(f));
        // Said already, or said a moment ago: one rollout must not write an Event per count it passes.
        // (A wall clock set back counts as long ago: a message is never held for hours.)
        if (was !== undefined) {
          const sinceSaid = nowMs - was.saidAt;
          if (was.said === f.message || (sinceSaid >= 0 && sinceSaid < gap)) {
            held.push({ ...was, finding: f });
            continue;
          }
        }
        // The Event only for a Warning to be said (most reconciles hold every one).
        const event = toEvent(f);
        if (!inherited?.has(`${f.reason}|${event.note}`)) this.#deps.record(event);
        held.push({ finding: f, said: f.message, saidAt: nowMs });
      }
      if (held.length > 0) this.#warnings.set(object, held);
      else this.#warnings.delete(object);
    }
  }

  /**
   * A Service always carries its status; a Pod only while a Warning about it holds (#warnings, the
   * state whose end is TargetsRecovered), and loses it when that clears. A healthy pod is never
   * written: each pod patch bumps its resourceVersion and wakes every pod watcher in the cluster
   * (kubelets, controllers, GitOps tools), and a first sweep of a healthy cluster would otherwise
   * patch every pod behind every Service.
   */
  #writeReport(report: StatusReport, now: Date): void {
    const { kind, namespace, name } = report.object;
    if (kind !== 'Service' && kind !== 'Pod') return;
    const shown = kind === 'Service' || this.#warnings.has(objectKey(report.object));
    const desired = shown ? { status: report.status, summary: report.summary } : undefined;
    this.#deps.annotations.submit(kind, namespace, name, desired, now);
  }
}

/** The Event of one finding: its message, ending with the hint to run `sockeye explain`. */
export function toEvent(f: Finding): EventInput {
  return {
    regarding: {
      apiVersion: 'v1',
      kind: f.object.kind,
      name: f.object.name,
      ...(f.object.namespace ? { namespace: f.object.namespace } : {}),
      ...(f.object.uid ? { uid: f.object.uid } : {}),
    },
    type: f.severity,
    reason: f.reason,
    action: 'Probe',
    note: `${f.message}; ${f.hint}`,
  };
}
