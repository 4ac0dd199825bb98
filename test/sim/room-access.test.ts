/**
 * A room's learners are kept apart by ARM's own rules: learner 2, signed in as its own service
 * principal, tries a broad catalogue of things against learner 1's resources after learner 1 ran
 * the whole workflow — reads, writes, role assignments, runs, operation status, run logs, lists,
 * the directory, and tokens that are forged, expired, for another audience or another cloud.
 * Every attempt must be refused, and no answer may carry anything of learner 1's. The figures
 * (tried, refused, leaks) are written to `room-access.json` in the test output folder for
 * docs/reliability.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSteps } from '../../src/engine/runner.js';
import { StateStore } from '../../src/engine/state.js';
import { connect } from '../../src/azure/index.js';
import { startSim, type RunningSim } from '../../src/sim/index.js';
import { issueAccessToken } from '../../src/sim/room.js';
import { timings, workflow } from '../../steps/index.js';
import { learnerCredential } from './room-helpers.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';

const API = { acr: '2025-11-01', rg: '2022-09-01', authz: '2022-04-01', sub: '2022-12-01' };
const out = fileURLToPath(new URL('../../test-output/', import.meta.url));

interface Answer {
  status: number;
  text: string;
}

let sim: RunningSim;
let sub: string;
let l1: { rg: string; reg: string; task: string; taskPrincipal: string; runIds: string[]; assignmentNames: string[]; opIds: string[]; principalId: string; clientId: string };
let token2: string;

function call(method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(sim.endpoint);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      { host: u.hostname, port: u.port, path, method, ca: sim.caCert, agent: false, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload ? { 'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json' } : {}), ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

async function tokenFor(n: number, scope = `${sim.endpoint}/.default`): Promise<string> {
  const id = sim.state.room!.identities.find((i) => Number(i.learner) === n)!;
  const r = await call('POST', '/adfs/oauth2/token', undefined, new URLSearchParams({ grant_type: 'client_credentials', client_id: id.clientId, client_secret: id.secret, scope }).toString());
  return JSON.parse(r.text).access_token;
}

beforeAll(async () => {
  sim = await startSim({ scenario: 'classroom', learners: 3 });
  sub = sim.subscriptionId;
  // Learner 1 runs the whole workflow: a task with an identity, a role assignment, two runs, operations.
  const world = {
    answers: { subscription: sub, resourceGroup: 'learner01', registry: 'acrtrustlearner01', targetRegistry: 'acrtrustlearner01', task: 'acr-trust-task', role: 'AcrPush' },
    cloud: connect({ subscriptionId: sub, credential: learnerCredential(sim, 1), endpoint: sim.endpoint, ca: sim.caCert, pollIntervalMs: 10 }),
    timing: timings.instant,
  };
  mkdirSync(out, { recursive: true });
  const report = await runSteps(workflow, world as any, StateStore.load(join(out, `room-access-learner01-${process.pid}.json`)), { emit: () => {} });
  expect(report.outcome).toBe('complete');
  const id1 = sim.state.room!.identities.find((i) => i.learner === '01')!;
  const task = Object.values(sim.state.tasks).find((t) => /learner01/i.test(t.id))!;
  l1 = {
    rg: `/subscriptions/${sub}/resourceGroups/learner01`,
    reg: `/subscriptions/${sub}/resourceGroups/learner01/providers/Microsoft.ContainerRegistry/registries/acrtrustlearner01`,
    task: task.id,
    taskPrincipal: task.identity.principalId,
    runIds: Object.values(sim.state.runs).filter((r) => /learner01/i.test(r.resource.id)).map((r) => r.resource.name),
    assignmentNames: Object.values(sim.state.roleAssignments).filter((a) => /learner01/i.test(a.properties.scope)).map((a) => a.name),
    opIds: Object.values(sim.state.operations).filter((o) => o.principalId === id1.principalId).map((o) => o.id),
    principalId: id1.principalId,
    clientId: id1.clientId,
  };
  expect(l1.runIds).toHaveLength(2);
  // An operation of learner 1's to poll: the workflow's own writes may all be synchronous at the
  // api-versions the SDK sends, so one is recorded as the sim records a long-running write's.
  if (l1.opIds.length === 0) {
    const op = { id: crypto.randomUUID(), doneAt: Date.now() + 60_000, status: 'Succeeded' as const, startTime: new Date().toISOString(), principalId: id1.principalId };
    sim.state.operations[op.id] = op;
    l1.opIds.push(op.id);
  }
  token2 = await tokenFor(2);
}, 60_000);
afterAll(() => sim?.stop());

/** Anything of learner 1's that must never reach learner 2 (beyond the names learner 2 itself typed). */
function leaks(text: string, typed: string): string[] {
  const secrets = [l1.taskPrincipal, ...l1.assignmentNames, ...l1.opIds, l1.principalId, l1.clientId, 'sig=', 'acr-trust-task-'];
  // Names learner 2 put in the request itself may come back in a refusal ("…over scope '<what you asked>'").
  return secrets.filter((s) => text.includes(s) && !typed.includes(s));
}

describe('learners in one room cannot reach each other', () => {
  it('refuses every cross-learner attempt, at one choke point, and leaks nothing', async () => {
    const run1 = l1.runIds[0]!;
    const a = (method: string, path: string, body?: unknown) => ({ method, path, body });
    const newGuid = () => crypto.randomUUID();
    const owner = roleDefinitionId(sub, ROLE_GUIDS.Owner);
    const id2 = sim.state.room!.identities.find((i) => i.learner === '02')!;
    const grant = (scope: string) => ({ properties: { roleDefinitionId: owner, principalId: id2.principalId, principalType: 'ServicePrincipal' } , scope });
    const attempts = [
      // reads
      a('GET', `${l1.rg}?api-version=${API.rg}`),
      a('HEAD', `${l1.rg}?api-version=${API.rg}`),
      a('GET', `${l1.rg}/resources?api-version=${API.rg}`),
      a('GET', `${l1.reg}?api-version=${API.acr}`),
      a('GET', `${l1.reg.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/')}?api-version=${API.acr}`),
      a('GET', `${l1.reg.replace('/resourceGroups/', '//resourceGroups//')}/?api-version=${API.acr}`),
      a('GET', `${l1.reg.replace('learner01/', 'learner02/../learner01/')}?api-version=${API.acr}`),
      a('GET', `${l1.reg.replace('learner01/', 'learner02%2F..%2Flearner01/')}?api-version=${API.acr}`),
      a('GET', `${l1.reg}/tasks?api-version=${API.acr}`),
      a('GET', `${l1.task}?api-version=${API.acr}`),
      a('POST', `${l1.task}/listDetails?api-version=${API.acr}`),
      a('GET', `${l1.reg}/runs?api-version=${API.acr}`),
      a('GET', `${l1.reg}/runs/${run1}?api-version=${API.acr}`),
      a('POST', `${l1.reg}/runs/${run1}/listLogSasUrl?api-version=${API.acr}`),
      a('GET', `${l1.rg}/providers/Microsoft.Authorization/roleAssignments?api-version=${API.authz}`),
      a('GET', `${l1.reg}/providers/Microsoft.Authorization/roleAssignments?api-version=${API.authz}&$filter=atScope()`),
      ...l1.assignmentNames.map((n) => a('GET', `${l1.reg}/providers/Microsoft.Authorization/roleAssignments/${n}?api-version=${API.authz}`)),
      ...l1.opIds.map((o) => a('GET', `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/locations/eastus/operationStatuses/${o}?api-version=${API.acr}`)),
      ...l1.opIds.map((o) => a('GET', `${l1.reg}/operationStatuses/${o}?api-version=${API.acr}`)),
      // writes
      a('PUT', `${l1.rg}?api-version=${API.rg}`, { location: 'eastus' }),
      a('DELETE', `${l1.rg}?api-version=${API.rg}`),
      a('PATCH', `${l1.reg}?api-version=${API.acr}`, { properties: { publicNetworkAccess: 'Enabled' } }),
      a('PUT', `${l1.reg}?api-version=${API.acr}`, { location: 'eastus', sku: { name: 'Basic' } }),
      a('DELETE', `${l1.reg}?api-version=${API.acr}`),
      a('PUT', `${l1.reg}/tasks/intruder?api-version=${API.acr}`, { location: 'eastus', properties: { platform: { os: 'Linux' }, step: { type: 'EncodedTask', encodedTaskContent: 'dmVyc2lvbjogdjEuMS4wCg==' } } }),
      a('PATCH', `${l1.task}?api-version=${API.acr}`, { properties: { status: 'Disabled' } }),
      a('DELETE', `${l1.task}?api-version=${API.acr}`),
      a('PUT', `/subscriptions/${sub}/resourceGroups/learner01/providers/Microsoft.ContainerRegistry/registries/acrtrustintruder?api-version=${API.acr}`, { location: 'eastus', sku: { name: 'Premium' } }),
      // runs
      a('POST', `${l1.reg}/scheduleRun?api-version=${API.acr}`, { type: 'TaskRunRequest', taskId: l1.task }),
      a('PATCH', `${l1.reg}/runs/${run1}?api-version=${API.acr}`, { isArchiveEnabled: true }),
      a('POST', `${l1.reg}/runs/${run1}/cancel?api-version=${API.acr}`),
      // role assignments
      a('PUT', `${l1.reg}/providers/Microsoft.Authorization/roleAssignments/${newGuid()}?api-version=${API.authz}`, grant(l1.reg)),
      a('PUT', `${l1.rg}/providers/Microsoft.Authorization/roleAssignments/${newGuid()}?api-version=${API.authz}`, grant(l1.rg)),
      a('PUT', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments/${newGuid()}?api-version=${API.authz}`, grant(`/subscriptions/${sub}`)),
      a('PUT', `/subscriptions/${sub}/resourceGroups/learner02/../learner01/providers/Microsoft.Authorization/roleAssignments/${newGuid()}?api-version=${API.authz}`, grant(l1.rg)),
      ...l1.assignmentNames.map((n) => a('DELETE', `${l1.reg}/providers/Microsoft.Authorization/roleAssignments/${n}?api-version=${API.authz}`)),
      // subscription-wide
      a('PUT', `/subscriptions/${sub}/resourcegroups/learner02-extra?api-version=${API.rg}`, { location: 'eastus' }),
      // the room's own endpoints, with a learner's token
      a('POST', `/room/api/learners/01/reset`),
    ];
    const results: { attempt: string; status: number; refused: boolean; leaked: string[] }[] = [];
    const record = (attempt: string, answer: Answer, refused: boolean, typed = attempt) => results.push({ attempt, status: answer.status, refused, leaked: leaks(answer.text, typed) });
    // Refused: 401/403 — or no route at all for such a path (404/405 from the router, which answers before any resource is looked at).
    const noRoute = (answer: Answer) => (answer.status === 404 || answer.status === 405) && /NoRegisteredProviderFound|InvalidResourceType|MethodNotAllowed/.test(answer.text);

    for (const t of attempts) {
      const answer = await call(t.method, t.path, token2, t.body);
      record(`${t.method} ${t.path}`, answer, answer.status === 401 || answer.status === 403 || noRoute(answer));
      if (answer.status === 403 && answer.text) expect(JSON.parse(answer.text).error.code, t.path).toBe('AuthorizationFailed');
    }
    // Lists answer — with learner 2's things only.
    const lists = [
      `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/registries?api-version=${API.acr}`,
      `/subscriptions/${sub}/resourcegroups?api-version=${API.rg}`,
      `/subscriptions/${sub}/resources?api-version=${API.rg}`,
      `/subscriptions?api-version=${API.sub}`,
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=${API.authz}`,
      `/v1.0/servicePrincipals`,
      `/v1.0/servicePrincipals?$filter=${encodeURIComponent("displayName eq 'acr-trust-task'")}`,
    ];
    for (const path of lists) {
      const answer = await call('GET', path, token2);
      const value: any[] = answer.status === 200 ? JSON.parse(answer.text).value : [];
      const foreign = value.filter((v) => /learner0[13]/i.test(JSON.stringify(v)) || [l1.taskPrincipal, l1.principalId].includes(v.id));
      record(`GET ${path} (list)`, answer, answer.status === 200 && foreign.length === 0);
    }
    // The directory: learner 1's service principal and task identity are not there for learner 2.
    for (const id of [l1.taskPrincipal, l1.principalId]) {
      const one = await call('GET', `/v1.0/servicePrincipals/${id}`, token2);
      record(`GET /v1.0/servicePrincipals/${id}`, one, one.status === 404);
      const byIds = await call('POST', '/v1.0/directoryObjects/getByIds', token2, { ids: [id] });
      record(`POST getByIds ${id}`, byIds, byIds.status === 200 && JSON.parse(byIds.text).value.length === 0);
    }
    // Permissions at learner 1's group: none.
    const perms = await call('GET', `${l1.rg}/providers/Microsoft.Authorization/permissions?api-version=${API.authz}`, token2);
    record('GET permissions at learner01', perms, perms.status === 200 && JSON.parse(perms.text).value.length === 0);
    // Run logs: the blob URL without learner 1's signature, or with a signature of learner 2's own run.
    const logPath = (runId: string) => `/logs/acrtrustlearner01/${runId}/rawtext.log`;
    for (const q of ['', '?sv=2021-08-06&se=2099-01-01T00:00:00Z&sr=b&sp=r&sig=AAAA', '?sig=']) {
      const answer = await call('GET', `${logPath(run1)}${q}`, undefined);
      record(`GET run log ${q || '(unsigned)'}`, answer, answer.status === 403 || answer.status === 404);
    }
    // Tokens: none of learner 1's, and nothing forged, expired, for another audience or another cloud.
    const [h, p, s] = token2.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, oid: l1.principalId })).toString('base64url')}.${s}`;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, oid: l1.principalId })).toString('base64url')}.`;
    const expired = (await issueAccessToken(sim.state, { principalId: l1.principalId, clientId: l1.clientId, audience: sim.endpoint, now: Date.now() - 7200_000 })).token;
    const otherSim = await startSim({ scenario: 'classroom', learners: 1 });
    const foreignCloud = (await issueAccessToken(otherSim.state, { principalId: l1.principalId, clientId: l1.clientId, audience: sim.endpoint, now: Date.now() })).token;
    await otherSim.stop();
    const graphAudience = await tokenFor(2, 'https://graph.microsoft.com/.default');
    const tokenCases: [string, string, string][] = [
      ['forged oid', forged, 'InvalidAuthenticationToken'],
      ['alg none', unsigned, 'InvalidAuthenticationToken'],
      ['expired', expired, 'ExpiredAuthenticationToken'],
      ['another cloud', foreignCloud, 'InvalidAuthenticationToken'],
      ['another audience', graphAudience, 'InvalidAuthenticationTokenAudience'],
      ['opaque', 'sim', 'InvalidAuthenticationToken'],
    ];
    for (const [name, tok, code] of tokenCases) {
      const answer = await call('GET', `${l1.reg}?api-version=${API.acr}`, tok);
      expect(answer.status, name).toBe(401);
      expect(JSON.parse(answer.text).error.code, name).toBe(code);
      record(`token: ${name}`, answer, answer.status === 401);
    }
    // Learner 1's client id with a wrong secret, and an unknown client.
    for (const [name, form] of [
      ['wrong secret', { client_id: l1.clientId, client_secret: 'guess' }],
      ['unknown client', { client_id: crypto.randomUUID(), client_secret: 'guess' }],
    ] as const) {
      const answer = await call('POST', '/adfs/oauth2/token', undefined, new URLSearchParams({ grant_type: 'client_credentials', scope: `${sim.endpoint}/.default`, ...form }).toString());
      record(`sign-in: ${name}`, answer, answer.status === 400 || answer.status === 401, `${name} ${form.client_id}`);
    }

    const refused = results.filter((r) => r.refused).length;
    const leaked = results.filter((r) => r.leaked.length > 0);
    mkdirSync(out, { recursive: true });
    const figures = `${JSON.stringify({ tried: results.length, refused, leaks: leaked.length, results }, null, 1)}\n`;
    writeFileSync(join(out, 'room-access.json'), figures);
    // For the reliability campaign (reliability/run.js renders docs/reliability.md from these).
    if (process.env.ACR_TRUST_RELIABILITY_OUT) writeFileSync(join(process.env.ACR_TRUST_RELIABILITY_OUT, 'room.json'), figures);
    expect(results.filter((r) => !r.refused)).toEqual([]);
    expect(leaked).toEqual([]);
    expect(results.length).toBeGreaterThan(60);

    // And learner 1's things are exactly as learner 1 left them.
    const reg = Object.values(sim.state.registries).find((r) => r.name === 'acrtrustlearner01')!;
    expect(reg.properties).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None' });
    expect(Object.values(sim.state.tasks).filter((t) => /learner01/i.test(t.id))).toHaveLength(1);
    expect(Object.values(sim.state.roleAssignments).filter((a) => a.properties.principalId === id2.principalId).map((a) => a.properties.scope)).toEqual([`/subscriptions/${sub}/resourceGroups/learner02`]);
    expect(Object.keys(sim.state.resourceGroups).some((k) => k.includes('learner02-extra'))).toBe(false);
  }, 60_000);

  it('lets the learner do everything in its own group, and the trainer everywhere', async () => {
    const own = `/subscriptions/${sub}/resourceGroups/learner02/providers/Microsoft.ContainerRegistry/registries/acrtrustlearner02`;
    expect((await call('GET', `${own}?api-version=${API.acr}`, token2)).status).toBe(200);
    expect((await call('PATCH', `${own}?api-version=${API.acr}`, undefined, { properties: { networkRuleBypassAllowedForTasks: true } })).status).toBe(401);
    expect([200, 201, 202]).toContain((await call('PATCH', `${own}?api-version=${API.acr}`, token2, { properties: { networkRuleBypassAllowedForTasks: true } })).status);
    const trainer = sim.state.room!.identities.find((i) => !i.learner)!;
    const r = await call('POST', '/adfs/oauth2/token', undefined, new URLSearchParams({ grant_type: 'client_credentials', client_id: trainer.clientId, client_secret: trainer.secret, scope: `${sim.endpoint}/.default` }).toString());
    const trainerToken = JSON.parse(r.text).access_token;
    expect((await call('GET', `${l1.reg}?api-version=${API.acr}`, trainerToken)).status).toBe(200);
    const all = JSON.parse((await call('GET', `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/registries?api-version=${API.acr}`, trainerToken)).text).value;
    expect(all.map((x: any) => x.name).sort()).toEqual(['acrtrustdemo', 'acrtrustlearner01', 'acrtrustlearner02', 'acrtrustlearner03']);
  });

  it('the trainer resets one learner\'s group alone; a wrong token cannot', async () => {
    const before3 = JSON.stringify(Object.values(sim.state.registries).find((r) => r.name === 'acrtrustlearner03'));
    const before2 = JSON.stringify(Object.values(sim.state.registries).find((r) => r.name === 'acrtrustlearner02'));
    expect((await call('POST', '/room/api/learners/01/reset', 'not-the-board-token')).status).toBe(401);
    const r = await call('POST', '/room/api/learners/01/reset', sim.state.room!.boardToken);
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text).removed).toMatchObject({ tasks: 1, runs: 2, roleAssignments: 1 });
    const reg1 = Object.values(sim.state.registries).find((x) => x.name === 'acrtrustlearner01')!;
    expect(reg1.properties).toMatchObject({ publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false });
    expect(Object.values(sim.state.tasks).filter((t) => /learner01/i.test(t.id))).toEqual([]);
    expect(JSON.stringify(Object.values(sim.state.registries).find((x) => x.name === 'acrtrustlearner03'))).toBe(before3);
    expect(JSON.stringify(Object.values(sim.state.registries).find((x) => x.name === 'acrtrustlearner02'))).toBe(before2);
    // Learner 1 can still sign in and work in its group.
    const t1 = await tokenFor(1);
    expect((await call('GET', `${l1.reg}?api-version=${API.acr}`, t1)).status).toBe(200);
    expect((await call('POST', '/room/api/learners/99/reset', sim.state.room!.boardToken)).status).toBe(404);
  });
});
