/**
 * The trainer's own endpoints under `/room` (not ARM: Azure has no such thing). Every one needs
 * the board token `sim serve` prints at start (`Authorization: Bearer <token>`, or `?token=` for a
 * browser's first visit), compared in constant time; anything else is 401 and says nothing.
 *
 *   POST /room/api/learners/{learner}/reset   puts one learner's resource group back as seeded
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RouteModule } from '../context.js';
import { ArmError, type SimRequest } from '../http.js';
import { resetLearner } from '../scenarios.js';
import { isAcrTrustError } from '../../errors.js';

/** True when the request carries the room's board token. */
export function hasBoardToken(req: SimRequest, boardToken: string | undefined): boolean {
  if (!boardToken) return false;
  const header = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
  const given = header || req.query.get('token') || cookie(req, 'acr_trust_board') || '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(boardToken).digest();
  return timingSafeEqual(a, b);
}

function cookie(req: SimRequest, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export function requireBoardToken(req: SimRequest, boardToken: string | undefined): void {
  if (!hasBoardToken(req, boardToken)) throw new ArmError(401, 'Unauthorized', 'The room board needs the trainer\'s token that `acr-trust sim serve` printed.');
}

export const roomRoutes: RouteModule = (router, sim) => {
  router.on('POST', '/room/api/learners/{learner}/reset', { name: 'room.resetLearner', auth: false, write: true }, (req) => {
    requireBoardToken(req, sim.state.room?.boardToken);
    let removed;
    try {
      removed = resetLearner(sim.state, req.params.learner!, sim.now());
    } catch (e) {
      if (isAcrTrustError(e)) throw new ArmError(404, 'LearnerNotFound', e.message);
      throw e;
    }
    sim.changed();
    return { status: 200, body: { learner: req.params.learner, removed } };
  });
};
