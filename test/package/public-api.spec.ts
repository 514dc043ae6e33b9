import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { builtPath, PUBLIC_API } from './public-api';

const ROOT = join(__dirname, '..', '..');
const entries = Object.entries(PUBLIC_API);
const sorted = (names: Iterable<string>) => [...names].sort();

describe('the public API', () => {
  it.each(entries)('%s exports exactly the values listed', async (_, entry) => {
    const loaded = (await import(join(ROOT, entry.source))) as Record<string, unknown>;
    expect(sorted(Object.keys(loaded))).toEqual(sorted(entry.values));
  });

  it('exports exactly the types listed, from each entry point', () => {
    // Each entry point names what it re-exports (no `export *`), so the
    // checker lists them without reading the files they come from.
    const program = ts.createProgram(
      entries.map(([, entry]) => join(ROOT, entry.source)),
      { noResolve: true, noLib: true, types: [] },
    );
    const checker = program.getTypeChecker();
    const exported = Object.fromEntries(
      entries.map(([name, entry]) => {
        const file = program.getSourceFile(join(ROOT, entry.source));
        const module = file && checker.getSymbolAtLocation(file);
        if (!module) throw new Error(`${entry.source} is not a module`);
        return [name, sorted(checker.getExportsOfModule(module).map((s) => s.name))];
      }),
    );
    expect(exported).toEqual(
      Object.fromEntries(
        entries.map(([name, entry]) => [name, sorted([...entry.values, ...entry.types])]),
      ),
    );
  });

  it('is what package.json exports, for Node and for every TypeScript resolution', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      main: string;
      types: string;
      exports: Record<string, unknown>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    const subpath = (name: string) => name.replace(/^nestjs-eventstream/, '.');
    expect(pkg.exports).toEqual({
      ...Object.fromEntries(
        entries.map(([name, entry]) => [
          subpath(name),
          {
            types: builtPath(entry.source, '.d.ts'),
            [entry.esmOnly ? 'import' : 'default']: builtPath(entry.source, '.js'),
          },
        ]),
      ),
      './package.json': './package.json',
    });
    // TypeScript's `node10` resolution ignores `exports`: `main`, `types` and
    // `typesVersions` lead it to the same files.
    const root = PUBLIC_API['nestjs-eventstream'];
    expect(`./${pkg.main}`).toBe(builtPath(root.source, '.js'));
    expect(`./${pkg.types}`).toBe(builtPath(root.source, '.d.ts'));
    expect(pkg.typesVersions).toEqual({
      '*': Object.fromEntries(
        entries
          .filter(([name]) => name !== 'nestjs-eventstream')
          .map(([name, entry]) => [subpath(name).slice(2), [builtPath(entry.source, '.d.ts')]]),
      ),
    });
  });
});
