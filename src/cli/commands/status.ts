/** `acr-trust status`: each step as recorded in the workdir and as it is live. Always exit 0. */
import { liveChecks } from '../checks.js';
import type { AnswerFlags } from '../options.js';
import type { CommonOptions } from '../session.js';

export async function status(opts: CommonOptions & AnswerFlags): Promise<void> {
  await liveChecks('status', opts);
}
