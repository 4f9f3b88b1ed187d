import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import ts from "typescript";

const TOKEN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../token");

/** Every module specifier (static imports, re-exports, dynamic imports with a literal) in a TypeScript file. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The transitive graph of local modules reachable from an entry, and every package they import. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith(".")) queue.push(join(dirname(file), spec));
      else packages.add(spec);
    }
  }
  return { files, packages };
}

describe("the token module's import graph", () => {
  it("reaches no Pulumi package from index.ts or cli.ts", () => {
    for (const entry of ["index.ts", "cli.ts"]) {
      const { files, packages } = graph(join(TOKEN_DIR, entry));
      expect(files.size).toBeGreaterThan(10);
      expect([...packages].filter((p) => /pulumi/i.test(p))).toEqual([]);
      expect([...packages].every((p) => p.startsWith("node:") || ["jose", "zod", "tsx/esm/api", "@hono/node-server"].includes(p))).toBe(true);
    }
  });

  it("no file anywhere under token/ (smoke test included) imports Pulumi", () => {
    const files = readdirSync(TOKEN_DIR, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    expect(files.length).toBeGreaterThan(15);
    const offenders = files.filter((f) => specifiers(join(TOKEN_DIR, f)).some((spec) => /pulumi/i.test(spec)));
    expect(offenders).toEqual([]);
  });

  it("the scan does see packages (guards against a scanner that finds nothing)", () => {
    expect(graph(join(TOKEN_DIR, "index.ts")).packages).toContain("zod");
  });
});
