// Locating files shipped with the package (bundled rules, package.json).
// The same code runs as src/rules/*.ts under vitest and as dist/rules/*.js after
// `tsc`, so instead of counting `..` we walk up to flushcheck's own package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readPackageName(manifest) === 'flushcheck') return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find flushcheck's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function readPackageName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string'
      ? parsed.name
      : undefined;
  } catch {
    return undefined;
  }
}

export function bundledRulesDir(): string {
  return join(packageRoot(), 'rules');
}

let cachedVersion: string | undefined;

/** The package's version, read once (the CLI's --version and every cache key ask for it). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  const parsed = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  cachedVersion = typeof parsed.version === 'string' ? parsed.version : '0.0.0';
  return cachedVersion;
}
