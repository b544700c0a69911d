import { describe, expect, it } from 'vitest';
import { activeFilters, buildFormData, readListState, writeListState } from './listQuery';

describe('list state in the query string', () => {
  it('reads filters, order and a 1-based page', () => {
    const sp = new URLSearchParams('f=name:ct:demo&f=type:eq:org&sort=-created_on&page=3&ps=50');
    expect(readListState(sp)).toEqual({
      filters: [
        { col: 'name', opr: 'ct', value: 'demo' },
        { col: 'type', opr: 'eq', value: 'org' },
      ],
      order: { col: 'created_on', dir: 'desc' },
      page: 2,
      pageSize: 50,
    });
  });

  it('keeps colons inside a value', () => {
    expect(readListState(new URLSearchParams('f=url:sw:https://x')).filters).toEqual([{ col: 'url', opr: 'sw', value: 'https://x' }]);
  });

  it('ignores malformed entries and nonsense numbers', () => {
    const st = readListState(new URLSearchParams('f=name&f=:ct:x&page=-2&ps=abc'));
    expect(st).toEqual({ filters: [], order: null, page: 0, pageSize: null });
  });

  it('writes back only its own keys, under its prefix', () => {
    const out = writeListState(
      new URLSearchParams('project=3&r_page=9'),
      { filters: [{ col: 'role', opr: 'eq', value: 'dev' }], order: { col: 'id', dir: 'asc' }, page: 0, pageSize: null },
      'r_',
    );
    expect(out.toString()).toBe('project=3&r_f=role%3Aeq%3Adev&r_sort=id');
    expect(readListState(out, 'r_').filters).toEqual([{ col: 'role', opr: 'eq', value: 'dev' }]);
  });
});

describe('form_data', () => {
  it('"in" takes a list; empty filters wait for a value', () => {
    expect(
      activeFilters([
        { col: 'id', opr: 'in', value: '1, 2,,3' },
        { col: 'name', opr: 'ct', value: '  ' },
      ]),
    ).toEqual([{ col: 'id', opr: 'in', value: ['1', '2', '3'] }]);
  });

  it('fixed filters come first; page, size and order as the API names them', () => {
    const fd = buildFormData(
      { filters: [{ col: 'name', opr: 'ct', value: 'a' }], order: { col: 'name', dir: 'asc' }, page: 1, pageSize: null },
      { fixedFilters: [{ col: 'pipeline', opr: 'rel_o_m', value: 4 }], defaultPageSize: 20, columns: ['name'] },
    );
    expect(fd).toEqual({
      filters: [
        { col: 'pipeline', opr: 'rel_o_m', value: 4 },
        { col: 'name', opr: 'ct', value: 'a' },
      ],
      page: 1,
      page_size: 20,
      order_column: 'name',
      order_direction: 'asc',
      columns: ['name'],
    });
  });
});
