/**
 * `acr-trust status`: each step as recorded in the workdir and as it is live. Exit 0 when every step
 * could be checked (holding or not), 1 when a check could not be made.
 */
import { liveChecks, uncheckedError } from '../checks.js';
import type { AnswerFlags } from '../options.js';
import type { CommonOptions } from '../session.js';

export async function status(opts: CommonOptions & AnswerFlags): Promise<void> {
  const unchecked = uncheckedError(await liveChecks('status', opts));
  if (unchecked) throw unchecked;
}
