import { describe, expect, it } from 'vitest';
import { parseServiceRef } from './probe-service.ts';

describe('svc/NAME[:PORT]', () => {
  it.each([
    ['svc/web', { name: 'web', port: undefined }],
    ['svc/web:http', { name: 'web', port: 'http' }],
    ['service/web:80', { name: 'web', port: '80' }],
    ['services/api-v2', { name: 'api-v2', port: undefined }],
  ])('reads %s', (input, expected) => {
    expect(parseServiceRef(input)).toEqual(expected);
  });

  it.each(['svc/', 'svc/Web', 'svc/web:', 'pod/web', 'web:80', 'svc/web:80:81'])('refuses %s', (input) => {
    expect(parseServiceRef(input)).toBeUndefined();
  });
});
