import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import * as ts from 'typescript';
import { EventStreamModuleOptions } from './eventstream-options';
import { groupOf } from './option-rules';

/*
 * The options are declared once (eventstream-options.ts and the group classes
 * it names); the manual's tables and the doc comments editors show repeat
 * their names, defaults and ranges for readers. This holds them to the
 * declaration.
 */

const ROOT = join(__dirname, '../../..');
const SOURCES = [
  'src/eventstream/options/eventstream-options.ts',
  'src/eventstream/grip/grip-options.ts',
  'src/eventstream/metrics/metrics-options.ts',
  'src/eventstream/events/event-limits.ts',
];

interface DeclaredOption {
  readonly path: string;
  readonly name: string;
  readonly owner: string;
  readonly default: unknown;
  readonly required: boolean;
  /** Bounds of an integer option. */
  readonly range?: { readonly min: number; readonly max: number };
}

type OptionsClass = new () => object;

function declaredOptions(type: OptionsClass, prefix = ''): DeclaredOption[] {
  const rules = getMetadataStorage().getTargetValidationMetadatas(type, '', true, false);
  const defaults = new type() as Record<string, unknown>;
  const names = [...new Set(rules.map((rule) => rule.propertyName))];
  return names.flatMap((name) => {
    const own = rules.filter((rule) => rule.propertyName === name);
    const bound = (kind: string) =>
      own.find((rule) => rule.name === kind)?.constraints?.[0] as number | undefined;
    const min = bound('min');
    const max = bound('max');
    const option: DeclaredOption = {
      path: `${prefix}${name}`,
      name,
      owner: type.name,
      default: defaults[name],
      required: !own.some((rule) => rule.type === 'conditionalValidation'),
      range: min !== undefined && max !== undefined ? { min, max } : undefined,
    };
    const group = groupOf(type, name);
    return [option, ...(group ? declaredOptions(group, `${option.path}.`) : [])];
  });
}

const OPTIONS = declaredOptions(EventStreamModuleOptions);

const isPrimitive = (value: unknown) =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value);

/** A default as the manual and the doc comments write it. */
const written = (value: unknown) => (typeof value === 'string' ? `'${value}'` : String(value));

const rangeOf = ({ min, max }: { min: number; max: number }) =>
  max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}–${max}`;

/** The rows of the first Markdown table in `file` whose header starts with `header`. */
function tableRows(file: string, header: string): Map<string, Record<string, string>> {
  const lines = readFileSync(join(ROOT, 'docs', file), 'utf8').split('\n');
  const cells = (line: string) =>
    line
      .trim()
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
  const start = lines.findIndex((line) => line.startsWith('|') && cells(line)[0] === header);
  if (start < 0) throw new Error(`docs/${file} has no table headed ${header}`);
  const columns = cells(lines[start]);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const values = cells(line);
    const row = Object.fromEntries(columns.map((column, i) => [column, values[i] ?? '']));
    rows.set(values[0].replace(/^`|`$/g, ''), { ...row, all: line });
  }
  return rows;
}

/** Where the manual lists the options under `prefix`, by their name there. */
const TABLES: ReadonlyArray<{ prefix: string; rows: Map<string, Record<string, string>> }> = [
  { prefix: 'grip.', rows: tableRows('grip.md', '`GripOptions`') },
  { prefix: '', rows: tableRows('configuration.md', 'Option') },
];

function manualRow(path: string): Record<string, string> | undefined {
  const table = TABLES.find(({ prefix }) => path.startsWith(prefix));
  return table?.rows.get(path.slice(table.prefix.length));
}

/** The doc comment of each property of each class declared in SOURCES, by `Class.property`. */
function docComments(): Map<string, string> {
  const comments = new Map<string, string>();
  for (const file of SOURCES) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    source.forEachChild((node) => {
      if (!ts.isClassDeclaration(node) || !node.name) return;
      for (const member of node.members) {
        if (!ts.isPropertyDeclaration(member)) continue;
        const doc = (ts.getLeadingCommentRanges(text, member.getFullStart()) ?? [])
          .map((range) => text.slice(range.pos, range.end))
          .filter((comment) => comment.startsWith('/**'))
          .join('\n');
        comments.set(
          `${node.name.text}.${member.name.getText(source)}`,
          doc.replace(/\s*\*\s*/g, ' '),
        );
      }
    });
  }
  return comments;
}

describe('the declared options', () => {
  test('are found: every group, with its options', () => {
    const paths = OPTIONS.map((option) => option.path);
    for (const path of [
      'databaseUrl',
      'retention.maxAgeMs',
      'limits.maxDataBytes',
      'maxStreamsPerClient.key',
      'cors.origins',
      'grip.connectionSubscriptionMax',
      'metrics.prefix',
      'loadUser',
    ]) {
      expect(paths).toContain(path);
    }
  });
});

describe('the manual lists each option as declared', () => {
  test.each(OPTIONS.map((option) => [option.path, option]))('%s', (path, option) => {
    const row = manualRow(path);
    if (!row) throw new Error(`docs list no option ${path}`);
    if (isPrimitive(option.default))
      expect(row.Default).toContain(`\`${written(option.default)}\``);
    if (option.required) expect(row.Default).toMatch(/^—/);
    if (option.range) expect(row.all).toContain(rangeOf(option.range));
  });

  test('and no option that is not declared', () => {
    const listed = TABLES.flatMap(({ prefix, rows }) =>
      [...rows.keys()].map((name) => `${prefix}${name}`),
    );
    expect(listed.filter((path) => !OPTIONS.some((option) => option.path === path))).toEqual([]);
  });
});

describe('the doc comment of each option states its default', () => {
  const comments = docComments();

  test.each(OPTIONS.filter((option) => option.default !== undefined).map((o) => [o.path, o]))(
    '%s',
    (_, option) => {
      const comment = comments.get(`${option.owner}.${option.name}`) ?? '';
      if (isPrimitive(option.default)) {
        const value = written(option.default).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        expect(comment).toMatch(new RegExp(`Default \`?${value}\`?(?![\\d_])`));
      } else {
        expect(comment).toMatch(/\bdefault/i);
      }
    },
  );
});
