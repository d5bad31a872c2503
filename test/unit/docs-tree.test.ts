/**
 * README.md and docs/*.md agree with the tree: every repository path they name exists (in `code`
 * and in shell blocks), every relative link and its #anchor resolves, and the README's
 * architecture section names every folder under src/ and tools/.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Where a backticked word counts as a repository path. */
const PATH_PREFIXES = ["src/", "tools/", "test/", "proto/", "envoy/", "schema/", "scripts/", "docs/", "bin/"];

/** Folders under src/ and tools/ the architecture section need not name (data and a separate Go module). */
const UNNAMED_DIRS = ["tools/bench/results", "tools/bench/peer-extproc"];
const UNNAMED_DIR_NAMES = new Set(["migrations", "fixtures", "node_modules", "__pycache__"]);

const DOCS = [
  "README.md",
  ...fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

const read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8");
const exists = (p: string) => fs.existsSync(path.join(ROOT, p));

interface Parsed {
  /** The text outside fenced code blocks. */
  prose: string;
  /** The contents of sh/bash/shell fenced blocks: commands a reader copies. */
  shell: string;
  /** GitHub's anchors for the document's headings. */
  anchors: Set<string>;
}

function parse(md: string): Parsed {
  const prose: string[] = [];
  const shell: string[] = [];
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of md.split("\n")) {
    const open = /^\s*```(\w*)/.exec(line);
    if (open) {
      fence = fence === undefined ? open[1] || "text" : undefined;
      continue;
    }
    if (fence === undefined) {
      prose.push(line);
      const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (heading) {
        const base = slug(heading[1]!);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        anchors.add(n === 0 ? base : `${base}-${n}`);
      }
    } else if (["sh", "bash", "shell"].includes(fence)) {
      shell.push(line);
    }
  }
  return { prose: prose.join("\n"), shell: shell.join("\n"), anchors };
}

/** GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** `a/{b,c}/d` → a/b/d, a/c/d. */
function expandBraces(p: string): string[] {
  const m = /\{([^{}]*)\}/.exec(p);
  if (!m) return [p];
  return m[1]!
    .split(",")
    .flatMap((alt) => expandBraces(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length)));
}

/** Repository paths among some words: placeholders, globs and variables are skipped. */
function repoPaths(words: string): string[] {
  return words
    .split(/[\s=("'`]+/)
    .map((w) => w.replace(/[),;:.]+$/, ""))
    .filter((w) => PATH_PREFIXES.some((prefix) => w.startsWith(prefix)))
    .filter((w) => !/[<>*?$…]|\.\.\./.test(w))
    .flatMap(expandBraces)
    .map((w) => w.replace(/#.*$/, "").replace(/\/+$/, ""));
}

/** The repository paths a stretch of markdown names in `code` spans. */
function codePaths(prose: string): string[] {
  return [...prose.matchAll(/`([^`\n]+)`/g)].flatMap((m) => repoPaths(m[1]!));
}

/** Directories under `dir` that hold at least one file (git keeps no empty folder). */
function sourceDirs(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): boolean => {
    let hasFile = false;
    const below: string[] = [];
    for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isFile()) hasFile = true;
      else if (entry.isDirectory() && !UNNAMED_DIR_NAMES.has(entry.name) && !UNNAMED_DIRS.includes(child)) {
        if (walk(child)) {
          hasFile = true;
          below.push(child);
        }
      }
    }
    out.push(...below);
    return hasFile;
  };
  if (walk(dir)) out.push(dir);
  return out.sort();
}

describe("README and docs agree with the tree", () => {
  const parsed = new Map(DOCS.map((doc) => [doc, parse(read(doc))]));

  it("finds the docs and the paths they name", () => {
    expect(DOCS).toContain("docs/benchmarks.md");
    expect(codePaths(parsed.get("README.md")!.prose)).toContain("src/core/capture");
  });

  it.each(DOCS)("every repository path %s names exists", (doc) => {
    const { prose, shell } = parsed.get(doc)!;
    const missing = [...new Set([...codePaths(prose), ...repoPaths(shell)])].filter((p) => !exists(p));
    expect(missing, `${doc} names paths that do not exist`).toEqual([]);
  });

  it.each(DOCS)("every relative link in %s resolves, anchor included", (doc) => {
    const { prose } = parsed.get(doc)!;
    const broken: string[] = [];
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // http:, mailto:
      const [file, anchor] = target!.split("#") as [string, string | undefined];
      const resolved = file ? path.posix.normalize(path.posix.join(path.posix.dirname(doc), file)) : doc;
      if (!exists(resolved)) {
        broken.push(target!);
      } else if (anchor && resolved.endsWith(".md")) {
        const targetAnchors = parsed.get(resolved)?.anchors ?? parse(read(resolved)).anchors;
        if (!targetAnchors.has(anchor)) broken.push(target!);
      }
    }
    expect(broken, `${doc} links to what does not exist`).toEqual([]);
  });

  it("the README's architecture section names every folder under src/ and tools/", () => {
    const readme = parsed.get("README.md")!.prose;
    const section = /^## Architecture\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
    expect(section, "README.md has a '## Architecture' section").toBeDefined();
    const named = new Set(codePaths(section!));
    const dirs = [...sourceDirs("src"), ...sourceDirs("tools")];
    expect(dirs).toContain("src/core/capture");
    expect(dirs).toContain("tools/bench");
    const unnamed = dirs.filter((d) => !named.has(d));
    expect(unnamed, "folders the README's architecture section does not name").toEqual([]);
  });
});

describe("the checks themselves", () => {
  it("expand braces and skip placeholders and globs", () => {
    expect(codePaths("`src/adapters/{nats,s3}/` and `src/plugins/<kind>/` and `docs/*.md`")).toEqual([
      "src/adapters/nats",
      "src/adapters/s3",
    ]);
    expect(codePaths("`npx vitest run test/unit/a.test.ts test/unit/b.test.ts`")).toEqual([
      "test/unit/a.test.ts",
      "test/unit/b.test.ts",
    ]);
  });

  it("make GitHub's anchors", () => {
    expect(slug("The filter snippet (observability mode, recommended)")).toBe(
      "the-filter-snippet-observability-mode-recommended",
    );
    expect(slug("Export: batched, retried, never twice")).toBe("export-batched-retried-never-twice");
    expect(slug("`modeltap api` and the `POST` route")).toBe("modeltap-api-and-the-post-route");
  });
});
