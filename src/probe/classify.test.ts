import { describe, expect, it } from 'vitest';
import { classifyErrno, localCause } from './classify.ts';
import { isTargetFailure } from './outcome.ts';

describe('classifyErrno', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENETUNREACH', 'unreachable'],
    ['ETIMEDOUT', 'timeout'],
    ['ECONNRESET', 'reset'],
    ['EMFILE', 'error'],
    ['ENFILE', 'error'],
    ['EADDRNOTAVAIL', 'error'],
    ['ENOBUFS', 'error'],
    ['EPERM', 'error'],
    ['EWHATEVER', 'error'],
    [undefined, 'error'],
  ] as const)('reads %s as %s', (code, outcome) => {
    expect(classifyErrno(code)).toBe(outcome);
  });

  it('never blames the target for a prober-side error', () => {
    for (const code of ['EMFILE', 'EADDRNOTAVAIL', 'ENOBUFS', 'EACCES']) {
      expect(isTargetFailure(classifyErrno(code))).toBe(false);
    }
    expect(isTargetFailure(classifyErrno('ECONNREFUSED'))).toBe(true);
  });
});

describe('localCause', () => {
  it('explains known local errors and falls back to the system message', () => {
    expect(localCause('EMFILE', 'x')).toContain('file descriptors');
    expect(localCause('EFOO', 'something odd')).toBe('something odd');
    expect(localCause(undefined, 'no code')).toBe('no code');
  });
});
