/**
 * The task acr-trust creates when the user brings none: the cross-registry example from Microsoft's
 * "cross-registry authentication" article — build a sample image from a public Git context and
 * PUSH it to the target registry, so the run exercises the target's network rules and the role.
 */
import { readFileSync } from 'node:fs';
import { usageError } from '../../src/errors.js';

export const BUILT_IN_TASK_FILE = 'acr-trust-task.yaml';
const SAMPLE_CONTEXT = 'https://github.com/Azure-Samples/acr-build-helloworld-node.git#main';

/** The built-in task's YAML lines for a target login server. `{{.Run.ID}}` is expanded by ACR. */
export function builtInTaskLines(targetLoginServer: string): string[] {
  const image = `${targetLoginServer}/acr-trust/hello:{{.Run.ID}}`;
  return ['version: v1.1.0', 'steps:', `  - build: -t ${image} -f Dockerfile ${SAMPLE_CONTEXT}`, `  - push: ["${image}"]`];
}

/** The task YAML to create: the user's file (read now) or the built-in one. */
export function taskYaml(targetLoginServer: string, taskFile?: string): string {
  if (!taskFile) return builtInTaskLines(targetLoginServer).join('\n') + '\n';
  try {
    return readFileSync(taskFile, 'utf8');
  } catch (e) {
    throw usageError(`Cannot read the task file ${taskFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`, 'Pass an existing YAML file with --task-file, or leave it out to use the built-in task.');
  }
}
