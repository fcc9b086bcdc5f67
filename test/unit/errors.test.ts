import { describe, expect, it } from '@jest/globals';
import { NsxError, errnoMessage, errnoName, errnoNumber } from '../../src/runtime/errors.js';

describe('errors', () => {
  it('names errno numbers and back', () => {
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoNumber('ENOENT')).toBe(2);
    expect(errnoMessage(1)).toBe('Operation not permitted');
  });
  it('describes with the hint on its own line', () => {
    const e = new NsxError('sethostname: Operation not permitted', { hint: 'the container lacks CAP_SYS_ADMIN' });
    expect(e.describe()).toBe('sethostname: Operation not permitted\n  the container lacks CAP_SYS_ADMIN');
    expect(e.exitCode).toBe(125);
  });
});
