// What a path knows of error codes (analyze/state.ts): a variable that holds
// -EIO, or a call that returned an error code, is below zero; which error it
// is stays unknown; a value a callee returned without error is no error code.
import { describe, expect, it } from 'vitest';
import type { Expr } from '../../src/ir/expr.js';
import { assign, assume, evaluate, isNegativeIn, isSuccessIn, setReturned, type State } from '../../src/analyze/state.js';

const env = { symbol: () => 'unknown' as const };
const start: State = { pending: new Map(), facts: new Map(), bindings: new Map(), error: false, trail: null };
const id = (name: string): Expr => ({ k: 'id', name });
const num = (v: number): Expr => ({ k: 'num', v });
const errno = (name: string): Expr => ({ k: 'opaque', text: `-${name}`, vars: [name] });
const cmp = (op: string, a: Expr, b: Expr): Expr => ({ k: 'bin', op, a, b });
const call: Expr = { k: 'call', fn: 'foo_map', args: [id('dev')] };

describe('error codes', () => {
  const failed = assign(start, 'ret', errno('EIO'), '1');

  it('are below zero: the comparisons with zero are decided, either way round', () => {
    const truth = (e: Expr) => evaluate(e, failed, env);
    expect([cmp('<', id('ret'), num(0)), cmp('<=', id('ret'), num(0)), cmp('!=', id('ret'), num(0)), cmp('>', num(0), id('ret')), id('ret')].map(truth)).toEqual(['T', 'T', 'T', 'T', 'T']);
    expect([cmp('>', id('ret'), num(0)), cmp('>=', id('ret'), num(0)), cmp('==', id('ret'), num(0)), cmp('<', num(0), id('ret'))].map(truth)).toEqual(['F', 'F', 'F', 'F']);
    expect(isNegativeIn(id('ret'), failed)).toBe(true);
  });

  it('are not told apart: `ret == -EAGAIN` stays open, and what a path learns of one variable is not learnt of another', () => {
    expect(evaluate(cmp('==', id('ret'), errno('EAGAIN')), failed, env)).toBe('U');
    expect(evaluate(cmp('!=', id('ret'), errno('EINVAL')), failed, env)).toBe('U');
    const both = assign(failed, 'err', errno('ENOMEM'), '2');
    const retried = assume(cmp('==', id('ret'), errno('EAGAIN')), true, both, env)!;
    expect(evaluate(cmp('==', id('ret'), errno('EAGAIN')), retried, env)).toBe('T');
    expect(evaluate(cmp('==', id('err'), errno('EAGAIN')), retried, env)).toBe('U');
  });

  it("come back from a callee: `ret = foo_map(dev)` after it returned one is below zero", () => {
    const after = assign(setReturned(start, call, 'N'), 'ret', call, '3');
    expect(evaluate(cmp('<', id('ret'), num(0)), after, env)).toBe('T');
    expect(evaluate(cmp('<', call, num(0)), setReturned(start, call, 'N'), env)).toBe('T');
    expect(isSuccessIn(id('ret'), after)).toBe(false);
  });

  it('are not what a callee returned without error (a count): that value is true, and no error code', () => {
    const after = assign(setReturned(start, call, 'P'), 'ret', call, '4');
    expect(evaluate(id('ret'), after, env)).toBe('T');
    expect(isSuccessIn(id('ret'), after)).toBe(true);
    expect(isNegativeIn(id('ret'), after)).toBe(false);
    // A plain true result (an ERR_PTR, say) is not known to be a success.
    expect(isSuccessIn(id('ret'), assign(setReturned(start, call, 'T'), 'ret', call, '5'))).toBe(false);
  });

  it('are forgotten when the variable is written again', () => {
    const rewritten = assign(failed, 'ret', num(0), '6');
    expect(evaluate(cmp('<', id('ret'), num(0)), rewritten, env)).toBe('F');
    expect(evaluate(cmp('<', id('ret'), num(0)), assign(failed, 'ret', call, '7'), env)).toBe('U');
  });
});
