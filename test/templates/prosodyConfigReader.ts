/**
 * Reads options back out of a Prosody config file with Prosody's own parser (core.configmanager of the
 * installed prosody package, run by lua5.4 through readProsodyConfig.lua), so a test sees exactly the values
 * Prosody would. Values travel hex-encoded byte for byte: any string (quotes, line breaks, non-ASCII) compares
 * exactly.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

const READER = fileURLToPath(new URL("./readProsodyConfig.lua", import.meta.url));

export type ProsodyOptionValue = string | boolean | number | string[] | undefined;

/** Each [host, option] as Prosody reads it from `file` ("*" = global). */
export async function readProsodyOptions(
  file: string,
  queries: readonly (readonly [host: string, option: string])[],
): Promise<ProsodyOptionValue[]> {
  const { stdout } = await run("lua5.4", [READER, file, ...queries.flat()]);
  return stdout
    .trimEnd()
    .split("\n")
    .map((line) => {
      const [type, payload = ""] = line.split(" ");
      const text = (hex: string) => Buffer.from(hex, "hex").toString("utf8");
      if (type === "nil") return undefined;
      if (type === "boolean") return text(payload) === "true";
      if (type === "number") return Number(text(payload));
      if (type === "table") return payload === "" ? [] : payload.split(",").map(text);
      return text(payload);
    });
}
