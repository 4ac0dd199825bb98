/**
 * `acr-trust export`, offline: the script's lines as the Azure CLI reads them — the task file that
 * `az acr task create -f FILE --context /dev/null` turns into exactly the YAML the wizard sends,
 * preflight reads that succeed before anything exists, the role command with its Debian fallback,
 * a negative test that does not stop `set -e` — and how `--explain` shows the script's notes.
 * test/az/export-script.test.ts runs the script itself with the real `az` against the sim.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { script } from '../../src/cli/commands/export.js';
import { explainStep } from '../../src/cli/explain.js';
import { completeAnswers, simDefaults, workflowAnswers, type Inputs } from '../../src/engine/answers.js';
import { stepById, timings, type World } from '../../steps/index.js';
import { taskYaml } from '../../steps/lib/task-yaml.js';
import { tempDir } from './helpers.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';

const SUB = '6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c';
const answersFor = (inputs: Inputs = {}) => completeAnswers({ target: 'sim', ...inputs }, simDefaults('default', SUB));

/** The lines of one step's section of the script ("# 3. assign-role: …" up to the next blank line). */
function section(text: string, id: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^# \\d+\\. ${id}: `).test(l));
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end);
}

describe('acr-trust export', () => {
  const text = script(answersFor());

  it('is a script sh can parse', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'script.sh'), text);
    expect(() => execFileSync('/bin/sh', ['-n', join(dir, 'script.sh')])).not.toThrow();
    expect(text).toMatch(/^#!\/bin\/sh\n/);
    expect(text).toContain('\nset -eu\n');
    expect(text).toContain('eval "$(acr-trust sim az-env)"');
  });

  it('writes the built-in task file without a version line: az adds it, and the result is the YAML the wizard sends', () => {
    const [note, printf, create] = section(text, 'create-task');
    expect(note).toMatch(/^# No version line: az acr task create -f FILE --context \/dev\/null puts "version: v1\.1\.0" in front/);
    expect(create).toBe('az acr task create -n acr-trust-task -r acrtrustdemo -f acr-trust-task.yaml --context /dev/null --assign-identity --auth-mode None');
    const dir = tempDir();
    execFileSync('/bin/sh', ['-c', printf!], { cwd: dir });
    const file = readFileSync(join(dir, 'acr-trust-task.yaml'), 'utf8');
    expect(file).not.toMatch(/^version:/m);
    // What azure-cli's get_yaml_template sends for -f FILE with --context /dev/null.
    const sent = `version: v1.1.0\n${file}`;
    expect(sent).toBe(taskYaml('acrtrustdemo.azurecr.io'));
    expect(parseYaml(sent.replace(/\{\{[^}]*\}\}/g, 'x'), { uniqueKeys: true })).toMatchObject({ version: 'v1.1.0', steps: [{ build: expect.any(String) }, { push: expect.any(Array) }] });
  });

  it('sends a task file of your own without its version line, through stdin', () => {
    const dir = tempDir();
    const own = join(dir, 'my task.yaml');
    writeFileSync(own, 'version: v1.1.0\nsteps:\n  - cmd: $Registry/hello-world\n');
    const [note, line] = section(script(answersFor({ taskFile: own })), 'create-task');
    expect(note).toMatch(/^# az acr task create -f FILE --context \/dev\/null puts "version: v1\.1\.0" in front of the file/);
    expect(line).toBe(`sed '/^version:/d' '${own}' | az acr task create -n acr-trust-task -r acrtrustdemo -f - --context /dev/null --assign-identity --auth-mode None`);
    const piped = execFileSync('/bin/sh', ['-c', line!.replace(/ \| az .*$/, '')], { encoding: 'utf8' });
    expect(`version: v1.1.0\n${piped}`).toBe(readFileSync(own, 'utf8'));
  });

  it('reads in preflight only what a fresh registry, a service principal and any CLI can read', () => {
    const preflight = section(text, 'preflight');
    const commands = preflight.filter((l) => !l.startsWith('#')).join('\n');
    expect(commands).not.toContain('signed-in-user');
    expect(commands).not.toContain('az role assignment');
    // `az acr task show` exits 3 while the task does not exist, which would stop `set -e`.
    expect(commands).not.toContain('az acr task show');
    expect(commands).toContain(`az acr task list -r acrtrustdemo -g acr-trust-demo --query "[?name=='acr-trust-task']`);
    expect(commands).toContain('az rest --method get --url "$(az acr show -n acrtrustdemo -g acr-trust-demo --query id -o tsv)/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"');
  });

  it("assigns the role with az role assignment create, and gives Debian's azure-cli 2.45 the same call with az rest, commented out", () => {
    const lines = section(text, 'assign-role');
    expect(lines[1]).toBe('az role assignment create --assignee-object-id "$principal" --assignee-principal-type ServicePrincipal --role AcrPush --scope "$(az acr show -n acrtrustdemo --query id -o tsv)"');
    expect(lines[2]).toMatch(/^# Debian's azure-cli 2\.45 fails above with .*'RoleAssignmentsOperations' object has no attribute 'config'.*Azure\/azure-cli#24959/);
    expect(lines[3]).toMatch(/^# az rest --method put --url "\$\(az acr show -n acrtrustdemo --query id -o tsv\)\/providers\/Microsoft\.Authorization\/roleAssignments\/\$\(cat \/proc\/sys\/kernel\/random\/uuid\)\?api-version=2022-04-01" --body /);
    expect(lines[3]).toContain(`'roleDefinitionId': '${roleDefinitionId(SUB, ROLE_GUIDS.AcrPush)}'`);
    expect(lines[3]).toContain("'principalId': '$principal', 'principalType': 'ServicePrincipal'");
    // Uncommented, the fallback is one command sh can parse.
    const dir = tempDir();
    writeFileSync(join(dir, 'fallback.sh'), lines[3]!.slice(2));
    expect(() => execFileSync('/bin/sh', ['-n', join(dir, 'fallback.sh')])).not.toThrow();
  });

  it('lets the negative test fail without stopping the script', () => {
    const lines = section(text, 'confirm-denied');
    expect(lines.at(-1)).toBe("az acr task run -n acr-trust-task -r acrtrustdemo || echo 'The run failed, as expected: denied by the network rules (see the log above).'");
    expect(section(text, 'run-task').at(-1)).toBe('az acr task run -n acr-trust-task -r acrtrustdemo');
  });
});

describe('acr-trust export for a registry with ABAC repository permissions', () => {
  it('as the workdir recorded it: the repository role for AcrPush, and the source registry identity for the task\'s own registry, with the az rest call for az 2.45', () => {
    const text = script(answersFor(), undefined, 'AbacRepositoryPermissions');
    const role = section(text, 'assign-role');
    expect(role[0]).toBe("# Registry acrtrustdemo uses ABAC repository permissions, which ignore AcrPush: the task's identity gets 'Container Registry Repository Writer' (the same rights on its repositories) instead");
    expect(role).toContain(`az role assignment create --assignee-object-id "$principal" --assignee-principal-type ServicePrincipal --role 'Container Registry Repository Writer' --scope "$(az acr show -n acrtrustdemo --query id -o tsv)"`);
    expect(role.at(-1)).toContain(`'roleDefinitionId': '${roleDefinitionId(SUB, ROLE_GUIDS.RepositoryWriter)}'`);
    const credential = section(text, 'add-credential');
    expect(credential).toContain("az acr task update -n acr-trust-task -r acrtrustdemo --source-acr-auth-id '[system]'");
    expect(credential.join('\n')).not.toContain('az acr task credential add');
    const rest = credential.at(-1)!;
    expect(rest).toBe(`# az rest --method patch --url "$(az acr task show -n acr-trust-task -r acrtrustdemo --query id -o tsv)?api-version=2025-03-01-preview" --body "{'properties': {'credentials': {'sourceRegistry': {'identity': '[system]'}}}}"`);
    const dir = tempDir();
    writeFileSync(join(dir, 'script.sh'), text);
    writeFileSync(join(dir, 'fallback.sh'), rest.slice(2));
    expect(() => execFileSync('/bin/sh', ['-n', join(dir, 'script.sh')])).not.toThrow();
    expect(() => execFileSync('/bin/sh', ['-n', join(dir, 'fallback.sh')])).not.toThrow();
  });

  it('a cross-registry target keeps its customRegistries credential; the role is still the repository one', () => {
    const text = script(answersFor({ registry: 'acrbuild', targetRegistry: 'acrtrustdemo' }), undefined, 'AbacRepositoryPermissions');
    expect(section(text, 'add-credential')).toEqual(["az acr task credential add -n acr-trust-task -r acrbuild --login-server acrtrustdemo.azurecr.io --use-identity '[system]'"]);
    expect(section(text, 'assign-role').join('\n')).toContain("--role 'Container Registry Repository Writer'");
  });

  it('without a workdir (mode unknown): the legacy lines, each with a comment saying what acr-trust does on an ABAC registry', () => {
    const text = script(answersFor());
    expect(section(text, 'assign-role').at(-1)).toBe("# On a registry with ABAC repository permissions (roleAssignmentMode AbacRepositoryPermissions) AcrPush does nothing: acr-trust assigns 'Container Registry Repository Writer' there instead");
    expect(section(text, 'add-credential')[1]).toMatch(/^# If acrtrustdemo uses ABAC repository permissions .*--source-acr-auth-id '\[system\]'/);
    // A legacy registry recorded: no such comments.
    const legacy = script(answersFor(), undefined, 'LegacyRegistryPermissions');
    expect(section(legacy, 'add-credential')).toEqual(["az acr task credential add -n acr-trust-task -r acrtrustdemo --login-server acrtrustdemo.azurecr.io --use-identity '[system]'"]);
    expect(section(legacy, 'assign-role').join('\n')).not.toContain('ABAC');
  });
});

describe('--explain shows the notes as comments', () => {
  const world: World = { answers: workflowAnswers(answersFor()), cloud: {} as World['cloud'], timing: timings.instant };

  it('wraps a note as comment lines and leaves the commented-out alternative to the script', () => {
    const lines = explainStep(stepById('assign-role')!, world);
    const notes = lines.filter((l) => l.startsWith('    # '));
    expect(notes.length).toBeGreaterThan(1);
    expect(notes.join(' ')).toContain('Azure/azure-cli#24959');
    expect(lines.some((l) => l.includes('az rest'))).toBe(true); // named in the note
    expect(lines.some((l) => l.includes('--method put'))).toBe(false);
    expect(lines.some((l) => l.startsWith('    $ #'))).toBe(false);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });
});
