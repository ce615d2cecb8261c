/**
 * `sh -c 'LIST'` as a POSIX shell runs it, for the subset people type into
 * `kubectl exec`: words with single and double quotes and backslashes, commands
 * joined by `;`, `&&` and `||`, and the builtins `echo`, `true`, `false`, `exit`,
 * `sleep`, `hostname`. Anything else is looked up in the program registry; an
 * unknown name fails as dash does: `sh: 1: foo: not found`, status 127.
 *
 * Not modelled: pipes, redirections, variables, globbing, subshells, job control
 * (a command that uses them is refused with status 2, as a syntax error would be).
 */
import type { Program, ProgramContext } from './program.ts';
import { sleep } from './program.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';

type Op = ';' | '&&' | '||';
interface Step { readonly words: string[]; readonly op: Op }

export class ShellSyntaxError extends Error {}

/** Split a command list into commands and the operators before each (the first gets ';'). */
export function parseShell(text: string): Step[] {
  const steps: Step[] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let op: Op = ';';
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = (next: Op): void => {
    endWord();
    if (words.length === 0) throw new ShellSyntaxError(`syntax error near unexpected token \`${next}'`);
    steps.push({ words, op });
    words = [];
    op = next;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError('Unterminated quoted string');
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '"\\$`'.includes(text[j + 1] as string)) j++;
        word += text[j];
      }
      if (j >= text.length) throw new ShellSyntaxError('Unterminated quoted string');
      inWord = true;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === ';' || c === '\n') {
      endWord();
      if (words.length > 0) endCommand(';');
    } else if ((c === '&' || c === '|') && text[i + 1] === c) {
      endCommand(c === '&' ? '&&' : '||');
      i++;
    } else if ('|&<>()$`*?'.includes(c)) {
      throw new ShellSyntaxError(`'${c}' is not supported by this shell (pipes, redirections, variables and globs are not modelled)`);
    } else {
      word += c;
      inWord = true;
    }
  }
  endWord();
  if (words.length > 0) steps.push({ words, op });
  else if (op !== ';') throw new ShellSyntaxError('syntax error: unexpected end of file');
  return steps;
}

export interface ShellEnv {
  readonly programs: ReadonlyMap<string, Program>;
  readonly hostname: string;
}

/** Run argv as exec would (a program, or `sh -c LIST`); the exit status. */
export async function runCommand(ctx: ProgramContext, env: ShellEnv): Promise<number> {
  const [name, ...args] = ctx.argv;
  if (name === undefined) return 0;
  if ((name === 'sh' || name === '/bin/sh' || name === 'bash' || name === '/bin/bash') && args[0] === '-c' && args[1] !== undefined) {
    let steps: Step[];
    try {
      steps = parseShell(args[1]);
    } catch (e) {
      ctx.stderr(`sh: 1: ${(e as Error).message}\n`);
      return 2;
    }
    let status = 0;
    for (const s of steps) {
      if ((s.op === '&&' && status !== 0) || (s.op === '||' && status === 0)) continue;
      const r = await runOne({ ...ctx, argv: s.words }, env, true);
      if (r.exit) return r.status;
      status = r.status;
    }
    return status;
  }
  return (await runOne(ctx, env, false)).status;
}

async function runOne(ctx: ProgramContext, env: ShellEnv, inShell: boolean): Promise<{ status: number; exit?: boolean }> {
  const [name, ...args] = ctx.argv as [string, ...string[]];
  switch (name) {
    case 'true': return { status: 0 };
    case 'false': return { status: 1 };
    case 'echo': {
      const noNewline = args[0] === '-n';
      ctx.stdout(args.slice(noNewline ? 1 : 0).join(' ') + (noNewline ? '' : '\n'));
      return { status: 0 };
    }
    case 'exit': {
      const n = args[0] === undefined ? 0 : Number(args[0]);
      return { status: Number.isInteger(n) ? n & 0xff : 2, exit: true };
    }
    case 'sleep': {
      const secs = Number(args[0]);
      if (args[0] === undefined || !Number.isFinite(secs) || secs < 0) {
        ctx.stderr(`sleep: invalid time interval '${args[0] ?? ''}'\n`);
        return { status: 1 };
      }
      await sleep(ctx.ns, Math.round(secs * SECOND));
      return { status: 0 };
    }
    case 'hostname':
      ctx.stdout(`${env.hostname}\n`);
      return { status: 0 };
    default: {
      const program = env.programs.get(name.replace(/^\/(usr\/)?s?bin\//, ''));
      if (program === undefined) {
        ctx.stderr(inShell ? `sh: 1: ${name}: not found\n` : `sh: ${name}: not found\n`);
        return { status: 127 };
      }
      return { status: await program(ctx) };
    }
  }
}
