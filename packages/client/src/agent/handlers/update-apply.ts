import { UpdateApplyParams } from '@reach/protocol';
import type { Updater } from '../../update/updater.ts';
import { defineHandler } from './define-handler.ts';

/** `update_apply`: verify, fetch, swap and restart into a signed release (update/updater.ts). */
export function updateApplyHandler(updater: Updater) {
  return defineHandler(UpdateApplyParams, (params, ctx) => updater.apply(params, ctx.signal));
}
