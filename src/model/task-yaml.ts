/**
 * What a task's step will do to registries, read the way ACR's runner (acb) reads it — render the
 * run variables, parse the YAML — and reduced to a short program of build / push / cmd steps
 * naming the images involved. Shared model: the sim's run decision (src/sim/rules.ts) and the
 * doctor (src/doctor/diagnose.ts) decide each registry access those steps make; the wizard checks
 * a user's task file with the same rule of shape (`taskDocumentProblem`, steps/lib/task-yaml.ts).
 *
 * Only what decides registry access is modelled. acb features that do not touch a registry
 * (`when`, `env`, `volumes`, `secrets`, `detach`, retries …) are accepted and ignored.
 *
 * Rendering follows acb: for `version` ≥ v1.1.0 the aliases (`$Registry`, `$ID` …) are expanded
 * first (`$$` is a literal `$`), then the Go-template run variables (`{{.Run.ID}}`,
 * `{{.Values.x}}`). A value Go's template engine cannot find prints as `<no value>`, as it does in
 * acb. Source: Microsoft's "ACR Tasks reference: YAML" (run variables and aliases).
 */
import { yaml } from '../files.js';
import { dockerfileBaseImages } from './dockerfile.js';

/** An image reference, normalised the way docker does (`hello` → `docker.io/library/hello:latest`). */
export interface ImageRef {
  /** The reference as written after rendering (what docker and acb print). */
  text: string;
  /** Registry host, lower-cased: `myreg.azurecr.io`, `mcr.microsoft.com`, `docker.io`. */
  registry: string;
  repository: string;
  /** The tag (`latest` when none is given and there is no digest). */
  tag: string;
  digest?: string;
  /** False when docker would refuse it ("invalid reference format"). */
  valid: boolean;
}

export type TaskStep =
  /** `bases`: the images its Dockerfile's FROM lines pull (known only when the sim has the source:
   *  an uploaded local folder); undefined when the Dockerfile is not known. */
  | { id: string; kind: 'build'; tags: ImageRef[]; args: string; bases?: ImageRef[] }
  | { id: string; kind: 'push'; images: ImageRef[] }
  | { id: string; kind: 'cmd'; image: ImageRef; args: string };

export interface TaskProgram {
  /** The YAML's `version`, when it came from YAML. */
  version?: string;
  /** Whether acb announces alias support (YAML version ≥ v1.1.0). */
  aliases: boolean;
  steps: TaskStep[];
  /** A Docker build (`az acr build`, a Docker-step task) that pushes: acb's `build` command refuses
   *  to start without at least one registry credential. */
  pushNeedsCredential?: boolean;
}

/** The run variables a task's YAML may use. */
export interface RunVariables {
  runId: string;
  /** The home registry's login server (`{{.Run.Registry}}`, `$Registry`). */
  registry: string;
  /** The home registry's name (`{{.Run.RegistryName}}`). */
  registryName: string;
  os: string;
  architecture: string;
  /** Sim ms timestamp of the run (`{{.Run.Date}}`). */
  date: number;
  /** `{{.Values.x}}`, from the step's values, its encoded values file and the run's overrides. */
  values: Record<string, string>;
  /** The run's source, when the sim has it (an uploaded local folder): its Dockerfiles and task
   *  YAML by path. Undefined for Git and remote contexts, which the sim cannot read. */
  source?: Record<string, string>;
}

export type ProgramResult = { ok: true; program: TaskProgram } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------------
// Steps as the ARM task carries them
// ---------------------------------------------------------------------------------------------

/**
 * The program a task step (wire shape: `properties.step`) runs.
 * - EncodedTask: the base64 YAML in `encodedTaskContent`.
 * - Docker: a build tagged with `imageNames` (relative to the home registry, like `az acr build`),
 *   then a push of the same names when `isPushEnabled`.
 * - FileTask: the YAML lives in the task's source context, which the sim cannot read; it is
 *   assumed to build and push `$Registry/<fallbackRepository>:<run id>` to the home registry.
 */
export function programForStep(step: any, vars: RunVariables, fallbackRepository: string): ProgramResult {
  const type = String(step?.type ?? '');
  if (type === 'EncodedTask') {
    const yamlText = decodeBase64(step.encodedTaskContent);
    if (yamlText === undefined) return { ok: false, error: 'failed to decode the task content: illegal base64 data' };
    return programForYaml(yamlText, vars);
  }
  if (type === 'Docker') return programForDockerBuild(step.imageNames ?? [], step.isPushEnabled !== false, vars, { dockerFilePath: step.dockerFilePath, arguments: step.arguments });
  if (type === 'FileTask') {
    const file = vars.source?.[normalizePath(String(step.taskFilePath ?? ''))];
    if (file !== undefined) return programForYaml(file, vars);
    const image = `${vars.registry}/${fallbackRepository.toLowerCase()}:${vars.runId}`;
    return {
      ok: true,
      program: {
        aliases: true,
        steps: [
          { id: 'acb_step_0', kind: 'build', tags: [parseImageRef(image)], args: `-t ${image} .` },
          { id: 'acb_step_1', kind: 'push', images: [parseImageRef(image)] },
        ],
      },
    };
  }
  return { ok: false, error: `unsupported step type '${type}'` };
}

/** A quick build's (`az acr build`, Docker step) program: build, then push when enabled. */
export function programForDockerBuild(imageNames: string[], push: boolean, vars: RunVariables, opts: { dockerFilePath?: string; arguments?: { name?: string; value?: string }[] } = {}): ProgramResult {
  const tags = imageNames.map((n) => parseImageRef(qualify(renderTemplates(String(n), vars), vars.registry)));
  const buildArgs: Record<string, string> = {};
  for (const a of Array.isArray(opts.arguments) ? opts.arguments : []) if (a?.name) buildArgs[a.name] = renderTemplates(String(a.value ?? ''), vars);
  const bases = basesFromSource(vars.source, '.', opts.dockerFilePath, buildArgs);
  const steps: TaskStep[] = [{ id: 'build', kind: 'build', tags, args: tags.map((t) => `-t ${t.text}`).join(' ') + ' .', ...(bases ? { bases } : {}) }];
  if (push && tags.length > 0) steps.push({ id: 'push', kind: 'push', images: tags });
  return { ok: true, program: { aliases: false, steps, ...(push && tags.length > 0 ? { pushNeedsCredential: true } : {}) } };
}

/** The kinds a task step names (acb's: build, push, cmd); a valid step names exactly one. */
export function stepKinds(step: unknown): ('build' | 'push' | 'cmd')[] {
  return step && typeof step === 'object' ? (['build', 'push', 'cmd'] as const).filter((k) => (step as Record<string, unknown>)[k] !== undefined) : [];
}

/**
 * What acb requires of a task document once rendered and parsed: a mapping with a non-empty
 * `steps` list whose entries each name exactly one of build, push or cmd. Undefined when it holds;
 * `{ steps: 'missing' }`, or `{ step }` (0-based) for the first step that does not.
 */
export function taskDocumentProblem(doc: unknown): { steps: 'missing' } | { step: number } | undefined {
  const steps = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as { steps?: unknown }).steps : undefined;
  if (!Array.isArray(steps) || steps.length === 0) return { steps: 'missing' };
  const bad = steps.findIndex((s) => stepKinds(s).length !== 1);
  return bad < 0 ? undefined : { step: bad };
}

/** Parses task YAML (acb's `version`/`steps` format) into a program. */
export function programForYaml(yamlText: string, vars: RunVariables): ProgramResult {
  const version = /^\s*version\s*:\s*['"]?([^'"\s#]+)/m.exec(yamlText)?.[1];
  const aliases = version !== undefined && compareVersions(version, 'v1.1.0') >= 0;
  const rendered = renderTemplates(aliases ? expandAliases(yamlText) : yamlText, vars);

  let doc: any;
  try {
    doc = yaml().parse(rendered);
  } catch (e) {
    return { ok: false, error: `failed to deserialize task and validate: ${firstLine((e as Error).message)}` };
  }
  const problem = taskDocumentProblem(doc);
  if (problem && 'steps' in problem) return { ok: false, error: 'failed to deserialize task and validate: the task must contain at least one step' };
  if (problem) return { ok: false, error: `failed to deserialize task and validate: step ${problem.step} must contain exactly one of build, push or cmd` };

  const steps: TaskStep[] = [];
  for (const [i, raw] of (doc.steps as unknown[]).entries()) {
    const s = (raw ?? {}) as Record<string, unknown>;
    const id = typeof s.id === 'string' && s.id ? s.id : `acb_step_${i}`;
    const kinds = stepKinds(s);
    if (kinds[0] === 'build') {
      const args = String(s.build);
      const { file, context, buildArgs } = buildOptions(args);
      const bases = basesFromSource(vars.source, context, file, buildArgs);
      steps.push({ id, kind: 'build', tags: buildTags(args).map(parseImageRef), args, ...(bases ? { bases } : {}) });
    } else if (kinds[0] === 'push') {
      const list = Array.isArray(s.push) ? s.push : [s.push];
      steps.push({ id, kind: 'push', images: list.map((x) => parseImageRef(String(x))) });
    } else {
      const args = String(s.cmd).trim();
      const space = args.indexOf(' ');
      // acb takes the image as everything up to the first space (parseImageNameFromArgs).
      steps.push({ id, kind: 'cmd', image: parseImageRef(space < 0 ? args : args.slice(0, space)), args });
    }
  }
  return { ok: true, program: { version, aliases, steps } };
}

/**
 * The values a run's templates see: the step's `values`, then its encoded values file (YAML
 * `name: value`), then the run request's override values — later ones win.
 */
export function collectValues(step: any, overrides?: { name?: string; value?: string }[]): Record<string, string> {
  const values: Record<string, string> = {};
  const encoded = decodeBase64(step?.encodedValuesContent);
  if (encoded) {
    try {
      const doc = yaml().parse(encoded);
      if (doc && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) values[k] = String(v);
    } catch {
      // A broken values file renders as missing values, which is what acb's template engine shows.
    }
  }
  for (const list of [step?.values, overrides]) {
    for (const v of Array.isArray(list) ? list : []) if (v?.name) values[v.name] = String(v.value ?? '');
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/** acb's default aliases (v1.1.0): `$Name` stands for a run variable. */
const ALIASES: Record<string, string> = {
  ID: '{{.Run.ID}}',
  Registry: '{{.Run.Registry}}',
  RegistryName: '{{.Run.RegistryName}}',
  Date: '{{.Run.Date}}',
  OS: '{{.Run.OS}}',
  Architecture: '{{.Run.Architecture}}',
};

export function expandAliases(text: string): string {
  return text.replace(/\$\$|\$([A-Za-z][A-Za-z0-9_]*)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && ALIASES[name] !== undefined ? ALIASES[name]! : whole;
  });
}

export function renderTemplates(text: string, vars: RunVariables): string {
  return text.replace(/\{\{\s*\.(Run|Values)\.([A-Za-z0-9_]+)\s*\}\}/g, (_m, scope: string, name: string) => {
    if (scope === 'Values') return vars.values[name] ?? '<no value>';
    const run: Record<string, string> = {
      ID: vars.runId,
      Registry: vars.registry,
      RegistryName: vars.registryName,
      Date: goDate(vars.date),
      OS: vars.os.toLowerCase(),
      Architecture: vars.architecture.toLowerCase(),
    };
    return run[name] ?? '<no value>';
  });
}

/** acb's `{{.Run.Date}}`: UTC `20060102-150405z`. */
function goDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}z`;
}

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

const REPO_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${REPO_COMPONENT}(?:/${REPO_COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^[a-z0-9.-]+(?::\d+)?$/;

/** Parses and normalises an image reference as docker does. */
export function parseImageRef(input: string): ImageRef {
  const text = input.trim();
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let registry = 'docker.io';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // docker's rule: the first component is a registry host when it looks like one.
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first.toLowerCase();
      rest = rest.slice(slash + 1);
    }
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let repository = rest;
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  const valid =
    REPOSITORY.test(repository) && TAG.test(tag) && HOST.test(registry) && (digest === undefined || DIGEST.test(digest));
  return { text, registry, repository, tag, ...(digest ? { digest } : {}), valid };
}

/** The name docker prints for a reference with its implied tag (`hello` → `hello:latest`). */
export function withTag(ref: ImageRef): string {
  if (ref.digest) return ref.text;
  const lastSegment = ref.text.slice(ref.text.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? ref.text : `${ref.text}:latest`;
}

/** The reference without its tag or digest (what `docker push` names in some messages). */
export function withoutTag(ref: ImageRef): string {
  const noDigest = ref.text.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

/** `az acr build` image names are relative to the registry unless they name one. */
function qualify(name: string, loginServer: string): string {
  const first = name.split('/')[0]!;
  const namesRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return namesRegistry ? name : `${loginServer}/${name}`;
}

/** `-f`, `--build-arg K=V` and the context (the last positional word) of a `docker build` argument string. */
export function buildOptions(args: string): { file?: string; context: string; buildArgs: Record<string, string> } {
  const words = shellWords(args);
  const buildArgs: Record<string, string> = {};
  let file: string | undefined;
  const positional: string[] = [];
  const WITH_VALUE = new Set(['-t', '--tag', '-f', '--file', '--build-arg', '--target', '--platform', '--label', '--network', '--cache-from', '-m', '--memory', '--add-host', '--secret', '--ssh']);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.indexOf('=');
    const [flag, inline] = w.startsWith('--') && eq > 0 ? [w.slice(0, eq), w.slice(eq + 1)] : [w, undefined];
    if (WITH_VALUE.has(flag)) {
      const value = inline ?? words[++i] ?? '';
      if (flag === '-f' || flag === '--file') file = value;
      if (flag === '--build-arg') {
        const e = value.indexOf('=');
        if (e > 0) buildArgs[value.slice(0, e)] = value.slice(e + 1);
      }
    } else if (w.startsWith('-f') && w.length > 2 && !w.startsWith('--')) file = w.slice(2);
    else if (!w.startsWith('-')) positional.push(w);
  }
  return { file, context: positional.at(-1) ?? '.', buildArgs };
}

/**
 * The images a Dockerfile's FROM lines pull (src/model/dockerfile.ts: Docker's substitution of
 * global `ARG`s and build args; earlier stages and `scratch` skipped). Undefined when the source or the
 * Dockerfile is not known (a Git or remote context).
 */
export function basesFromSource(source: Record<string, string> | undefined, context: string, file: string | undefined, buildArgs: Record<string, string>): ImageRef[] | undefined {
  if (!source || /^[a-z]+:\/\//i.test(context) || /\.git(#|$)/i.test(context)) return undefined;
  const dir = normalizePath(context);
  const path = normalizePath(file ? (dir ? `${dir}/${file}` : file) : dir ? `${dir}/Dockerfile` : 'Dockerfile');
  const text = source[path] ?? Object.entries(source).find(([k]) => k.toLowerCase() === path.toLowerCase())?.[1];
  return text === undefined ? undefined : dockerfileBases(text, buildArgs);
}

export function dockerfileBases(dockerfile: string, buildArgs: Record<string, string>): ImageRef[] {
  return dockerfileBaseImages(dockerfile, buildArgs).map(parseImageRef);
}

/** `./a/../b/Dockerfile` → `b/Dockerfile`; `.` → ``. */
function normalizePath(p: string): string {
  const out: string[] = [];
  for (const part of p.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** The `-t`/`--tag` values of a `docker build` argument string. */
export function buildTags(args: string): string[] {
  const words = shellWords(args);
  const tags: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-t' || w === '--tag') {
      if (words[i + 1] !== undefined) tags.push(words[++i]!);
    } else if (w.startsWith('--tag=')) tags.push(w.slice(6));
    else if (w.startsWith('-t=')) tags.push(w.slice(3));
    else if (w.startsWith('-t') && w.length > 2 && !w.startsWith('--')) tags.push(w.slice(2));
  }
  return tags;
}

/** Splits a command line on spaces, honouring single and double quotes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) words.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has || cur) words.push(cur);
  return words;
}

// ---------------------------------------------------------------------------------------------

function decodeBase64(s: unknown): string | undefined {
  if (typeof s !== 'string') return undefined;
  const clean = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  return Buffer.from(clean, 'base64').toString('utf8');
}

/** Compares `v1.1.0`-style versions. */
function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/i, '').split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
