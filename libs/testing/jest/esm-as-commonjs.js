/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS file, required by jest.config.js */
/**
 * Jest's module runtime cannot require an ES module (with --experimental-vm-modules it refuses a
 * package of "type": "module" before any transform), while node itself requires one natively
 * (require(esm), node 20.19+), as the service does. For the tests, such a dependency is
 * transpiled once to CommonJS under node_modules/.cache (rebuilt when its version changes) and
 * mapped there by moduleNameMapper. Nothing of it is committed.
 */
const { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const ts = require('typescript');

function esmAsCommonJs(rootDir, pkg) {
  const src = join(rootDir, 'node_modules', pkg);
  const { version, main = 'index.js' } = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  const out = join(rootDir, 'node_modules', '.cache', 'esm-as-commonjs', pkg);
  const stamp = join(out, '.version');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== version) {
    rmSync(out, { recursive: true, force: true });
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        const file = join(dir, name);
        if (statSync(file).isDirectory()) {
          if (name !== 'node_modules') walk(file);
          continue;
        }
        if (!name.endsWith('.js')) continue;
        const target = join(out, relative(src, file));
        mkdirSync(dirname(target), { recursive: true });
        const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
          fileName: file,
        });
        writeFileSync(target, outputText);
      }
    };
    walk(src);
    writeFileSync(join(out, 'package.json'), JSON.stringify({ name: pkg, version, type: 'commonjs', main }));
    writeFileSync(stamp, version);
  }
  return join(out, main);
}

module.exports = { esmAsCommonJs };
