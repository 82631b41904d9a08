import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldNames } from './fold-names.ts';

test('foldNames folds numbered names into ranges and keeps the rest', () => {
  assert.equal(foldNames(['web-3', 'web-1', 'web-2', 'web-7', 'db']), 'db, web-[1-3,7]');
  assert.equal(foldNames(['n01', 'n02', 'n10']), 'n[01-02,10]');
  assert.equal(foldNames(['solo-4']), 'solo-4');
  assert.equal(foldNames(['box', 'box']), 'box');
  assert.equal(foldNames(Array.from({ length: 1000 }, (_, i) => `sim-${i}`)), 'sim-[0-999]');
  assert.equal(foldNames([]), '');
});
