/**
 * What commands print: a table for people (cli-table3, colours from
 * picocolors only on a terminal and without NO_COLOR), or JSON for scripts
 * (`--output json`: one JSON document on stdout, bigints as strings).
 */
import Table from 'cli-table3';
import pc from 'picocolors';
import { CliError } from './errors.js';

export type OutputFormat = 'text' | 'json';

export function parseOutput(text: string): OutputFormat {
  if (text === 'text' || text === 'json') return text;
  throw new CliError('USAGE', `--output ${JSON.stringify(text)}: expected text or json`);
}

/** picocolors decides from the environment (NO_COLOR, FORCE_COLOR, a terminal). */
export const colors = pc;

/** JSON with bigints and byte arrays written as strings. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
      return v;
    },
    indent,
  );
}

/** A two-column table of `key: value` rows. */
export function kvTable(rows: readonly (readonly [string, unknown])[]): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [k, v] of rows) t.push({ [colors.bold(k)]: cell(v) });
  return t.toString();
}

/** A table with a header row. */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const t = new Table({ head: head.map((h) => colors.bold(h)), style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(cell));
  return t.toString();
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join('\n');
  return toJson(v, 0);
}

/** Prints `value` as JSON, or the text `render()` gives. */
export function emit(format: OutputFormat, value: unknown, render: () => string): void {
  process.stdout.write(`${format === 'json' ? toJson(value) : render()}\n`);
}
