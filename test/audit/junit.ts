/**
 * A structural check of JUnit XML against what the common JUnit schema (Ant's junit.xsd, as Jenkins,
 * GitLab and GitHub reporters read it) requires: well-formed XML; a `testsuites` root of `testsuite`
 * elements; each suite with `name` and integer `tests`, `failures`, `errors` that match its cases; each
 * `testcase` with `name` and `classname`, holding only `failure`, `error`, `skipped`, `system-out` or
 * `system-err`; `failure` and `error` with a `type`. No XML library: a small tokenizer suffices for the
 * subset of XML a renderer writes (no DOCTYPE, no CDATA, no processing instructions but the declaration).
 */

export interface JUnitCase {
  readonly classname: string;
  readonly name: string;
  readonly failures: number;
  readonly errors: number;
  readonly skipped: boolean;
}

export interface JUnitSuite {
  readonly name: string;
  readonly cases: readonly JUnitCase[];
}

interface Element {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: Element[];
  text: string;
}

const ENTITY: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(\w+);/g, (m, name: string) => {
    const c = ENTITY[name];
    if (c === undefined) throw new Error(`unknown entity ${m}`);
    return c;
  });
}

function parse(xml: string): Element {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const tag = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  const stack: Element[] = [];
  let root: Element | undefined;
  let at = 0;
  while (at < body.length) {
    tag.lastIndex = at;
    const m = tag.exec(body);
    if (!m) throw new Error(`not well-formed XML at offset ${at}: ${body.slice(at, at + 40)}`);
    at = tag.lastIndex;
    const [, closing, name, attrs, selfClosing, text] = m;
    if (text !== undefined) {
      const top = stack.at(-1);
      if (!top) {
        if (text.trim() !== '') throw new Error('text outside the root element');
      } else top.text += decode(text);
      continue;
    }
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      if (stack.length === 0) root = open;
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of (attrs ?? '').matchAll(/([\w:.-]+)="([^"]*)"/g)) {
      if (a[1]! in attributes) throw new Error(`duplicate attribute ${a[1]}`);
      attributes[a[1]!] = decode(a[2]!);
    }
    const element: Element = { name: name!, attributes, children: [], text: '' };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else if (root || stack.length > 0) throw new Error('more than one root element');
    if (selfClosing) {
      if (!parent) root = element;
    } else stack.push(element);
  }
  if (stack.length > 0 || !root) throw new Error(`unclosed <${stack.at(-1)?.name}>`);
  return root;
}

function integer(e: Element, name: string): number {
  const v = e.attributes[name];
  if (v === undefined || !/^\d+$/.test(v)) throw new Error(`<${e.name}> needs an integer ${name}, has ${v}`);
  return Number(v);
}

function required(e: Element, name: string): string {
  const v = e.attributes[name];
  if (v === undefined || v === '') throw new Error(`<${e.name}> needs ${name}`);
  return v;
}

const CASE_CHILDREN = new Set(['failure', 'error', 'skipped', 'system-out', 'system-err']);

export function checkJUnit(xml: string): JUnitSuite[] {
  const root = parse(xml);
  if (root.name !== 'testsuites') throw new Error(`root is <${root.name}>, want <testsuites>`);
  let total = 0;
  let totalFailures = 0;
  let totalErrors = 0;
  const suites = root.children.map((suite): JUnitSuite => {
    if (suite.name !== 'testsuite') throw new Error(`<testsuites> holds <${suite.name}>`);
    const name = required(suite, 'name');
    const cases = suite.children
      .filter((c) => c.name !== 'properties' && c.name !== 'system-out' && c.name !== 'system-err')
      .map((c): JUnitCase => {
        if (c.name !== 'testcase') throw new Error(`<testsuite> holds <${c.name}>`);
        for (const child of c.children) {
          if (!CASE_CHILDREN.has(child.name)) throw new Error(`<testcase> holds <${child.name}>`);
          if (child.name === 'failure' || child.name === 'error') required(child, 'type');
        }
        return {
          classname: required(c, 'classname'),
          name: required(c, 'name'),
          failures: c.children.filter((x) => x.name === 'failure').length,
          errors: c.children.filter((x) => x.name === 'error').length,
          skipped: c.children.some((x) => x.name === 'skipped'),
        };
      });
    const failing = cases.filter((c) => c.failures > 0).length;
    const erring = cases.filter((c) => c.errors > 0).length;
    if (integer(suite, 'tests') !== cases.length) throw new Error(`suite ${name}: tests != ${cases.length}`);
    if (integer(suite, 'failures') !== failing) throw new Error(`suite ${name}: failures != ${failing}`);
    if (integer(suite, 'errors') !== erring) throw new Error(`suite ${name}: errors != ${erring}`);
    total += cases.length;
    totalFailures += failing;
    totalErrors += erring;
    return { name, cases };
  });
  if (integer(root, 'tests') !== total) throw new Error(`testsuites: tests != ${total}`);
  if (integer(root, 'failures') !== totalFailures)
    throw new Error(`testsuites: failures != ${totalFailures}`);
  if (integer(root, 'errors') !== totalErrors) throw new Error(`testsuites: errors != ${totalErrors}`);
  return suites;
}
