import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

let root: string | undefined;

/** The repository root (where nest-cli.json is), the same from sources and from dist/. */
export function projectRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!existsSync(join(dir, 'nest-cli.json'))) {
    const up = dirname(dir);
    if (up === dir) return (root = process.cwd());
    dir = up;
  }
  return (root = dir);
}

/** Relative paths in configuration are taken from the repository root, not from the working directory. */
export function fromRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(projectRoot(), path);
}
