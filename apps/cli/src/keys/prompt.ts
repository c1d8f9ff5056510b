/**
 * Secrets from the operator. On a terminal: a prompt on stderr with the
 * typed characters hidden. Otherwise (a pipe, a script, a test): one line of
 * standard input per answer, as Cosmos' CLI reads its passphrases, so
 * `printf 'pass\n' | synod keys add alice` works.
 */
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from '../errors.js';

export interface Prompter {
  /** A line typed without echo (a passphrase); `confirm` asks twice on a terminal. */
  secret(question: string, confirm?: boolean): Promise<string>;
  /** A line typed with echo. */
  line(question: string): Promise<string>;
}

/** Reads answers from stdin, one per line, when it is not a terminal. */
class PipePrompter implements Prompter {
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string | undefined) => void)[] = [];
  #ended = false;
  #rl: Interface | undefined;

  #start(): void {
    if (this.#rl !== undefined) return;
    this.#rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    this.#rl.on('line', (l) => {
      const w = this.#waiters.shift();
      if (w !== undefined) w(l);
      else this.#lines.push(l);
    });
    this.#rl.on('close', () => {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w(undefined);
    });
  }

  async #next(what: string): Promise<string> {
    this.#start();
    const queued = this.#lines.shift();
    const line =
      queued ??
      (this.#ended ? undefined : await new Promise<string | undefined>((r) => this.#waiters.push(r)));
    if (line === undefined)
      throw new CliError(
        'USAGE',
        `${what}: standard input ended (pipe one line per answer, or use a terminal)`,
      );
    if (this.#waiters.length === 0 && this.#lines.length === 0) this.#rl?.pause();
    return line;
  }

  secret(question: string): Promise<string> {
    return this.#next(question.replace(/:\s*$/, ''));
  }

  line(question: string): Promise<string> {
    return this.#next(question.replace(/:\s*$/, ''));
  }

  close(): void {
    this.#rl?.close();
  }
}

/** Prompts on stderr; hides what is typed for secrets. */
class TtyPrompter implements Prompter {
  async #ask(question: string, hidden: boolean): Promise<string> {
    let muted = false;
    const output = new Writable({
      write(chunk, _enc, done) {
        if (!muted) process.stderr.write(chunk);
        done();
      },
    });
    const rl = createInterface({ input: process.stdin, output, terminal: true });
    try {
      return await new Promise<string>((resolve, reject) => {
        rl.question(question, (answer) => resolve(answer));
        muted = hidden;
        rl.on('SIGINT', () => reject(new CliError('USAGE', 'interrupted')));
      });
    } finally {
      rl.close();
      if (hidden) process.stderr.write('\n');
    }
  }

  async secret(question: string, confirm = false): Promise<string> {
    const first = await this.#ask(question, true);
    if (confirm) {
      const again = await this.#ask('Repeat it: ', true);
      if (again !== first) throw new CliError('USAGE', 'the two passphrases differ');
    }
    return first;
  }

  line(question: string): Promise<string> {
    return this.#ask(question, false);
  }
}

let shared: (Prompter & { close?: () => void }) | undefined;

/** The process's prompter (terminal or pipe). */
export function prompter(): Prompter {
  shared ??= process.stdin.isTTY ? new TtyPrompter() : new PipePrompter();
  return shared;
}

/** Lets the process exit (closes the pipe reader if one was opened). */
export function closePrompter(): void {
  shared?.close?.();
}
