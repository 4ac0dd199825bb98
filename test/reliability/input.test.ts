/**
 * Hostile and wrong input, measured: a catalogue of bad inputs through the real binary — each must
 * say what is wrong and how to fix it, exit 2 (1 when the cloud refuses), print no stack trace, and
 * change neither the cloud nor the saved state — and generated inputs (fast-check) for the answers
 * file and the names.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isAcrTrustError } from '../../src/errors.js';
import { KEYS, readInputs, type AnswerKey } from '../../src/engine/answers.js';
import { cliAsync, startCli, tempDir, type Result } from '../cli/helpers.js';
import { figures, FULL, hasStack, pool, readText, size, timeout } from './support.js';

const fig = figures('input');

const SUB = '6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c';

// ---- baselines: workdirs to copy, so every case starts from the same saved state and cloud -------

type Base = 'progress' | 'fresh' | 'basic-sku' | 'no-role-write' | 'read-only' | 'user-assigned-task' | 'none';
const bases = {} as Record<Exclude<Base, 'none'>, string>;

async function makeBases(): Promise<void> {
  const root = tempDir('acr-trust-bases-');
  const run = async (name: string, args: string[]) => {
    const wd = join(root, name);
    const r = await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd, ...args]);
    return { wd, r };
  };
  const forget = (wd: string) => {
    // Only the cloud stays: a workdir whose workflow has not started.
    for (const f of ['state.json', 'answers.yaml', 'report.md']) rmSync(join(wd, f), { force: true });
  };
  const [progress, fresh, basic, noRole, readOnly] = await Promise.all([
    run('progress', ['--until', 'create-task']),
    run('fresh', ['--until', 'preflight']),
    run('basic-sku', ['--sim-scenario', 'basic-sku', '--until', 'preflight']),
    run('no-role-write', ['--sim-scenario', 'no-role-write', '--until', 'preflight']),
    run('read-only', ['--sim-scenario', 'read-only', '--until', 'preflight']),
  ]);
  if (progress.r.status !== 0 || fresh.r.status !== 0) throw new Error(`baseline runs failed: ${progress.r.stderr}${fresh.r.stderr}`);
  for (const b of [fresh, basic, noRole, readOnly]) forget(b.wd);
  bases.progress = progress.wd;
  bases.fresh = fresh.wd;
  bases['basic-sku'] = basic.wd;
  bases['no-role-write'] = noRole.wd;
  bases['read-only'] = readOnly.wd;

  // A task someone made with a user-assigned identity only (the adapter always makes system ones).
  const uami = join(root, 'user-assigned-task');
  cpSync(fresh.wd, uami, { recursive: true });
  const taskFrom = JSON.parse(readFileSync(join(progress.wd, 'sim-cloud.json'), 'utf8'));
  const cloud = JSON.parse(readFileSync(join(uami, 'sim-cloud.json'), 'utf8'));
  const [, task] = Object.entries(taskFrom.tasks)[0] as [string, any];
  const id = task.id.replace(/acr-trust-task$/, 'uami-task');
  const identity = `/subscriptions/${SUB}/resourceGroups/acr-trust-demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder`;
  cloud.tasks[id.toLowerCase()] = {
    ...task,
    id,
    name: 'uami-task',
    identity: { type: 'UserAssigned', userAssignedIdentities: { [identity]: { principalId: '9a9a9a9a-0000-4000-8000-000000000001', clientId: '9a9a9a9a-0000-4000-8000-000000000002' } } },
  };
  writeFileSync(join(uami, 'sim-cloud.json'), JSON.stringify(cloud));
  bases['user-assigned-task'] = uami;
}

/** What must not change: the cloud's resources, and the saved state and answers. */
interface Snapshot {
  cloud?: string;
  state?: string;
  answers?: string;
}

function snapshot(wd: string): Snapshot {
  const cloudText = readText(join(wd, 'sim-cloud.json'));
  let cloud: string | undefined = cloudText;
  try {
    const c = cloudText ? JSON.parse(cloudText) : undefined;
    if (c) cloud = JSON.stringify({ registries: c.registries, tasks: c.tasks, roleAssignments: c.roleAssignments, runs: Object.keys(c.runs), principals: Object.keys(c.principals) });
  } catch {
    /* a corrupt cloud is compared as text */
  }
  return { cloud, state: readText(join(wd, 'state.json')), answers: readText(join(wd, 'answers.yaml')) };
}

/** The saved workflow without its timestamps: which steps hold, with what outputs. */
function progressOf(state: string | undefined): Record<string, unknown> {
  if (!state) return {};
  try {
    const s = JSON.parse(state);
    return Object.fromEntries(Object.entries(s.steps ?? {}).map(([id, r]: [string, any]) => [id, { status: r.status, outputs: r.outputs }]));
  } catch {
    return { unreadable: state };
  }
}

// ---- the catalogue ---------------------------------------------------------------------------------

interface Ctx {
  wd: string;
  dir: string;
  file(name: string, text: string | Buffer): string;
}

interface BadInput {
  what: string;
  base: Base;
  args: (c: Ctx) => string[];
  setup?: (c: Ctx) => void;
  env?: NodeJS.ProcessEnv;
  exit: 1 | 2;
  /** What is wrong (the first line). */
  message: RegExp;
  /** How to fix it (the lines after). */
  fix: RegExp;
  /** Kill after this long (a case that may hang). */
  timeoutMs?: number;
}

const run = (...extra: string[]) => (c: Ctx) => ['run', '--target', 'sim', '--yes', '--workdir', c.wd, ...extra];
const answers = (text: string, ...extra: string[]) => (c: Ctx) => ['run', '--target', 'sim', '--yes', '--workdir', c.wd, '--answers', c.file('answers.yaml', text), ...extra];
const FIX_FLAG = (flag: string, key: string) => new RegExp(`Fix ${flag} or the "${key}:" key`);
const HELP = /\(run with --help for usage\)/;
const MOVE_STATE = /Move it aside \(mv .*state\.json .*state\.json\.bad\) and run again/;
const TASK_FILE_FIX = /Fix the file .* or leave out --task-file/;

const catalogue: BadInput[] = [
  // names and values
  { what: 'registry name with a hyphen', base: 'progress', args: run('--registry', 'my-registry'), exit: 2, message: /"my-registry" is not a valid registry name: ARM requires 5–50 letters and digits/, fix: FIX_FLAG('--registry', 'registry') },
  { what: 'registry name too short', base: 'progress', args: run('--registry', 'abc'), exit: 2, message: /"abc" is not a valid registry name/, fix: FIX_FLAG('--registry', 'registry') },
  { what: 'registry name too long', base: 'progress', args: run('--registry', 'a'.repeat(51)), exit: 2, message: /is not a valid registry name: ARM requires 5–50/, fix: FIX_FLAG('--registry', 'registry') },
  { what: 'target registry name with an underscore', base: 'progress', args: run('--target-registry', 'target_reg'), exit: 2, message: /"target_reg" is not a valid target registry name/, fix: FIX_FLAG('--target-registry', 'targetRegistry') },
  { what: 'task name with a space', base: 'progress', args: run('--task', 'my task'), exit: 2, message: /"my task" is not a valid task name: ARM requires 5–50 letters, digits, hyphens or underscores/, fix: FIX_FLAG('--task', 'task') },
  { what: 'task name with a slash', base: 'progress', args: run('--task', 'tasks/evil'), exit: 2, message: /"tasks\/evil" is not a valid task name/, fix: FIX_FLAG('--task', 'task') },
  { what: 'resource group ending with a period', base: 'progress', args: run('--resource-group', 'rg.'), exit: 2, message: /does not allow a resource group name to end with a period/, fix: FIX_FLAG('--resource-group', 'resourceGroup') },
  { what: 'resource group with a #', base: 'progress', args: run('--resource-group', 'rg#1'), exit: 2, message: /"rg#1" is not a valid resource group name/, fix: FIX_FLAG('--resource-group', 'resourceGroup') },
  { what: 'resource group of 91 characters', base: 'progress', args: run('--resource-group', 'r'.repeat(91)), exit: 2, message: /is not a valid resource group name: ARM requires 1–90/, fix: FIX_FLAG('--resource-group', 'resourceGroup') },
  { what: 'subscription id that is not a GUID', base: 'progress', args: run('--subscription', 'my-subscription'), exit: 2, message: /"my-subscription" is not a valid subscription id: a subscription id is a GUID/, fix: FIX_FLAG('--subscription', 'subscription') },
  { what: 'subscription id in braces', base: 'progress', args: run('--subscription', `{${SUB}}`), exit: 2, message: /is not a valid subscription id/, fix: FIX_FLAG('--subscription', 'subscription') },
  { what: 'subscription id on Azure with the wrong shape', base: 'none', args: (c) => ['run', '--target', 'azure', '--goal', 'demo', '--yes', '--workdir', c.wd, '--subscription', '1234', '--resource-group', 'rg', '--registry', 'myregistry'], exit: 2, message: /"1234" is not a valid subscription id/, fix: FIX_FLAG('--subscription', 'subscription') },
  { what: 'unknown role', base: 'progress', args: run('--role', 'Owner'), exit: 2, message: /"Owner" is not a valid role; choose one of: AcrPush, AcrPull/, fix: FIX_FLAG('--role', 'role') },
  { what: 'role in the wrong case', base: 'progress', args: run('--role', 'acrpush'), exit: 2, message: /"acrpush" is not a valid role/, fix: FIX_FLAG('--role', 'role') },
  { what: 'unknown target', base: 'progress', args: (c) => ['run', '--target', 'aws', '--yes', '--workdir', c.wd], exit: 2, message: /argument 'aws' is invalid. Allowed choices are sim, azure/, fix: HELP },
  { what: 'unknown sim scenario', base: 'progress', args: run('--sim-scenario', 'production'), exit: 2, message: /"production" is not a valid sim scenario; choose one of: default, basic-sku/, fix: FIX_FLAG('--sim-scenario', 'simScenario') },
  { what: 'unknown sim speed', base: 'progress', args: run('--sim-speed', 'fast'), exit: 2, message: /argument 'fast' is invalid. Allowed choices are instant, realistic/, fix: HELP },
  { what: 'a bad name in the environment', base: 'fresh', args: run(), env: { ACR_TRUST_REGISTRY: 'no_underscores' }, exit: 2, message: /"no_underscores" is not a valid registry name/, fix: /it came from ACR_TRUST_REGISTRY/ },
  { what: 'Azure without the answers that change it', base: 'none', args: (c) => ['run', '--target', 'azure', '--yes', '--workdir', c.wd, '--subscription', SUB], exit: 2, message: /missing answers: resource group name \(--resource-group/, fix: /Nothing that changes Azure is guessed/ },

  // the answers file
  { what: 'answers file with an unknown key', base: 'progress', args: answers('target: sim\nregistery: acrtrustdemo\n'), exit: 2, message: /unknown key "registery" in /, fix: /Valid keys: subscription, resourceGroup, registry/ },
  { what: 'answers file with a number', base: 'progress', args: answers('registry: 123456\n'), exit: 2, message: /"registry" in .* must be a string, not number \(123456\)/, fix: /Quote the value, e\.g\. registry: "123456"/ },
  { what: 'answers file with a list', base: 'progress', args: answers('role: [AcrPush, AcrPull]\n'), exit: 2, message: /"role" in .* must be a string, not a list/, fix: /Quote the value/ },
  { what: 'answers file with a mapping', base: 'progress', args: answers('task:\n  name: x\n'), exit: 2, message: /"task" in .* must be a string, not object/, fix: /Quote the value/ },
  { what: 'answers file with a boolean', base: 'progress', args: answers('target: true\n'), exit: 2, message: /"target" in .* must be a string, not boolean/, fix: /Quote the value/ },
  { what: 'answers file that is not valid YAML', base: 'progress', args: answers('target: sim\nrole: [AcrPush\n'), exit: 2, message: /is not valid YAML \(line \d+, column \d+\)/, fix: /Fix the file; JSON is accepted too/ },
  { what: 'answers file in broken JSON', base: 'progress', args: answers('{"target": "sim", "registry": "acrtrustdemo"'), exit: 2, message: /is not valid YAML/, fix: /Fix the file/ },
  { what: 'answers file that is a list', base: 'progress', args: answers('- target: sim\n'), exit: 2, message: /must be a mapping of answer keys to values/, fix: /Valid keys:/ },
  { what: 'answers file that is a scalar', base: 'progress', args: answers('just some text'), exit: 2, message: /must be a mapping of answer keys to values/, fix: /Valid keys:/ },
  { what: 'answers file of binary garbage', base: 'progress', args: (c) => ['run', '--target', 'sim', '--yes', '--workdir', c.wd, '--answers', c.file('a.bin', Buffer.from([0x00, 0xff, 0x12, 0x3a, 0x0a, 0x5b, 0x7b]))], exit: 2, message: /is not valid YAML|must be a mapping/, fix: /Fix the file|Valid keys/ },
  { what: 'answers file with a bad value', base: 'progress', args: answers('role: Contributor\n'), exit: 2, message: /"Contributor" is not a valid role/, fix: /Fix --role or the "role:" key \(it came from .*answers\.yaml\)/ },
  { what: 'answers file with an unresolved YAML alias', base: 'progress', args: answers('subscription: *nowhere\n'), exit: 2, message: /is not valid YAML|alias/, fix: /Fix the file/ },
  { what: 'answers file with an alias bomb (billion laughs)', base: 'progress', args: answers(aliasBomb()), exit: 2, message: /is not valid YAML|alias/, fix: /Fix the file/ },
  { what: 'answers file that does not exist', base: 'progress', args: run('--answers', '/nonexistent/answers.yaml'), exit: 2, message: /cannot read the answers file \/nonexistent\/answers\.yaml: ENOENT/, fix: /Check the path given to --answers/ },
  { what: 'answers file that is a folder', base: 'progress', args: (c) => ['run', '--target', 'sim', '--yes', '--workdir', c.wd, '--answers', c.dir], exit: 2, message: /cannot read the answers file .*: EISDIR/, fix: /Check the path given to --answers/ },

  // saved state
  { what: 'state.json truncated', base: 'progress', setup: (c) => writeFileSync(join(c.wd, 'state.json'), readFileSync(join(c.wd, 'state.json'), 'utf8').slice(0, 200)), args: run(), exit: 2, message: /state\.json is not valid JSON .*; it was left untouched/, fix: MOVE_STATE },
  { what: 'state.json of plain text', base: 'progress', setup: (c) => writeFileSync(join(c.wd, 'state.json'), 'hello\n'), args: run(), exit: 2, message: /state\.json is not valid JSON/, fix: MOVE_STATE },
  { what: 'state.json empty', base: 'progress', setup: (c) => writeFileSync(join(c.wd, 'state.json'), ''), args: run(), exit: 2, message: /state\.json is not valid JSON/, fix: MOVE_STATE },
  { what: 'state.json of another version', base: 'progress', setup: (c) => writeFileSync(join(c.wd, 'state.json'), JSON.stringify({ version: 2, steps: {} })), args: run(), exit: 2, message: /is not an acr-trust state file \(version 1 with a "steps" object\)/, fix: MOVE_STATE },
  { what: 'state.json with steps as a list', base: 'progress', setup: (c) => writeFileSync(join(c.wd, 'state.json'), JSON.stringify({ version: 1, steps: [] })), args: run(), exit: 2, message: /is not an acr-trust state file/, fix: MOVE_STATE },
  { what: 'state.json with a malformed step record', base: 'progress', setup: (c) => writeFileSync(join(c.wd, 'state.json'), JSON.stringify({ version: 1, steps: { preflight: { status: 'done' } } })), args: run(), exit: 2, message: /has a malformed record for step "preflight"/, fix: MOVE_STATE },
  { what: 'sim-cloud.json corrupt', base: 'progress', setup: (c) => writeFileSync(join(c.wd, 'sim-cloud.json'), '{"version":1,"tenantId":'), args: run(), exit: 2, message: /The sim state file .*sim-cloud\.json is not a simulated cloud: invalid JSON/, fix: /The file was left untouched. Move it away/ },

  // flags that contradict each other
  { what: '--only with --from', base: 'progress', args: run('--only', 'run-task', '--from', 'preflight'), exit: 2, message: /--only cannot be combined with --from or --until/, fix: /Use --only STEP for one step, or --from\/--until for a range/ },
  { what: '--from after --until', base: 'progress', args: run('--from', 'run-task', '--until', 'preflight'), exit: 2, message: /--from run-task comes after --until preflight/, fix: /Step ids, in order: preflight, create-task/ },
  { what: 'an unknown step', base: 'progress', args: run('--only', 'deploy'), exit: 2, message: /unknown step "deploy" for --only/, fix: /Step ids, in order:/ },
  { what: '--endpoint without --ca', base: 'none', args: run('--endpoint', 'https://127.0.0.1:9'), exit: 2, message: /--endpoint and --ca go together/, fix: /Give both: the endpoint and the caCertFile/ },
  { what: '--ca without --endpoint on --target azure', base: 'none', args: (c) => ['run', '--target', 'azure', '--yes', '--workdir', c.wd, '--ca', '/x'], exit: 2, message: /--ca is the CA certificate of an --endpoint, and no --endpoint was given/, fix: /Add --endpoint/ },
  { what: '--endpoint over plain http', base: 'none', args: run('--endpoint', 'http://127.0.0.1:9', '--ca', '/x'), exit: 2, message: /must be an https:\/\/ URL/, fix: /Use the endpoint that `acr-trust sim serve` prints/ },
  { what: '--ca that does not exist', base: 'none', args: run('--endpoint', 'https://127.0.0.1:9', '--ca', '/nonexistent/ca.pem'), exit: 2, message: /cannot read the CA certificate \/nonexistent\/ca\.pem \(ENOENT\)/, fix: /Pass the caCertFile/ },
  { what: '--pause with --json', base: 'progress', args: run('--pause', '--json'), exit: 2, message: /--pause waits for Enter before each step, so it needs a terminal/, fix: /Drop --pause/ },
  { what: '--json without --yes', base: 'progress', args: (c) => ['run', '--target', 'sim', '--json', '--workdir', c.wd], exit: 2, message: /--json asks no questions, and --yes was not given/, fix: /--yes.*--answers FILE/ },
  { what: 'no --yes and no terminal', base: 'progress', args: (c) => ['run', '--target', 'sim', '--workdir', c.wd], exit: 2, message: /no terminal to ask questions in, and --yes was not given/, fix: /--answers FILE/ },
  { what: 'an unknown option', base: 'progress', args: run('--registy', 'x'), exit: 2, message: /unknown option '--registy'/, fix: HELP },
  { what: 'another scenario than the workdir\'s cloud', base: 'progress', args: run('--sim-scenario', 'abac'), exit: 2, message: /seeded with scenario default, not abac/, fix: /Drop --sim-scenario to continue that cloud, or use another --workdir/ },
  { what: 'other answers than the workdir\'s workflow', base: 'progress', args: run('--task', 'another-task'), exit: 2, message: /holds a workflow for other answers \(task acr-trust-task, now another-task\)/, fix: /Use another --workdir for these answers, or first run `acr-trust reset --yes`/ },

  // task files
  { what: 'task file that does not exist', base: 'progress', args: run('--task-file', '/nonexistent/task.yaml'), exit: 2, message: /is not a valid task file: the file does not exist/, fix: FIX_FLAG('--task-file', 'taskFile') },
  { what: 'task file that is not valid YAML', base: 'fresh', args: (c) => run('--task-file', c.file('task.yaml', 'version: v1.1.0\nsteps:\n  - build: [unclosed\n'))(c), exit: 2, message: /The task file .* is not valid YAML/, fix: TASK_FILE_FIX },
  { what: 'task file without steps', base: 'fresh', args: (c) => run('--task-file', c.file('task.yaml', 'version: v1.1.0\n'))(c), exit: 2, message: /is not an ACR task: it needs a non-empty `steps:` list/, fix: TASK_FILE_FIX },
  { what: 'task file that is a folder', base: 'fresh', args: (c) => run('--task-file', c.dir)(c), exit: 2, message: /Cannot read the task file .*: EISDIR/, fix: TASK_FILE_FIX },

  // the cloud refuses (exit 1): nothing changed
  { what: 'a registry that does not exist', base: 'fresh', args: run('--registry', 'nosuchregistry1'), exit: 1, message: /stopped at preflight \(blocked\): Registry nosuchregistry1 was not found in resource group acr-trust-demo/, fix: /Registries in resource group acr-trust-demo: acrtrustdemo\. Fix --registry/ },
  { what: 'a target registry that does not exist', base: 'fresh', args: run('--target-registry', 'nosuchtarget1'), exit: 1, message: /Registry nosuchtarget1 was not found/, fix: /Registries in resource group acr-trust-demo: acrtrustdemo\. Fix --target-registry/ },
  { what: 'a resource group that does not exist', base: 'fresh', args: run('--resource-group', 'no-such-group'), exit: 1, message: /Resource group no-such-group was not found in subscription/, fix: /az group list/ },
  { what: 'a subscription that does not exist', base: 'fresh', args: run('--subscription', '00000000-1111-2222-3333-444444444444'), exit: 1, message: /Subscription 00000000-1111-2222-3333-444444444444 was not found, or you have no access to it/, fix: /az account list/ },
  { what: 'a registry that is not Premium', base: 'basic-sku', args: run(), exit: 1, message: /Registry acrtrustdemo is Basic: network rules and disabling public access need the Premium SKU/, fix: /az acr update -n acrtrustdemo --sku Premium/ },
  { what: 'no permission to assign roles', base: 'no-role-write', args: run(), exit: 1, message: /You may not create role assignments on registry acrtrustdemo/, fix: /Owner, User Access Administrator/ },
  { what: 'only Reader on the registry', base: 'read-only', args: run(), exit: 1, message: /You may not change registry acrtrustdemo: your roles do not grant Microsoft.ContainerRegistry\/registries\/tasks\/write/, fix: /Ask for Contributor/ },
  { what: 'only Reader, starting past preflight', base: 'read-only', args: run('--from', 'create-task'), exit: 1, message: /Could not create task acr-trust-task .*AuthorizationFailed/, fix: /./ },
  { what: 'a task with a user-assigned identity only', base: 'user-assigned-task', args: run('--task', 'uami-task'), exit: 1, message: /Task uami-task has only a user-assigned identity; only a task's system-assigned identity may bypass/, fix: /az acr task identity assign -n uami-task/ },

  // a workdir that cannot be written
  { what: 'a workdir under a regular file', base: 'none', args: (c) => ['run', '--target', 'sim', '--yes', '--workdir', join(c.file('plain-file', 'x'), 'wd')], exit: 2, message: /cannot (create|use) the workdir/i, fix: /--workdir/ },
  { what: 'a workdir that is a regular file', base: 'none', args: (c) => ['run', '--target', 'sim', '--yes', '--workdir', c.file('plain-file', 'x')], exit: 2, message: /cannot (create|use) the workdir/i, fix: /--workdir/ },
  // sysfs refuses new files even to root (EACCES; EROFS where /sys is mounted read-only)
  { what: 'a workdir the user may not write in', base: 'none', args: () => ['run', '--target', 'sim', '--yes', '--workdir', '/sys/kernel'], exit: 2, message: /cannot use the workdir \/sys\/kernel: (permission denied \(EACCES\)|the file system is read-only \(EROFS\))/, fix: /--workdir/ },
  { what: 'a workdir under /proc', base: 'none', args: () => ['run', '--target', 'sim', '--yes', '--workdir', '/proc/acr-trust-wd'], exit: 2, message: /cannot (create|use) the workdir/i, fix: /--workdir/, timeoutMs: 30_000 },
];

/** Nested YAML aliases that would expand to 10^9 strings: the yaml library refuses to expand them. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\nregistry: *a8\n`;
}

interface Outcome {
  c: BadInput;
  r: Result;
  handled: boolean;
  why: string[];
}

async function runCase(c: BadInput): Promise<Outcome> {
  const dir = tempDir('acr-trust-bad-');
  const wd = join(dir, 'wd');
  if (c.base !== 'none') cpSync(bases[c.base], wd, { recursive: true });
  else mkdirSync(wd);
  const files = join(dir, 'files');
  mkdirSync(files);
  const ctx: Ctx = {
    wd,
    dir: files,
    file(name, text) {
      const f = join(files, name);
      writeFileSync(f, text);
      return f;
    },
  };
  c.setup?.(ctx);
  const args = c.args(ctx);
  const before = snapshot(wd);
  const r = await runBounded(args, c.env, c.timeoutMs ?? 60_000);
  const after = snapshot(wd);
  const [first = '', ...rest] = r.stderr.split('\n');
  const why: string[] = [];
  if (r.status !== c.exit) why.push(`exit ${r.status}, expected ${c.exit}`);
  if (hasStack(r.stderr)) why.push('stack trace');
  if (!c.message.test(first)) why.push(`message: ${first}`);
  if (!c.fix.test(rest.join('\n')) && !c.fix.test(first)) why.push(`no fix in: ${rest.join(' | ')}`);
  if (after.cloud !== before.cloud) why.push('the cloud changed');
  if (c.exit === 2) {
    // Nothing on stdout — but with --json, the one `error` event that says the same as stderr.
    const jsonError = args.includes('--json') && /^\{"event":"error","exitCode":2,[^\n]*\}\n$/.test(r.stdout) && r.stdout.includes(JSON.stringify(first.replace(/^acr-trust: /, '')).slice(1, -1));
    if (r.stdout !== '' && !jsonError) why.push(`stdout: ${r.stdout.slice(0, 200)}`);
    if (after.state !== before.state) why.push('state.json changed');
    if (after.answers !== before.answers) why.push('answers.yaml changed');
  } else {
    const p0 = progressOf(before.state);
    const p1 = progressOf(after.state);
    for (const [id, rec] of Object.entries(p1) as [string, any][]) {
      const was = p0[id] as any;
      if (['done', 'applied'].includes(rec.status) && !(was && ['done', 'applied'].includes(was.status))) why.push(`${id} newly recorded ${rec.status}`);
    }
  }
  return { c, r, handled: why.length === 0, why };
}

/** Runs the binary; one still running after `ms` is killed and reported (a hang is a finding, not a stuck suite). */
async function runBounded(args: string[], env: NodeJS.ProcessEnv | undefined, ms: number): Promise<Result> {
  const c = startCli(args, { env });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const first = await Promise.race([c.exit, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    c.child.kill('SIGKILL');
    await c.exit;
    return { status: null, stdout: c.lines.join('\n'), stderr: `${c.stderr}(still running after ${ms} ms: killed)` };
  }
  return { status: first.code, stdout: c.lines.map((l) => `${l}\n`).join(''), stderr: c.stderr };
}

describe.concurrent('hostile and wrong input', () => {
  beforeAll(makeBases, timeout(60_000, 600_000));

  it(`a catalogue of ${catalogue.length} bad inputs: what is wrong and how to fix it, exit 2 (1 for cloud refusals), no stack, no change`, async () => {
    // CI tries every other case (and every cloud refusal); the campaign tries them all.
    const selected = catalogue.filter((c, i) => FULL || i % 2 === 0 || c.exit === 1);
    const outcomes = await pool(selected, 6, runCase);
    const hung = outcomes.filter((o) => o.r.status === null);
    fig.catalogue = {
      cases: catalogue.length,
      tried: outcomes.length,
      handled: outcomes.filter((o) => o.handled).length,
      byExpectedExit: { 2: outcomes.filter((o) => o.c.exit === 2).length, 1: outcomes.filter((o) => o.c.exit === 1).length },
      stackTraces: outcomes.filter((o) => hasStack(o.r.stderr)).length,
      hung: hung.length,
      notHandled: outcomes.filter((o) => !o.handled).map((o) => `${o.c.what}: ${o.why.join('; ')}`),
    };
    const failures = outcomes.filter((o) => !o.handled).map((o) => `${o.c.what}: ${o.why.join('; ')}\n${o.r.stderr}`);
    expect(failures).toEqual([]);
    expect(catalogue.length).toBeGreaterThanOrEqual(30);
  }, timeout(180_000, 1_800_000));
});

// ---- generated inputs ------------------------------------------------------------------------------

const KEY_NAMES = Object.keys(KEYS) as AnswerKey[];

/** An answers file: YAML or JSON text, made of known keys, unknown keys and values of any type. */
const answersText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.dictionary(fc.oneof(fc.constantFrom(...KEY_NAMES), fc.string({ maxLength: 12 })), fc.oneof(fc.string({ maxLength: 60 }), fc.anything({ maxDepth: 2 })), { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.dictionary(fc.constantFrom(...KEY_NAMES), fc.string({ maxLength: 60 }), { maxKeys: 6 }).map((o) => Object.entries(o).map(([k, v]) => `${k}: ${v}`).join('\n')),
  fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
);

// Names as ARM defines them: valid ones must be accepted, anything else refused with exit 2.
const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split(''));
const validRegistry = fc.array(alnum, { minLength: 5, maxLength: 50 }).map((a) => a.join(''));
const validTask = fc.array(fc.oneof(alnum, fc.constantFrom('-', '_')), { minLength: 5, maxLength: 50 }).map((a) => a.join(''));
const validGroup = fc
  .array(fc.oneof(alnum, fc.constantFrom('-', '_', '.', '(', ')', 'é', 'ß', '日')), { minLength: 1, maxLength: 90 })
  .map((a) => a.join(''))
  .filter((s) => !s.endsWith('.'));
const hex = (n: number) => fc.array(fc.constantFrom(...'0123456789abcdefABCDEF'.split('')), { minLength: n, maxLength: n }).map((a) => a.join(''));
const validSubscription = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((p) => p.join('-'));
const validNames = fc.record({ registry: validRegistry, task: validTask, resourceGroup: validGroup, subscription: validSubscription });

describe.concurrent('generated inputs (fast-check)', () => {
  it('any answers file: read or refused with exit 2 and a message, never anything else', () => {
    let refused = 0;
    let read = 0;
    const runs = size(400, 4000);
    const dir = tempDir();
    let other: unknown;
    try {
      fc.assert(
        fc.property(answersText, (text) => {
          const file = join(dir, 'answers.yaml');
          writeFileSync(file, text);
          try {
            readInputs({ flags: {}, file, env: {} });
            read++;
          } catch (e) {
            if (!isAcrTrustError(e) || e.exitCode !== 2 || !e.message || !e.hint) throw e;
            refused++;
          }
        }),
        { numRuns: runs, seed: 42 },
      );
    } catch (e) {
      other = e;
    }
    fig.generatedAnswersFiles = {
      tried: runs,
      read,
      refusedWithExit2AndHint: refused,
      otherErrors: other ? 1 : 0,
    };
    if (other) throw other;
    expect(read + refused).toBe(runs);
  }, timeout(60_000, 900_000));

  it('names: every name ARM accepts is accepted; any other string is refused with exit 2 naming its flag', () => {
    const runs = size(500, 5000);
    let validAccepted = 0;
    let invalidRefused = 0;
    fc.assert(
      fc.property(validNames, (names) => {
        readInputs({ flags: { ...names, targetRegistry: names.registry }, env: {} });
        validAccepted++;
      }),
      { numRuns: runs, seed: 43 },
    );
    const rules: [AnswerKey, RegExp][] = [
      ['registry', /^[a-zA-Z0-9]{5,50}$/],
      ['task', /^[a-zA-Z0-9_-]{5,50}$/],
      ['resourceGroup', /^[-\p{L}\p{N}_.()]{1,90}$/u],
      ['subscription', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...rules), fc.string({ minLength: 1, maxLength: 100 }), ([key, rule], value) => {
        fc.pre(!rule.test(value) || (key === 'resourceGroup' && value.endsWith('.')));
        try {
          readInputs({ flags: { [key]: value }, env: {} });
        } catch (e) {
          if (isAcrTrustError(e) && e.exitCode === 2 && e.hint?.includes(KEYS[key].flag)) {
            invalidRefused++;
            return;
          }
          throw e;
        }
        throw new Error(`${key} ${JSON.stringify(value)} was accepted`);
      }),
      { numRuns: runs, seed: 44 },
    );
    fig.generatedNames = { validTried: runs, validAccepted, invalidTried: runs, invalidRefusedWithExit2: invalidRefused };
    expect(validAccepted).toBe(runs);
  }, timeout(60_000, 900_000));

  it('through the binary: generated answers files and names never print a stack, exit 0, 1 or 2, and valid names get past input checks', async () => {
    const samples = fc.sample(fc.oneof(answersText, validNames.map((n) => JSON.stringify({ ...n, target: 'sim' }))), { numRuns: size(6, 80), seed: 45 });
    const results = await pool(samples, 4, async (text) => {
      const dir = tempDir();
      const file = join(dir, 'answers.yaml');
      writeFileSync(file, text);
      const wd = join(dir, 'wd');
      const r = await cliAsync(['run', '--target', 'sim', '--yes', '--dry-run', '--answers', file, '--workdir', wd]);
      let validNamesOnly = false;
      try {
        const o = JSON.parse(text);
        validNamesOnly = o && typeof o === 'object' && ['registry', 'task', 'resourceGroup', 'subscription'].every((k) => typeof o[k] === 'string') && Object.keys(o).length === 5;
      } catch {
        /* not one of the valid-names samples */
      }
      return { text, r, validNamesOnly };
    });
    fig.generatedThroughBinary = {
      tried: results.length,
      exits: results.reduce<Record<string, number>>((acc, x) => ((acc[String(x.r.status)] = (acc[String(x.r.status)] ?? 0) + 1), acc), {}),
      stackTraces: results.filter((x) => hasStack(x.r.stderr)).length,
      validNamesPastInputChecks: results.filter((x) => x.validNamesOnly && x.r.status !== 2).length,
      validNamesTried: results.filter((x) => x.validNamesOnly).length,
    };
    for (const x of results) {
      expect([0, 1, 2], `${x.text}\n${x.r.stderr}`).toContain(x.r.status);
      expect(hasStack(x.r.stderr), x.r.stderr).toBe(false);
      if (x.validNamesOnly) expect(x.r.status, `${x.text}\n${x.r.stderr}`).not.toBe(2);
    }
  }, timeout(120_000, 1_800_000));
});
