/**
 * Issue 13 §8: docs/training.md's workflow and exercises, run with the doc's exact commands (read
 * from the doc's own shell blocks, so doc and test cannot drift) through Microsoft's Azure CLI
 * against one `acr-trust sim serve` (instant speed), checking the outcome the doc promises: the
 * run's status and its log line. Debian's az 2.45 cannot run `az role assignment`: step 2 runs the
 * doc's own `az rest` replacement. Skipped only when `az` is not installed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrTrust, bin, cleanEnv, findAz, root, serve, tmp, type Served } from './helpers.js';
import { exerciseBullet as bullet, find, numberedSteps, runScript, section, shellBlocks, transcript, type Ran } from './training-doc.js';

const AZ = findAz();
const doc = readFileSync(join(root, 'docs/training.md'), 'utf8');

/** Every `#   …` line the doc prints under a command appears in its output (each piece between `…`, in order). */
function expectPromised(r: Ran) {
  const text = (r.stdout + r.stderr).replace(/\s+/g, ' ');
  for (const line of r.promised) {
    let at = 0;
    for (const piece of line.split('…').map((p) => p.trim().replace(/\s+/g, ' ')).filter(Boolean)) {
      const i = text.indexOf(piece, at);
      expect(i, `"${piece}" (promised under \`${r.command}\`) in:\n${text}`).toBeGreaterThanOrEqual(0);
      at = i + piece.length;
    }
  }
}

describe.skipIf(!AZ)('docs/training.md through az against sim serve', () => {
  let dir: string;
  let home: string;
  let sim: Served;
  let env: NodeJS.ProcessEnv;
  /** The acr-trust the doc names: this repository's binary. */
  let prelude: string;
  const run = (script: string) => runScript(script, env, dir, prelude);

  beforeAll(async () => {
    dir = tmp();
    home = join(dir, 'home');
    mkdirSync(join(home, 'acr-room'), { recursive: true });
    // The doc's state file, under a fresh HOME: its CA lands at ~/acr-room/sim-cloud.ca.pem, as the doc says.
    const state = join(home, 'acr-room', 'sim-cloud.json');
    sim = await serve(['--port', '0', '--state', state]);
    const prepared = acrTrust(['sim', 'az-env', '--state', state, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
    expect(prepared.status, prepared.stderr).toBe(0);
    env = cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: home });
    prelude = `acr-trust() { '${process.execPath}' '${bin}' "$@"; }`;
  }, 60_000);

  afterAll(async () => {
    await sim?.stop();
  });

  /** The doc's commands with the sim's real port (tests listen on port 0, the doc on 8443). */
  const here = (script: string) => script.replaceAll('https://127.0.0.1:8443', sim.line.endpoint.replace(/\/$/, ''));

  /** The workflow's steps as Debian's az 2.45 runs them: step 2 is its two look-ups, then the doc's az rest block. */
  const workflow = () => {
    const steps = numberedSteps(shellBlocks(section(doc, "The article's workflow"))[0]);
    const restBlock = shellBlocks(section(doc, "Role assignments with Debian's azure-cli 2.45"))[0];
    steps.set(2, steps.get(2)!.split('\n').filter((l) => !l.startsWith('az role assignment')).join('\n') + '\n' + restBlock);
    return steps;
  };

  it("the article's workflow: run ca1 succeeds through the bypass; with trusted services off run ca2 fails with the 403 the doc prints", () => {
    const steps = workflow();
    expect([...steps.keys()].filter(Boolean)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const ran = run([1, 2, 3, 4, 5, 6, 7].map((n) => steps.get(n)!).join('\n'));
    const failed = ran.filter((r) => r.status !== 0 && !(r.command.startsWith('az acr task run') && r.stdout.includes('ca2 failed')));
    expect(failed.map((r) => r.command), transcript(ran)).toEqual([]);
    expect(JSON.parse(find(ran, 'loginMode: credentials').stdout)).toMatchObject({ identity: { type: 'SystemAssigned' }, loginMode: 'None' });
    expect(JSON.parse(find(ran, 'roleAssignments?api-version').stdout).value).toHaveLength(1);
    expect(JSON.parse(find(ran, 'task credential list').stdout)).toEqual({ 'acrtrustdemo.azurecr.io': { identity: '[system]', password: null, userName: null } });
    expect(JSON.parse(find(ran, 'public: publicNetworkAccess').stdout)).toEqual({ public: 'Disabled', trustedServices: 'AzureServices' });
    expect(find(ran, 'az resource show').stdout.trim()).toBe('true');
    const first = find(ran, 'az acr task run');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('Run ID: ca1 was successful');
    const second = find(ran, 'az acr task run', ran.indexOf(first) + 1);
    expect(second.status).not.toBe(0);
    expect(second.promised.length).toBe(1);
    expectPromised(second);
    expect(second.stdout).toContain('Run ID: ca2 failed');
    expect(find(ran, 'list-runs').stdout).toMatch(/ca2\s+hello-task\s+linux\s+Failed[\s\S]*ca1\s+hello-task\s+linux\s+Succeeded/);
    expect(JSON.parse(find(ran, 'show-run').stdout)).toMatchObject({ status: 'Failed' });
    expect(find(ran, 'task logs').stdout).toContain(second.promised[0]);
  }, 600_000);

  it('the doctor exercise: trusted services off → exit 3 with the cause; the printed fix → exit 0; credential removed → no-system-credential, --fix adds it', () => {
    const block = here(shellBlocks(section(doc, 'Exercise: break it on purpose'))[0]);
    const ran = run(block);
    const doctors = ran.filter((r) => /^doctor( |$)/.test(r.command));
    expect(doctors.map((r) => r.command)).toEqual(['doctor', 'doctor', 'doctor --json', 'doctor --fix --yes']);
    const [broken, fixed, json, fix] = doctors;
    expect(doctors.map((r) => r.comment.match(/^exit (\d+)/)?.[1])).toEqual(['3', '0', undefined, undefined]);
    expect(broken.status, transcript(ran)).toBe(3);
    expect(broken.promised.length).toBeGreaterThan(5);
    expectPromised(broken);
    const task = find(ran, 'az acr task run');
    expect(task.stdout).toContain(task.comment);
    expect(fixed.status, transcript(ran)).toBe(0);
    for (const piece of /"(.*)"/.exec(fixed.comment)![1].split('…')) expect(fixed.stdout).toContain(piece.trim());
    expect(json.status).not.toBe(0);
    expect(json.promised).toHaveLength(1);
    expectPromised(json);
    const objects = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(objects.find((o) => o.access === 'pull acrtrustdemo.azurecr.io/hello-world')).toMatchObject({ type: 'access', verdict: 'refused', cause: 'no-system-credential' });
    expect(fix.status, transcript(ran)).toBe(0);
    expect(fix.stdout).toContain(fix.comment.split(',')[0]);
    // The credential is back, as the workflow's step 3 left it.
    const after = run('az acr task credential list -n hello-task -r acrtrustdemo');
    expect(JSON.parse(after[0].stdout)['acrtrustdemo.azurecr.io']).toMatchObject({ identity: '[system]' });
  }, 600_000);

  it('skip step 5 (the task bypass switch): the run is refused even with trusted services on', () => {
    expect(bullet(doc, 'Skip step 5')).toContain('the run is refused even with trusted services on');
    const steps = workflow();
    const ran = run(steps.get(5)!.replace('networkRuleBypassAllowedForTasks=true', 'networkRuleBypassAllowedForTasks=false') + steps.get(6)!);
    expect(find(ran, 'az resource show').stdout.trim()).toBe('false');
    expect(JSON.parse(run('az acr show -n acrtrustdemo --query networkRuleBypassOptions')[0].stdout)).toBe('AzureServices');
    const refused = find(ran, 'az acr task run');
    expect(refused.status, transcript(ran)).not.toBe(0);
    expect(refused.stdout).toMatch(/Run ID: ca\w+ failed/);
    expect(refused.stdout).toContain('403 Forbidden');
    // Step 5 again: the task gets in.
    const back = run(steps.get(5)! + steps.get(6)!);
    expect(find(back, 'az acr task run').stdout, transcript(back)).toMatch(/Run ID: ca\w+ was successful/);
  }, 600_000);

  it("a quick run is never trusted: the doc's az acr run is refused by the firewall even with both switches on", () => {
    const text = bullet(doc, 'A quick run is never trusted');
    const cmd = /`(az acr run [^`]+)`/.exec(text)![1];
    const ran = run(cmd);
    expect(ran[0].status, transcript(ran)).not.toBe(0);
    expect(ran[0].stdout).toContain("denied: client with IP '20.42.0.17' is not allowed access");
  }, 600_000);

  it('skip step 2 (the role): the registry refuses the pull with unauthorized', () => {
    expect(bullet(doc, 'Skip step 2')).toContain('the registry refuses the pull with `unauthorized`');
    const steps = workflow();
    // Undo step 2 with az rest (its list, then a delete of each assignment), then step 6.
    const ran = run(`${steps.get(2)!.split('\n').filter((l) => l.startsWith('principal=') || l.startsWith('registry=')).join('\n')}
for id in $(az rest --method get --url "$registry/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&\\$filter=principalId eq '$principal'" --query "value[].id" -o tsv); do az rest --method delete --url "$id?api-version=2022-04-01" >/dev/null; done
${steps.get(6)!}`);
    const refused = find(ran, 'az acr task run');
    expect(refused.status, transcript(ran)).not.toBe(0);
    expect(refused.stdout).toContain('unauthorized');
    expect(refused.stdout).not.toContain('is not allowed access');
    const back = run(steps.get(2)! + steps.get(6)!);
    expect(find(back, 'az acr task run').stdout, transcript(back)).toMatch(/Run ID: ca\w+ was successful/);
  }, 600_000);

  it('skip step 3 (the credential): with public access off the firewall denies the pull; with it on, unauthorized', () => {
    const text = bullet(doc, 'Skip step 3');
    const firewall = /`(docker: Error response from daemon: [^`]+)`/.exec(text)![1];
    expect(text).toContain('`unauthorized: authentication required` instead');
    const steps = workflow();
    const remove = /^az acr task credential remove .*$/m.exec(shellBlocks(section(doc, 'Exercise: break it on purpose'))[0])![0];
    const closed = run(`${remove}\n${steps.get(6)!}`);
    const denied = find(closed, 'az acr task run');
    expect(denied.status, transcript(closed)).not.toBe(0);
    expect(denied.stdout).toContain(firewall);
    expect(denied.stdout).not.toContain('unauthorized: authentication required');
    // "Run it before step 4": public access on again.
    const open = run(`az acr update -n acrtrustdemo --public-network-enabled true --default-action Allow >/dev/null\n${steps.get(6)!}`);
    expect(find(open, 'az acr task run').stdout, transcript(open)).toContain('unauthorized: authentication required');
  }, 600_000);
});
