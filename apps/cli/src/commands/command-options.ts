import { InvalidArgumentError } from 'commander';
import { DomainConfig } from '@app/config';

/** Shared option parsers: a bad value is commander's one-line error, before anything connects. */
export function positiveInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

export type OutputFormat = 'text' | 'json';

export function outputFormat(value: string): OutputFormat {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError(`--format is text or json, got "${value}"`);
  return value;
}

/**
 * `--system NAME` or `--all`, exactly one; checked against the configuration before anything
 * connects. Returns the systems, or the one line that says what is wrong.
 */
export function targetSystems(options: { system?: string; all?: boolean }, domain: DomainConfig): string[] | string {
  const systems = domain.sources.systems;
  if (options.system && options.all) return 'give either --system or --all, not both';
  if (options.all) return systems.filter((s) => s.connection).map((s) => s.name);
  if (!options.system) return 'name a system with --system NAME, or use --all';
  if (!systems.some((s) => s.name === options.system)) {
    return `unknown system "${options.system}"; the sources configuration has: ${systems.map((s) => s.name).join(', ')}`;
  }
  return [options.system];
}
