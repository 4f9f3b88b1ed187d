/**
 * Loads a `.hbs` file from templates/ and compiles it once. Values reach these templates already quoted for
 * their target language (escape/*.ts), so the engine must not add HTML escaping, and `strict` turns a missing
 * field into an error instead of an empty string.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";

// TODO(renderer core): switch to the shared instance in templates/handlebars.ts once it lands.
const engine = Handlebars.create();

export function compileTemplate<Data>(fileName: string): (data: Data) => string {
  const source = readFileSync(new URL(`../${fileName}`, import.meta.url), "utf8");
  return engine.compile<Data>(source, { noEscape: true, strict: true });
}
