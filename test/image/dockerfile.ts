/**
 * A small Dockerfile reader and the rules sockeye's image must follow (STYLE.md "Dockerfile habits",
 * issue 8). There is no Docker engine here to build with, so these structural checks stand in for a
 * linter: each rule is a pure function of the parsed file and returns the problems it sees.
 */

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, … */
  readonly keyword: string;
  readonly args: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

export interface Stage {
  readonly index: number;
  readonly name: string | undefined;
  /** The base image with global ARG defaults substituted. */
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly stages: readonly Stage[];
}

/** Joins continuation lines, drops comments and blank lines, splits keyword from arguments. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === undefined)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending ??= { parts: [], line: i + 1 };
    pending.parts.push(part);
    if (continued) return;
    const joined = pending.parts.filter((p) => p !== '').join(' ');
    const match = /^(\S+)\s*(.*)$/.exec(joined);
    if (match)
      out.push({ keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '', line: pending.line });
    pending = undefined;
  });
  return out;
}

function substitute(value: string, args: ReadonlyMap<string, string>): string {
  return value.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      return args.get(braced ?? bare ?? '') ?? whole;
    },
  );
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string>();
  const stages: { index: number; name: string | undefined; image: string; instructions: Instruction[] }[] =
    [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asAt = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({
        index: stages.length,
        name: asAt >= 0 ? words[asAt + 1] : undefined,
        image: substitute(words[0] ?? '', globalArgs),
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage) {
      stage.instructions.push(ins);
    } else if (ins.keyword === 'ARG') {
      const [name, ...value] = ins.args.split('=');
      globalArgs.set(
        (name ?? '').trim(),
        value
          .join('=')
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
    }
  }
  return { globalArgs, stages };
}

/** The argv of an exec-form ENTRYPOINT/CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `COPY --from=STAGE SRC… DEST`: the stage and the sources. */
function copyFrom(ins: Instruction): { from: string | undefined; sources: string[] } {
  const words = ins.args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from, sources: paths.slice(0, -1) };
}

function stageByRef(file: Dockerfile, ref: string): Stage | undefined {
  return file.stages.find((s) => s.name === ref || String(s.index) === ref);
}

const runs = (stage: Stage, pattern: RegExp): boolean =>
  stage.instructions.some((i) => i.keyword === 'RUN' && pattern.test(i.args));

type Rule = (file: Dockerfile) => string[];

export const RULES: Readonly<Record<string, Rule>> = {
  multiStage: (file) =>
    file.stages.length >= 2 ? [] : ['not multi-stage: build and runtime share one image'],

  pinnedByDigest: (file) =>
    file.stages
      .filter((s) => !stageByRef(file, s.image) && s.image !== 'scratch')
      .filter((s) => !/@sha256:[a-f0-9]{64}$/.test(s.image))
      .map((s) => `FROM ${s.image}: base image not pinned by digest`),

  nodeLtsRuntime: (file) => {
    const image = file.stages.at(-1)?.image ?? '';
    return /^(docker\.io\/(library\/)?)?node:24([.-]|@)|\/nodejs24[-@]/.test(image)
      ? []
      : [`runtime image ${image} is not Node.js 24 LTS`];
  },

  nonRootUser: (file) => {
    const users = (file.stages.at(-1)?.instructions ?? []).filter((i) => i.keyword === 'USER');
    const user = users.at(-1)?.args.split(':')[0]?.trim();
    if (user === undefined) return ['runtime stage has no USER: it runs as root'];
    if (!/^\d+$/.test(user))
      return [`USER ${user}: use a numeric UID, so Kubernetes can verify runAsNonRoot`];
    return Number(user) === 0 ? ['USER 0 is root'] : [];
  },

  execFormEntrypoint: (file) =>
    file.stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD')
        .flatMap((i) => {
          const argv = execForm(i.args);
          if (!argv) return [`line ${i.line}: ${i.keyword} in shell form: a shell as PID 1 swallows SIGTERM`];
          return argv[0] === 'npm' ? [`line ${i.line}: ${i.keyword} runs npm, which swallows signals`] : [];
        }),
    ),

  hasEntrypoint: (file) =>
    (file.stages.at(-1)?.instructions ?? []).some((i) => i.keyword === 'ENTRYPOINT')
      ? []
      : ['runtime stage has no ENTRYPOINT'],

  noRemoteAdd: (file) =>
    file.stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.keyword === 'ADD' && /(https?:\/\/|git@|\.git\b)/.test(i.args))
        .map((i) => `line ${i.line}: ADD of a URL: unpinned, unverified download`),
    ),

  npmCiOnly: (file) =>
    file.stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.keyword === 'RUN' && /\bnpm\s+(install|i|add)\b/.test(i.args))
        .map((i) => `line ${i.line}: npm install: use npm ci with the lockfile`),
    ),

  productionDependencies: (file) => {
    const runtime = file.stages.at(-1);
    if (!runtime) return [];
    const problems: string[] = [];
    if (runs(runtime, /\bnpm\s+ci\b(?![^&;]*--omit=dev)/))
      problems.push('runtime stage runs npm ci without --omit=dev');
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map(copyFrom);
    const modules = copies.filter((c) => c.sources.some((src) => /node_modules\/?$/.test(src)));
    // A bundle carries its dependencies (esbuild's); tsc's output needs node_modules beside it.
    const bundled = copies.some(
      (c) => c.from !== undefined && c.sources.some((src) => /dist\/bundle\/?$/.test(src)),
    );
    if (modules.length === 0 && !bundled && !runs(runtime, /\bnpm\s+ci\b/))
      problems.push('runtime stage gets neither node_modules nor a bundle that carries its dependencies');
    for (const copy of modules) {
      const source = copy.from === undefined ? undefined : stageByRef(file, copy.from);
      if (!source) problems.push('runtime copies node_modules from the build context');
      else if (!runs(source, /\bnpm\s+ci\b[^&;]*--omit=dev/)) {
        problems.push(`node_modules come from stage ${copy.from}, which does not run npm ci --omit=dev`);
      }
    }
    return problems;
  },

  compiledInBuildStage: (file) => {
    const runtime = file.stages.at(-1);
    const dist = runtime?.instructions
      .filter((i) => i.keyword === 'COPY')
      .map(copyFrom)
      .find((c) => c.sources.some((src) => /dist(\/|$)/.test(src)));
    const source = dist?.from === undefined ? undefined : stageByRef(file, dist.from);
    if (!source) return ['runtime does not copy dist/ from a build stage'];
    return runs(source, /\bnpm\s+ci\b/) && runs(source, /\bnpm\s+run\s+build\b/)
      ? []
      : [`stage ${dist?.from} does not run npm ci and npm run build`];
  },
};

export function lintDockerfile(text: string): string[] {
  const file = parseDockerfile(text);
  return Object.values(RULES).flatMap((rule) => rule(file));
}

/**
 * Whether .dockerignore keeps `path` (relative, with /) out of the build context: Docker's rules, in
 * short: patterns in order, the last one matching the path or one of its parent directories wins, `!`
 * re-includes, `*` stays within one path segment and `**` spans any number of them.
 */
export function dockerIgnored(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const segments = path.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = globToRegExp(pattern);
    if (candidates.some((c) => regex.test(c))) ignored = !negated;
  }
  return ignored;
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
