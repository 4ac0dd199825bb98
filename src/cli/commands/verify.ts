/**
 * `acr-trust verify`: every step's check, live. Exit 0 when all hold, 3 when one does not, 1 when a
 * check could not be made (then nothing is said to hold or to have drifted).
 */
import { AcrTrustError } from '../../errors.js';
import { liveChecks, uncheckedError } from '../checks.js';
import type { AnswerFlags } from '../options.js';
import type { CommonOptions } from '../session.js';

export async function verify(opts: CommonOptions & AnswerFlags): Promise<void> {
  const reports = await liveChecks('verify', opts);
  const unchecked = uncheckedError(reports);
  if (unchecked) throw unchecked;
  const failing = reports.filter((r) => !r.holds);
  if (failing.length === 0) return;
  throw new AcrTrustError(`${failing.length} step(s) do not hold: ${failing.map((r) => r.id).join(', ')}.`, {
    exitCode: 3,
    hint: `Run \`acr-trust run --yes\` to check every step again and repair what drifted (or \`--from ${failing[0]!.id}\` to start there).`,
  });
}
