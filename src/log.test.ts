import { describe, expect, it } from 'vitest';
import { componentLogger, makeLogger } from './log.ts';

describe('component loggers', () => {
  const capture = () => {
    const lines: string[] = [];
    const root = makeLogger({ write: (line: string) => void lines.push(line) }, 'info');
    return { root, lines };
  };

  it('writes one component key per line, the innermost, with the bindings of every level', () => {
    const { root, lines } = capture();
    const operator = componentLogger(root, 'operator', { shard: 0 });
    const informer = componentLogger(operator, 'informer', { informer: 'pods' });
    operator.info('outer');
    informer.child({ attempt: 2 }).warn('inner');
    const [outer = '', inner = ''] = lines;
    expect(outer.match(/"component":/g)).toHaveLength(1);
    expect(inner.match(/"component":/g)).toHaveLength(1);
    expect(JSON.parse(outer)).toMatchObject({ component: 'operator', shard: 0, msg: 'outer' });
    expect(JSON.parse(inner)).toMatchObject({
      component: 'informer',
      informer: 'pods',
      shard: 0,
      attempt: 2,
    });
  });

  it('leaves lines of the root logger without a component', () => {
    const { root, lines } = capture();
    root.info('plain');
    expect(JSON.parse(lines[0] ?? '{}')).not.toHaveProperty('component');
  });
});
