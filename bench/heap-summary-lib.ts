// The arithmetic of heap-summary.ts, on a parsed V8 heap snapshot (testable without a file).

export interface HeapSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly (readonly string[] | string)[];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly (readonly string[] | string)[];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

interface Group {
  bytes: number;
  count: number;
}

const MB = 1e6;
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

/** `node_modules/@scope/name` or `node_modules/name` of a script URL; `sockeye` for ours, else `node`. */
export function packageOf(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m?.[1]) return m[1];
  if (url.startsWith('file://') || url.startsWith('/')) return 'sockeye';
  return 'node (built-in)';
}

function add(groups: Map<string, Group>, key: string, bytes: number): void {
  const g = groups.get(key) ?? { bytes: 0, count: 0 };
  g.bytes += bytes;
  g.count++;
  groups.set(key, g);
}

function table(groups: Map<string, Group>, top: number): string[] {
  return [...groups]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(([k, g]) => `  ${mb(g.bytes).padStart(9)}  ${String(g.count).padStart(8)}  ${k}`);
}

/** Lines: totals by node type, script source by package, objects by constructor (top `top`). */
export function summarise(snap: HeapSnapshot, top = 25): string[] {
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [typeF, nameF, sizeF, edgeCountF] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const [edgeTypeF, edgeNameF, toF] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0] as readonly string[];
  const edgeTypes = meta.edge_types[0] as readonly string[];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += (nodes[i * nf + edgeCountF] ?? 0) * ef;
    firstEdge[i + 1] = e;
  }
  const byType = new Map<string, Group>();
  const byConstructor = new Map<string, Group>();
  const sourceByPackage = new Map<string, Group>();
  /** Plain objects by their property names: which records the memory is in. */
  const byShape = new Map<string, Group>();
  const stringsByLength = new Map<string, Group>();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const type = nodeTypes[nodes[i * nf + typeF] ?? 0] ?? '?';
    const name = strings[nodes[i * nf + nameF] ?? 0] ?? '';
    const size = nodes[i * nf + sizeF] ?? 0;
    total += size;
    add(byType, type, size);
    if (type === 'object' || type === 'closure' || type === 'array')
      add(byConstructor, `${type} ${name}`, size);
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
      const n = name.length;
      add(
        stringsByLength,
        n <= 16 ? '<= 16 chars' : n <= 64 ? '17-64 chars' : n <= 1024 ? '65-1024 chars' : '> 1024 chars',
        size,
      );
    }
    if (type === 'object' && name === 'Object') {
      const props: string[] = [];
      for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e += ef) {
        if (edgeTypes[edges[e + edgeTypeF] ?? 0] === 'property')
          props.push(strings[edges[e + edgeNameF] ?? 0] ?? '');
      }
      add(byShape, `{${props.slice(0, 8).join(',')}${props.length > 8 ? ',…' : ''}}`, size);
    }
    // A Script is a `code` node named by its URL, with its source text behind an internal edge.
    if (type === 'code' && (name.startsWith('file:') || name.startsWith('node:') || name.startsWith('/'))) {
      const url = name;
      let source = 0;
      for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e += ef) {
        const edgeType = edgeTypes[edges[e + edgeTypeF] ?? 0];
        const edgeName =
          edgeType === 'element' || edgeType === 'hidden' ? '' : strings[edges[e + edgeNameF] ?? 0];
        const to = (edges[e + toF] ?? 0) / nf;
        if (edgeName === 'source') source = nodes[to * nf + sizeF] ?? 0;
      }
      if (source > 0) add(sourceByPackage, packageOf(url), source);
    }
  }
  return [
    `live heap (self sizes): ${mb(total)} in ${count} nodes`,
    'by node type:',
    ...table(byType, top),
    'script source text by package (in the heap; counted in the string row above):',
    ...table(sourceByPackage, top),
    'objects by constructor (self size):',
    ...table(byConstructor, top),
    'plain objects by property names (self size):',
    ...table(byShape, top),
    'strings by length (self size; script sources are the long ones):',
    ...table(stringsByLength, top),
  ];
}
