import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scheduledUpdateWanted } from './update-schedule.ts';

const rolledBack = {
  from: '1.0.0',
  to: '1.9.0',
  started_at: '2026-12-04T03:00:00.000Z',
  state: 'rolled_back' as const,
  trigger: 'schedule' as const,
};

test('the schedule applies only newer releases, and never again one that rolled back here', () => {
  assert.equal(scheduledUpdateWanted(null, '1.0.0', undefined), 'not_newer');
  assert.equal(scheduledUpdateWanted('1.0.0', '1.0.0', undefined), 'not_newer');
  assert.equal(scheduledUpdateWanted('0.9.0', '1.0.0', undefined), 'not_newer');
  assert.equal(scheduledUpdateWanted('1.9.0', '1.0.0', undefined), true);
  assert.equal(scheduledUpdateWanted('1.9.0', '1.0.0', rolledBack), 'rolled_back_here');
  // A newer release than the one that failed is tried; so is the same one after a healthy update.
  assert.equal(scheduledUpdateWanted('2.0.0', '1.0.0', rolledBack), true);
  assert.equal(scheduledUpdateWanted('1.9.0', '1.0.0', { ...rolledBack, state: 'healthy' }), true);
});
