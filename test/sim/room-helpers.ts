/** Signing in as a room's identities, as the clients do (client credentials at the sim's token endpoint). */
import { ClientSecretCredential } from '@azure/identity';
import type { RunningSim } from '../../src/sim/index.js';

/** Learner `n`'s identity, signing in at the sim as `az login --service-principal --tenant adfs` would. */
export function learnerCredential(sim: RunningSim, n: number): ClientSecretCredential {
  const id = sim.state.room!.identities.find((i) => Number(i.learner) === n)!;
  return new ClientSecretCredential('adfs', id.clientId, id.secret, { authorityHost: sim.endpoint, tlsOptions: { ca: sim.caCert } } as any);
}

/** The trainer's identity (the sim's caller, Owner of the subscription). */
export function trainerCredential(sim: RunningSim): ClientSecretCredential {
  const id = sim.state.room!.identities.find((i) => !i.learner)!;
  return new ClientSecretCredential('adfs', id.clientId, id.secret, { authorityHost: sim.endpoint, tlsOptions: { ca: sim.caCert } } as any);
}
