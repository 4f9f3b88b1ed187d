/**
 * Reads the connection settings out of a Jitsi `config.js` without executing it. The file is JavaScript from the
 * server under test (upstream builds values like `'conference.' + subdomain + 'meet.example.com'` and leaves nginx
 * SSI placeholders in `var subdir = '<!--# echo … -->'`), so it is parsed with a real JavaScript parser (acorn) and
 * only constant expressions are evaluated: string, number and template literals without substitutions, `+`,
 * names bound earlier to constants, and object literals (shorthand properties included). Nothing in it runs; a
 * call, a ternary, a substitution or an unknown name makes that value unknown. Escapes (`'meet\u002eexample.com'`)
 * and regular expression literals are the parser's business, so they read as the browser reads them.
 */
import { parse, type Expression, type Node, type Pattern, type Program, type SpreadElement } from "acorn";

export interface ConfigJsHosts {
  domain?: string;
  muc?: string;
  focus?: string;
  anonymousdomain?: string;
  websocket?: string;
  bosh?: string;
}

/** A value the evaluator knows: a string, a number, or an object of known values. `undefined`: not constant. */
type Constant = string | number | boolean | null | ConstantObject;
interface ConstantObject {
  [key: string]: Constant | undefined;
}

const isObject = (value: Constant | undefined): value is ConstantObject => typeof value === "object" && value !== null;

/**
 * An SSI directive nginx did not expand stands for the empty string: upstream's config.js replaces it by '' itself
 * (`if (subdir.startsWith('<!--')) subdir = '';`), as the web client does when nginx serves the file without SSI.
 */
function ssiFree(value: string): string {
  return value.startsWith("<!--") ? "" : value;
}

/** Evaluates `node` if it is a constant expression over `scope`; undefined otherwise. Never runs anything. */
function evaluate(node: Expression | SpreadElement | Pattern | null | undefined, scope: ConstantObject): Constant | undefined {
  if (node === null || node === undefined) return undefined;
  switch (node.type) {
    case "Literal":
      if (typeof node.value === "string") return ssiFree(node.value);
      if (typeof node.value === "number" || typeof node.value === "boolean" || node.value === null) return node.value;
      return undefined; // a regular expression or bigint: not a setting we read
    case "TemplateLiteral":
      return node.expressions.length === 0 ? (node.quasis[0]?.value.cooked ?? undefined) : undefined;
    case "Identifier":
      return Object.hasOwn(scope, node.name) ? scope[node.name] : undefined;
    case "BinaryExpression": {
      if (node.operator !== "+" || node.left.type === "PrivateIdentifier") return undefined;
      const left = evaluate(node.left, scope);
      const right = evaluate(node.right, scope);
      if (typeof left === "string" && (typeof right === "string" || typeof right === "number")) return left + String(right);
      if (typeof left === "number" && typeof right === "string") return String(left) + right;
      if (typeof left === "number" && typeof right === "number") return left + right;
      return undefined;
    }
    case "ObjectExpression": {
      const object: ConstantObject = {};
      for (const property of node.properties) {
        if (property.type !== "Property" || property.kind !== "init") continue;
        const key = property.computed ? undefined : property.key.type === "Identifier" ? property.key.name : property.key.type === "Literal" ? String(property.key.value) : undefined;
        if (key === undefined) continue;
        // `{ domain }` is `{ domain: domain }`: the parser gives the value node either way.
        object[key] = evaluate(property.value as Expression, scope);
      }
      return object;
    }
    default:
      return undefined;
  }
}

/** `a.b.c` (non-computed or string-keyed members of a name) as ["a", "b", "c"]; undefined for anything else. */
function memberPath(node: Node): string[] | undefined {
  if (node.type === "Identifier") return [(node as Node & { name: string }).name];
  if (node.type !== "MemberExpression") return undefined;
  const member = node as Node & { object: Node; property: Node & { name?: string; value?: unknown }; computed: boolean };
  const head = memberPath(member.object);
  const key = !member.computed && member.property.type === "Identifier" ? member.property.name : member.computed && typeof member.property.value === "string" ? member.property.value : undefined;
  return head === undefined || key === undefined ? undefined : [...head, key];
}

/** Sets `path` in `scope`, creating objects on the way, as the assignment would when the browser runs it. */
function assign(scope: ConstantObject, path: readonly string[], value: Constant | undefined): void {
  let target = scope;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (!isObject(next)) target[key] = {};
    target = target[key] as ConstantObject;
  }
  target[path.at(-1) as string] = value;
}

function programOf(source: string): Program {
  try {
    return parse(source, { ecmaVersion: "latest", sourceType: "script", allowHashBang: true });
  } catch (error) {
    throw new Error(`config.js is not valid JavaScript: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Extracts hosts.{domain,muc,focus,anonymousdomain}, websocket and bosh, from the object literal
 * (`var config = { hosts: { domain: '…' } }`) and from later top-level assignments
 * (`config.hosts.anonymousdomain = '…';`, as docker's generated config does). Statements are taken in order, so a
 * later assignment wins, as it would when the browser runs the file; a later non-constant one makes the value
 * unknown. Only top-level statements count: code inside functions or conditions is not followed.
 *
 * @param source - the text of config.js.
 * @returns the constant values found (absent keys: not set, or not constant).
 * @throws Error when the text is not JavaScript (the message carries the parser's line and column).
 */
export function parseConfigJs(source: string): ConfigJsHosts {
  const scope: ConstantObject = {};
  for (const statement of programOf(source).body) {
    if (statement.type === "VariableDeclaration") {
      for (const declarator of statement.declarations) {
        if (declarator.id.type === "Identifier") scope[declarator.id.name] = evaluate(declarator.init, scope);
      }
    } else if (statement.type === "ExpressionStatement" && statement.expression.type === "AssignmentExpression" && statement.expression.operator === "=") {
      const path = memberPath(statement.expression.left);
      if (path !== undefined) assign(scope, path, evaluate(statement.expression.right, scope));
    }
  }
  const config = isObject(scope.config) ? scope.config : {};
  const hosts = isObject(config.hosts) ? config.hosts : {};
  const found: ConfigJsHosts = {};
  const take = (key: keyof ConfigJsHosts, value: Constant | undefined) => {
    if (typeof value === "string") found[key] = value;
  };
  take("domain", hosts.domain);
  take("muc", hosts.muc);
  take("focus", hosts.focus);
  take("anonymousdomain", hosts.anonymousdomain);
  take("websocket", config.websocket);
  take("bosh", config.bosh);
  return found;
}
