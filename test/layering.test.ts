/**
 * The layers and the direction of their dependencies, checked over every import of every source file:
 *
 *   token/shared/  (jitsi-jwt-token/shared)  names and field rules; imports nothing but itself and node: builtins
 *   token/         (jitsi-jwt-token)         imports only itself (the shared module included) and
 *                                            @hono/node-server (the Node adapter); smoke/
 *                                            also the optional peers @xmpp/client, ws, acorn and @msimerson/stun
 *   templates/     the renderer              imports only itself and jitsi-jwt-token/shared
 *   infra/         the Pulumi program        imports itself, templates/ and the token package
 *
 * Outside the token package, token code is reached only through the package's name (never `../token/x.ts`), so
 * what the deployment uses is what the package exports. Every third-party package a layer imports must be
 * declared by the package.json that ships that layer.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TOKEN_PACKAGE = "jitsi-jwt-token";

type Layer = "shared" | "token" | "templates" | "infra";

/** Which layers each layer may import, and which third-party packages (by package name). */
const RULES: Record<Layer, { layers: readonly Layer[]; packages: (file: string) => readonly string[] }> = {
  shared: { layers: ["shared"], packages: () => [] },
  token: {
    layers: ["token", "shared"],
    // The XMPP stack only for the smoke test (optional peers of the package); tsx only for the checkout launcher.
    packages: (file) => [
      // The Node adapter (toNodeHandler) is the endpoint branch's choice of library.
      "@hono/node-server",
      ...(file.startsWith("token/smoke/") ? ["@xmpp/client", "@xmpp/websocket", "@xmpp/xml", "ws", "acorn", "@msimerson/stun"] : []),
      ...(file.startsWith("token/bin/") ? ["tsx"] : []),
    ],
  },
  templates: { layers: ["templates", "shared"], packages: () => ["handlebars", "zod"] },
  infra: {
    layers: ["infra", "templates", "token", "shared"],
    packages: () => ["@pulumi/pulumi", "@pulumi/aws", "@pulumi/command", "@pulumi/random", "@pulumi/tls", "@pulumi/policy", "zod"],
  },
};

function layerOf(file: string): Layer | undefined {
  if (file.startsWith("token/shared/")) return "shared";
  if (file.startsWith("token/")) return "token";
  if (file.startsWith("templates/")) return "templates";
  if (file.startsWith("infra/")) return "infra";
  return undefined;
}

/** Every module specifier of a file: static imports, re-exports, `import type`, `import()` with a literal. */
export function specifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, fileName.endsWith(".js") ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? spec);
}

const BUILTINS = new Set(builtinModules);

/** The rule each import of `file` (a path relative to the root) breaks, empty when it keeps to its layer. */
export function violations(file: string, imports: readonly string[]): string[] {
  const layer = layerOf(file);
  if (layer === undefined) return [`${file}: not in a layer`];
  const rule = RULES[layer];
  const found: string[] = [];
  for (const spec of imports) {
    let target: Layer | undefined;
    if (spec.startsWith(".")) {
      const resolved = relative(ROOT, join(ROOT, dirname(file), spec));
      target = layerOf(resolved);
      const inToken = (path: string) => path.startsWith("token/");
      if (inToken(file) !== inToken(resolved)) {
        found.push(`${file}: ${spec} crosses the token package's boundary by path (import "${TOKEN_PACKAGE}…" instead)`);
        continue;
      }
    } else if (spec.startsWith("node:") || BUILTINS.has(spec)) {
      continue;
    } else if (spec === TOKEN_PACKAGE || spec.startsWith(`${TOKEN_PACKAGE}/`)) {
      if (layer === "token" || layer === "shared") {
        found.push(`${file}: ${spec}: the token package imports itself by relative path`);
        continue;
      }
      target = spec === `${TOKEN_PACKAGE}/shared` ? "shared" : "token";
    } else {
      if (!rule.packages(file).includes(packageName(spec))) found.push(`${file}: ${spec}: package not allowed in ${layer}/`);
      continue;
    }
    if (target === undefined || !rule.layers.includes(target)) found.push(`${file}: ${spec}: ${layer} must not depend on ${target ?? "a file outside the layers"}`);
  }
  return found;
}

function sourceFiles(): string[] {
  return ["infra", "templates", "token"].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .map((f) => `${dir}/${f}`)
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts") && !f.includes("/dist/") && !f.includes("node_modules/")),
  );
}

interface PackageJson {
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
}
const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), "utf8")) as PackageJson;

describe("layering", () => {
  const files = sourceFiles();
  const imports = new Map(files.map((f) => [f, specifiers(f, readFileSync(join(ROOT, f), "utf8"))]));

  it("every import of every source file points down the layers (shared ← token, shared ← templates ← infra → token)", () => {
    expect(files.length).toBeGreaterThan(60);
    expect(files.filter((f) => f.startsWith("token/shared/")).length).toBeGreaterThanOrEqual(3);
    expect(files.flatMap((f) => violations(f, imports.get(f) ?? []))).toEqual([]);
  });

  it("the checker catches each kind of wrong import (so a passing scan means something)", () => {
    expect(violations("templates/files/x.ts", ["../../infra/config.ts"])).toEqual([
      "templates/files/x.ts: ../../infra/config.ts: templates must not depend on infra",
    ]);
    expect(violations("templates/x.ts", ["jitsi-jwt-token"])).toEqual(["templates/x.ts: jitsi-jwt-token: templates must not depend on token"]);
    expect(violations("token/smoke/discover.ts", ["../../templates/names.ts"])).toHaveLength(1);
    expect(violations("token/shared/rules.ts", ["../keys.ts"])).toEqual(["token/shared/rules.ts: ../keys.ts: shared must not depend on token"]);
    expect(violations("token/shared/rules.ts", ["zod"])).toEqual(["token/shared/rules.ts: zod: package not allowed in shared/"]);
    expect(violations("token/mint.ts", ["@pulumi/pulumi"])).toEqual(["token/mint.ts: @pulumi/pulumi: package not allowed in token/"]);
    expect(violations("token/mint.ts", ["jose"])).toHaveLength(1);
    expect(violations("token/mint.ts", ["@xmpp/client"])).toHaveLength(1);
    expect(violations("infra/x.ts", ["../token/keys.ts"])).toHaveLength(1);
    expect(violations("infra/x.ts", ["jitsi-jwt-token", "jitsi-jwt-token/shared", "../templates/render.ts", "@pulumi/aws", "node:fs"])).toEqual([]);
  });

  it("every third-party package a layer imports is declared by the package.json that ships it", () => {
    const token = readJson("token/package.json");
    const root = readJson("package.json");
    const tokenDeclared = new Set([...Object.keys(token.dependencies ?? {}), ...Object.keys(token.peerDependencies ?? {})]);
    const rootDeclared = new Set(Object.keys(root.dependencies ?? {}));
    const undeclared: string[] = [];
    for (const [file, specs] of imports) {
      if (file.startsWith("token/bin/")) continue; // tsx: only for a checkout, never in an installed copy
      for (const spec of specs) {
        if (spec.startsWith(".") || spec.startsWith("node:") || BUILTINS.has(spec)) continue;
        const name = packageName(spec);
        // @xmpp/websocket and @xmpp/xml come with @xmpp/client.
        const declaredAs = name.startsWith("@xmpp/") ? "@xmpp/client" : name;
        const declared = file.startsWith("token/") ? tokenDeclared : rootDeclared;
        if (!declared.has(declaredAs)) undeclared.push(`${file}: ${name}`);
      }
    }
    expect(undeclared).toEqual([]);
    // The token package brings only the Node adapter's @hono/node-server (with hono, its peer); signing is
    // node:crypto. What only the smoke test needs (the XMPP stack, the config.js parser) is an optional peer.
    expect(Object.keys(token.dependencies ?? {}).sort()).toEqual(["@hono/node-server", "hono"]);
    expect(token.peerDependenciesMeta).toEqual({ "@msimerson/stun": { optional: true }, "@xmpp/client": { optional: true }, acorn: { optional: true }, ws: { optional: true } });
    expect(root.dependencies?.[TOKEN_PACKAGE]).toBe(token.version);
  });
});
