/**
 * The one Handlebars instance every template compiles with. HTML escaping is off (these are configuration files,
 * not HTML: `&amp;` in a Lua string would be wrong data); each target language instead has a helper that writes
 * a value as a literal of that language — `{{lua x}}`, `{{js x}}` — so a template never pastes a raw value.
 * `strict` turns a field missing from the data into an error instead of an empty string.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { jsLiteral } from "./escape/js.ts";
import { luaLiteral } from "./escape/lua.ts";

export const handlebars = Handlebars.create();

handlebars.registerHelper("lua", (value: unknown) => luaLiteral(value));
handlebars.registerHelper("js", (value: unknown) => jsLiteral(value));

/** Loads `templates/<fileName>` and compiles it once with the shared instance. */
export function compileTemplate<Data>(fileName: string): (data: Data) => string {
  const source = readFileSync(new URL(`./${fileName}`, import.meta.url), "utf8");
  return handlebars.compile<Data>(source, { noEscape: true, strict: true });
}
