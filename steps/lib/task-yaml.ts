/**
 * The task acr-trust creates when the user brings none: the cross-registry example from Microsoft's
 * "cross-registry authentication" article — build a sample image from a public Git context and
 * PUSH it to the target registry, so the run exercises the target's network rules and the role.
 */
import { readFileSync } from 'node:fs';
import { usageError } from '../../src/errors.js';
import { yaml } from '../../src/files.js';
import { taskDocumentProblem } from '../../src/model/task-yaml.js';

export const BUILT_IN_TASK_FILE = 'acr-trust-task.yaml';
const SAMPLE_CONTEXT = 'https://github.com/Azure-Samples/acr-build-helloworld-node.git#main';

/** The task YAML version the built-in task declares — the one `az acr task create --context /dev/null` adds itself. */
export const TASK_YAML_VERSION_LINE = 'version: v1.1.0';

/**
 * The built-in task's YAML lines for a target login server. `{{.Run.ID}}` is expanded by ACR.
 * `version: false` leaves out the version line, for a file given to `az acr task create -f FILE
 * --context /dev/null`: the CLI puts `version: v1.1.0` in front of the file itself, and a second
 * one would be a duplicate key that ACR's runner refuses.
 */
export function builtInTaskLines(targetLoginServer: string, { version = true }: { version?: boolean } = {}): string[] {
  const image = `${targetLoginServer}/acr-trust/hello:{{.Run.ID}}`;
  return [...(version ? [TASK_YAML_VERSION_LINE] : []), 'steps:', `  - build: -t ${image} -f Dockerfile ${SAMPLE_CONTEXT}`, `  - push: ["${image}"]`];
}

export const TASK_FILE_HINT = 'Fix the file (an ACR task file is YAML with `version:` and a list of `steps:`, each a build, push or cmd), or leave out --task-file to use the built-in task.';

/** The task YAML to create: the user's file (read and checked now) or the built-in one. */
export function taskYaml(targetLoginServer: string, taskFile?: string): string {
  if (!taskFile) return builtInTaskLines(targetLoginServer).join('\n') + '\n';
  const problem = taskFileProblem(taskFile);
  if (problem) throw usageError(problem, TASK_FILE_HINT);
  return readFileSync(taskFile, 'utf8');
}

/**
 * Why a task file cannot be a task, or undefined when it can: it must be readable, parse as YAML
 * once ACR's run variables (`{{.Run.ID}}` …) are set aside, and hold a non-empty `steps` list whose
 * entries each name exactly one of build, push or cmd — what ACR's runner checks when the task
 * runs (the model's rule: src/model/task-yaml.ts taskDocumentProblem). Checked before anything
 * changes, so a broken file costs no cloud change.
 */
export function taskFileProblem(taskFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(taskFile, 'utf8');
  } catch (e) {
    return `Cannot read the task file ${taskFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`;
  }
  let doc: unknown;
  try {
    // Go templates are rendered by ACR before the YAML is read; a placeholder keeps the shape.
    doc = yaml().parse(text.replace(/\{\{[^}]*\}\}/g, 'x'));
  } catch (e) {
    return `The task file ${taskFile} is not valid YAML: ${(e as Error).message.split('\n')[0]}`;
  }
  const problem = taskDocumentProblem(doc);
  if (problem && 'steps' in problem) return `The task file ${taskFile} is not an ACR task: it needs a non-empty \`steps:\` list.`;
  if (problem) return `The task file ${taskFile} is not an ACR task: step ${problem.step + 1} must have exactly one of build, push or cmd.`;
  return undefined;
}
