/**
 * The JSONPath subset route metadata uses to name fields to redact (`redact_fields`):
 *   $            the root
 *   .name        a member (letters, digits, _ and -)
 *   ['any name'] a member with any characters ("…" works too)
 *   [3]          an array element
 *   [*] or .*    every element or member
 *   ..name       a member of that name at any depth below
 * Filters and slices are not supported; an unsupported path is a config error.
 */

export type PathStep =
  | { kind: "key"; key: string }
  | { kind: "index"; index: number }
  | { kind: "wildcard" }
  | { kind: "descend"; key: string };

export class JsonPathError extends Error {
  override name = "JsonPathError";
}

const NAME = /^[A-Za-z_][\w-]*/;

export function parseJsonPath(path: string): PathStep[] {
  if (!path.startsWith("$")) throw new JsonPathError(`${JSON.stringify(path)}: must start with $`);
  const steps: PathStep[] = [];
  let i = 1;
  const fail = (what: string): never => {
    throw new JsonPathError(`${JSON.stringify(path)}: ${what} at position ${i}`);
  };
  while (i < path.length) {
    const rest = path.slice(i);
    if (rest.startsWith("..")) {
      const m = NAME.exec(rest.slice(2));
      if (!m) fail("expected a member name after ..");
      steps.push({ kind: "descend", key: m![0] });
      i += 2 + m![0].length;
    } else if (rest.startsWith(".*")) {
      steps.push({ kind: "wildcard" });
      i += 2;
    } else if (rest.startsWith(".")) {
      const m = NAME.exec(rest.slice(1));
      if (!m) fail("expected a member name after .");
      steps.push({ kind: "key", key: m![0] });
      i += 1 + m![0].length;
    } else if (rest.startsWith("[*]")) {
      steps.push({ kind: "wildcard" });
      i += 3;
    } else if (/^\[\d+\]/.test(rest)) {
      const m = /^\[(\d+)\]/.exec(rest)!;
      steps.push({ kind: "index", index: Number(m[1]) });
      i += m[0].length;
    } else if (/^\[(['"])/.test(rest)) {
      const quote = rest[1]!;
      const end = rest.indexOf(`${quote}]`, 2);
      if (end < 0) fail("unterminated quoted member");
      steps.push({ kind: "key", key: rest.slice(2, end) });
      i += end + 2;
    } else {
      fail("unsupported syntax (use .name, ['name'], [n], [*], .* or ..name)");
    }
  }
  if (steps.length === 0)
    throw new JsonPathError(
      `${JSON.stringify(path)}: names no field (the whole body cannot be redacted this way)`,
    );
  return steps;
}

type Container = Record<string, unknown> | unknown[];

const isContainer = (v: unknown): v is Container => typeof v === "object" && v !== null;

/** Children of a container as [key, value] pairs (array indices as numbers). */
function children(node: Container): Array<[string | number, unknown]> {
  return Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
}

function set(node: Container, key: string | number, value: unknown): void {
  (node as Record<string | number, unknown>)[key] = value;
}

/** Replace every value the path selects with `replacement`, in place; returns how many were replaced. */
export function redactPath(root: unknown, steps: readonly PathStep[], replacement: unknown): number {
  let count = 0;
  const visit = (node: unknown, i: number): void => {
    if (!isContainer(node)) return;
    const step = steps[i]!;
    const last = i === steps.length - 1;
    const hit = (key: string | number, child: unknown) => {
      if (last) {
        set(node, key, replacement);
        count++;
      } else visit(child, i + 1);
    };
    if (step.kind === "key") {
      if (!Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, step.key))
        hit(step.key, node[step.key]);
    } else if (step.kind === "index") {
      if (Array.isArray(node) && step.index < node.length) hit(step.index, node[step.index]);
    } else if (step.kind === "wildcard") {
      for (const [k, v] of children(node)) hit(k, v);
    } else {
      // ..key: the member at this level, and at every level below.
      if (!Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, step.key))
        hit(step.key, node[step.key]);
      for (const [, v] of children(node)) visit(v, i);
    }
  };
  visit(root, 0);
  return count;
}
