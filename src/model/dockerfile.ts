/**
 * The base images a Dockerfile pulls: what a build step's `FROM` lines name once the build's
 * variables are substituted. Shared by the simulated runner (src/sim) and the doctor.
 *
 * Parsing (line continuations, the `# escape=` directive, flags such as `--platform`, `AS name`)
 * is dockerfile-ast's, the parser behind VS Code's Dockerfile language server. Substitution follows
 * Docker's "Environment replacement" rules for the global scope that `FROM` sees
 * (https://docs.docker.com/reference/dockerfile/#environment-replacement and
 * https://docs.docker.com/reference/dockerfile/#understand-how-arg-and-from-interact):
 * - only `ARG`s declared before the first `FROM` (global ARGs) and BuildKit's automatic platform
 *   ARGs (`TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, `BUILDPLATFORM` …) are visible to `FROM`;
 * - a `--build-arg NAME=value` overrides a global ARG's default only when that ARG is declared;
 * - `$NAME`, `${NAME}`, `${NAME:-word}` (unset or empty → word), `${NAME-word}` (unset → word),
 *   `${NAME:+word}` (set and non-empty → word), `${NAME+word}` (set → word); `word` is itself
 *   substituted; `\$` is a literal dollar (with the escape character of the file).
 * ACR Tasks build for linux/amd64 unless told otherwise, which fixes the platform ARGs.
 */
import { createRequire } from 'node:module';
import type * as DockerfileAst from 'dockerfile-ast';

/** BuildKit's automatic platform ARGs for an ACR Tasks build (linux/amd64, the default `--platform`). */
const PLATFORM_ARGS: Readonly<Record<string, string>> = {
  TARGETPLATFORM: 'linux/amd64',
  TARGETOS: 'linux',
  TARGETARCH: 'amd64',
  TARGETVARIANT: '',
  BUILDPLATFORM: 'linux/amd64',
  BUILDOS: 'linux',
  BUILDARCH: 'amd64',
  BUILDVARIANT: '',
};

let parser: typeof DockerfileAst.DockerfileParser | undefined;

/** dockerfile-ast, loaded on first use (about 50 ms; most commands never read a Dockerfile). */
function dockerfileParser(): typeof DockerfileAst.DockerfileParser {
  parser ??= (createRequire(import.meta.url)('dockerfile-ast') as typeof DockerfileAst).DockerfileParser;
  return parser;
}

/**
 * The image references (as written, variables substituted) the `FROM` lines of `dockerfile`
 * pull, in order and without repeats: earlier stages (`FROM build`, `AS build`, any case) and
 * `scratch` pull nothing and are left out, as is a `FROM` whose image substitutes to nothing.
 *
 * @param dockerfile the Dockerfile's text
 * @param buildArgs the build's `--build-arg NAME=value` pairs (values as given, already rendered)
 */
export function dockerfileBaseImages(dockerfile: string, buildArgs: Readonly<Record<string, string>>): string[] {
  const df = dockerfileParser().parse(dockerfile);
  const escape = df.getEscapeCharacter();
  const scope = new Map<string, string>(Object.entries(PLATFORM_ARGS));
  const stages = new Set<string>();
  const images: string[] = [];
  let seenFrom = false;
  for (const instruction of df.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'ARG' && !seenFrom) {
      for (const property of (instruction as DockerfileAst.Arg).getProperties?.() ?? []) {
        const name = property.getName();
        const declared = property.getValue();
        const value = Object.hasOwn(buildArgs, name) ? buildArgs[name]! : declared === null ? undefined : substitute(declared, scope, escape);
        if (value === undefined) scope.delete(name);
        else scope.set(name, value);
      }
    } else if (keyword === 'FROM') {
      seenFrom = true;
      const from = instruction as DockerfileAst.From;
      const raw = from.getImage();
      const image = raw === null ? '' : substitute(raw, scope, escape).trim();
      const key = image.toLowerCase();
      if (image && key !== 'scratch' && !stages.has(key) && !images.includes(image)) images.push(image);
      const stage = from.getBuildStage();
      if (stage) stages.add(stage.toLowerCase());
    }
  }
  return images;
}

/**
 * Docker's variable substitution of `text` with the variables in `scope` (unset = absent).
 * Unknown modifiers (BuildKit's `#`, `%`, `/`, `:?`) keep the variable's plain value.
 */
export function substitute(text: string, scope: ReadonlyMap<string, string>, escape = '\\'): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === escape && text[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (ch !== '$') {
      out += ch;
      continue;
    }
    if (text[i + 1] === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      out += expandBraced(text.slice(i + 2, end), scope, escape);
      i = end;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
    if (!name) {
      out += ch;
      continue;
    }
    out += scope.get(name) ?? '';
    i += name.length;
  }
  return out;
}

/** `NAME`, `NAME:-word`, `NAME-word`, `NAME:+word`, `NAME+word` (the text inside `${…}`). */
function expandBraced(inner: string, scope: ReadonlyMap<string, string>, escape: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([\s\S]*))?$/.exec(inner);
  if (!m) {
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(inner)?.[0];
    return name ? (scope.get(name) ?? '') : '';
  }
  const [, name, modifier, word = ''] = m;
  const value = scope.get(name!);
  const isSet = value !== undefined;
  const nonEmpty = isSet && value !== '';
  switch (modifier) {
    case ':-':
      return nonEmpty ? value : substitute(word, scope, escape);
    case '-':
      return isSet ? value : substitute(word, scope, escape);
    case ':+':
      return nonEmpty ? substitute(word, scope, escape) : '';
    case '+':
      return isSet ? substitute(word, scope, escape) : '';
    default:
      return value ?? '';
  }
}

/** Index of the `}` that closes a `${` whose body starts at `from` (nested `${…}` allowed), or -1. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}
