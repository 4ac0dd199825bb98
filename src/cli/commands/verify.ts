/** `acr-trust verify`: every step's check, live. Exit 0 when all hold, 3 when one does not. */
import { AcrTrustError } from '../../errors.js';
import { liveChecks } from '../checks.js';
import type { AnswerFlags } from '../options.js';
import type { CommonOptions } from '../session.js';

export async function verify(opts: CommonOptions & AnswerFlags): Promise<void> {
  const failing = (await liveChecks('verify', opts)).filter((r) => !r.holds);
  if (failing.length === 0) return;
  throw new AcrTrustError(`${failing.length} step(s) do not hold: ${failing.map((r) => r.id).join(', ')}.`, {
    exitCode: 3,
    hint: `Run \`acr-trust run --yes\` to check every step again and repair what drifted (or \`--from ${failing[0]!.id}\` to start there).`,
  });
}
