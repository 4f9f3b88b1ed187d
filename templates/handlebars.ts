/**
 * The one Handlebars instance every template compiles with. HTML escaping is off (these are configuration files,
 * not HTML: `&amp;` in a Lua string would be wrong data). Lua and JavaScript values go through a helper that
 * writes them as a literal of that language — `{{lua x}}`, `{{js x}}`. The HOCON, nginx and shell templates paste
 * `{{x}}` as is: their renderers (templates/files/*.ts) pass only text already written as a literal of that
 * language by templates/escape/ (hoconString, nginxString, shellQuote…) or numbers, and validate.ts has refused
 * anything else. So a raw paste is safe only through those renderers; a new template field must follow the rule.
 * `strict` turns a field missing from the data into an error instead of an empty string.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { jsLiteral } from "./escape/js.ts";
import { luaLiteral } from "./escape/lua.ts";

export const handlebars = Handlebars.create();

handlebars.registerHelper("lua", (value: unknown) => luaLiteral(value));
handlebars.registerHelper("js", (value: unknown) => jsLiteral(value));

/**
 * Loads `templates/<fileName>` and compiles it once with the shared instance.
 *
 * @param fileName - a template file next to this module, e.g. `jicofo.conf.hbs`.
 * @returns the render function; it throws when the data lacks a field the template uses (strict mode).
 */
export function compileTemplate<Data>(fileName: string): (data: Data) => string {
  const source = readFileSync(new URL(`./${fileName}`, import.meta.url), "utf8");
  return handlebars.compile<Data>(source, { noEscape: true, strict: true });
}
