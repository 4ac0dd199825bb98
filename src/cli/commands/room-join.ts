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
 * Azure CLI in with it; `sim az-env --learner 07` finds the same identity in the room's state. The
 * wizard's `--learner 07` (on the machine that serves the room) is the same as `--join` with the
 * join file `sim serve` wrote for learner 07 (`learnerJoinFile`).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from '../../errors.js';
import { processAlive, writeFileAtomic } from '../../files.js';
import type { CloudState, EndpointRecord } from '../../sim/index.js';
import { endpointFileFor, learnerNames, readEndpointFile, readStateFile } from '../../sim/index.js';

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
  /** The resource tokens are asked for, when the room's sim stands for a cloud (`sim serve --cloud`): its Resource Manager audience. */
  tokenAudience?: string;
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
      ...(state.cloud ? { tokenAudience: state.cloud.activeDirectoryResourceId } : {}),
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

/**
 * The `sim serve` running on this machine for `stateFile` (its `<state>.endpoint.json`, whose
 * process is alive), or exit 2 saying there is none. `shown`: the state file as the user gave it.
 */
export function runningSimFor(stateFile: string, shown: string): EndpointRecord {
  const file = endpointFileFor(stateFile);
  const record = readEndpointFile(file);
  const start = `Start one in another terminal — \`acr-trust sim serve --state ${shown}\` — or pass --endpoint URL --ca FILE.`;
  if (!record) throw usageError(`No running sim for ${stateFile}: ${file} does not exist.`, start);
  if (!processAlive(record.pid)) throw usageError(`The sim that served ${stateFile} (pid ${record.pid}) is not running any more.`, start);
  return record;
}

/**
 * `--learner NN [--state FILE]` of the wizard, on the machine that serves the room: the absolute
 * path of the join file `sim serve` wrote for that learner (`<state>.join/learnerNN.json`), after
 * checking what az-env --learner checks — the state is a classroom's, its `sim serve` is running,
 * the learner is one of it — and that the file holds the learner's identity as the state has it.
 * Exit 2 for each, said plainly: no room at that state file, the room not running, not a
 * classroom, no such learner, the join file missing or from an earlier room.
 */
export function learnerJoinFile(stateFile: string, learner: string, shown: string): string {
  const abs = resolve(stateFile);
  const roomHint = `Start the room with \`acr-trust sim serve --scenario classroom --state ${shown}\` (or give --state with the file it serves), then --learner NN; on a learner's own machine use --join FILE from the trainer.`;
  if (!existsSync(abs)) throw usageError(`No training room at ${abs}: the file does not exist.`, roomHint);
  const state = readStateFile(abs);
  if (!state?.room || !state.learners) throw usageError(`The sim at ${abs} is not a classroom: it has no learners.`, 'Drop --learner, or start a room with `acr-trust sim serve --scenario classroom`.');
  const id = learnerFromState(state, learner, abs);
  runningSimFor(abs, shown);
  const file = join(joinDirFor(abs), `learner${id.learner}.json`);
  const written = existsSync(file) ? readJoinFile(file) : undefined;
  if (!written || written.clientId !== id.clientId || written.clientSecret !== id.clientSecret) {
    throw usageError(`The room's join file for learner ${id.learner} (${file}) is ${written ? 'from an earlier room' : 'missing'}.`, `Restart \`acr-trust sim serve --state ${shown}\`: it writes every learner's join file again.`);
  }
  return file;
}
