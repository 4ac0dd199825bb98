/**
 * Join files: what a learner needs to sign in to a room, in one file the trainer hands out.
 *
 *   { "kind": "acr-trust-room-join", "version": 1, "endpoint", "endpoints", "ca" (PEM),
 *     "tenantId", "subscriptionId", "learner" ("07"; absent for the trainer), "clientId",
 *     "clientSecret", "resourceGroup", "registry" }
 *
 * `sim serve --scenario classroom --state room.json` writes one per identity into `room.join/`
 * beside the state (`learner07.json`, `trainer.json`; mode 0600, the folder 0700): the secret is
 * the learner's own, so each file goes to its learner only. `sim az-env --join FILE` signs the
 * Azure CLI in with it; `sim az-env --learner 07` finds the same identity in the room's state.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../../errors.js';
import { writeFileAtomic } from '../../files.js';
import type { CloudState } from '../../sim/index.js';
import { learnerNames } from '../../sim/index.js';

export interface JoinFile {
  kind: 'acr-trust-room-join';
  version: 1;
  endpoint: string;
  endpoints: string[];
  ca: string;
  tenantId: string;
  subscriptionId: string;
  learner?: string;
  clientId: string;
  clientSecret: string;
  resourceGroup?: string;
  registry?: string;
}

/** The folder of a room's join files: `room.join/` beside `room.json`. */
export function joinDirFor(stateFile: string): string {
  return `${stateFile.replace(/\.json$/i, '')}.join`;
}

/** The endpoint a learner on another machine should use: the first that is not loopback, if any. */
export function roomEndpoint(endpoint: string, endpoints: string[]): string {
  return endpoints.find((e) => !/^https:\/\/(127\.|localhost|\[::1\])/i.test(e)) ?? endpoint;
}

/** Writes every identity's join file; returns the folder. */
export function writeJoinFiles(stateFile: string, state: CloudState, endpoint: string, endpoints: string[], ca: string): string | undefined {
  if (!state.room || !state.learners) return undefined;
  const dir = joinDirFor(stateFile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const sub = state.subscriptions[0]!.subscriptionId;
  for (const id of state.room.identities) {
    const names = id.learner ? learnerNames(Number(id.learner), state.learners) : undefined;
    const file: JoinFile = {
      kind: 'acr-trust-room-join',
      version: 1,
      endpoint: roomEndpoint(endpoint, endpoints),
      endpoints,
      ca,
      tenantId: state.tenantId,
      subscriptionId: sub,
      ...(id.learner ? { learner: id.learner } : {}),
      clientId: id.clientId,
      clientSecret: id.secret,
      ...(names ? { resourceGroup: names.resourceGroup, registry: names.registry } : {}),
    };
    writeFileAtomic(join(dir, id.learner ? `learner${id.learner}.json` : 'trainer.json'), `${JSON.stringify(file, null, 1)}\n`);
  }
  return dir;
}

/** The answers a join file gives by default: the room's subscription, the learner's own group and registry (the trainer's file has neither). */
export function roomDefaults(room: JoinFile): { subscription: string; resourceGroup?: string; registry?: string } {
  return { subscription: room.subscriptionId, resourceGroup: room.resourceGroup, registry: room.registry };
}

/** Reads a join file, or exit 2 saying what is wrong with it. */
export function readJoinFile(file: string): JoinFile {
  let data: any;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(code ? `Cannot read the join file ${file} (${code}).` : `${file} is not a join file (not JSON).`, 'Use the file your trainer handed out (learnerNN.json from the room\'s .join folder).');
  }
  const ok = data?.kind === 'acr-trust-room-join' && data.version === 1 && ['endpoint', 'ca', 'clientId', 'clientSecret', 'subscriptionId', 'tenantId'].every((k) => typeof data[k] === 'string');
  if (!ok) throw usageError(`${file} is not an acr-trust join file.`, 'Use the file your trainer handed out (learnerNN.json from the room\'s .join folder).');
  return data as JoinFile;
}

/** The identity of learner `learner` (`7`, `07`) in a room's state, or exit 2. */
export function learnerFromState(state: CloudState, learner: string, stateFile: string): { clientId: string; clientSecret: string; learner: string } {
  if (!state.room || !state.learners) throw usageError(`The sim at ${stateFile} is not a classroom: it has no learners.`, 'Drop --learner, or start a room with `acr-trust sim serve --scenario classroom`.');
  const n = /^\s*\d{1,3}\s*$/.test(learner) ? Number(learner) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > state.learners) {
    throw usageError(`No learner '${learner}' in the room ${stateFile}: it has learners 1 to ${state.learners}.`, 'Give the learner\'s number, as in learner07: --learner 07.');
  }
  const id = learnerNames(n, state.learners).resourceGroup.slice('learner'.length);
  const identity = state.room.identities.find((i) => i.learner === id)!;
  return { clientId: identity.clientId, clientSecret: identity.secret, learner: id };
}
