/** runs routes — placeholder until written; see src/sim/context.ts for the RouteModule contract. */
import type { RouteModule } from '../context.js';

export const runsRoutes: RouteModule = () => {};
