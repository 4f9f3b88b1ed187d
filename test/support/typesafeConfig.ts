/**
 * Reads HOCON with the real Typesafe Config library (Debian's libtypesafe-config-java), the parser Jicofo and
 * the videobridge use, and returns the resolved keys as plain JSON. Fails, never skips, when java or the
 * library is missing: CI installs both.
 */
import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const TYPESAFE_CONFIG_JAR = "/usr/share/java/typesafe-config.jar";
const DUMP_SOURCE = fileURLToPath(new URL("./TypesafeConfigDump.java", import.meta.url));

export interface HoconLoadOptions {
  /** Extra environment for the JVM (the substitutions `${NAME}` read these). */
  readonly env?: Readonly<Record<string, string>>;
  /** Other files to create first, by absolute path (e.g. an included file). */
  readonly files?: Readonly<Record<string, string>>;
}

/** The error text of a failed load, without the JVM's stack trace. */
export class HoconLoadError extends Error {}

/** Loads `content` as `config.file` and resolves it; throws HoconLoadError with Typesafe Config's message. */
export async function loadHocon(content: string, options: HoconLoadOptions = {}): Promise<Record<string, unknown>> {
  if (!existsSync(TYPESAFE_CONFIG_JAR)) {
    throw new Error(`${TYPESAFE_CONFIG_JAR} is missing: install the Debian package libtypesafe-config-java`);
  }
  const dir = await mkdtemp(join(tmpdir(), "hocon-"));
  try {
    const file = join(dir, "application.conf");
    await writeFile(file, content, { mode: 0o600 });
    for (const [path, text] of Object.entries(options.files ?? {})) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text, { mode: 0o600 });
    }
    const stdout = await runJava(file, options.env ?? {});
    return JSON.parse(stdout) as Record<string, unknown>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let compiled: Promise<string> | undefined;

/**
 * Compiles the dump program once per test process: a JVM start with a compiled class takes about 0.1 s, the
 * single-file source launcher about 1 s (it compiles on every run).
 */
function compiledClassDir(): Promise<string> {
  compiled ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "typesafe-dump-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    await new Promise<void>((resolve, reject) => {
      execFile("javac", ["-cp", TYPESAFE_CONFIG_JAR, "-d", dir, DUMP_SOURCE], (error, _stdout, stderr) => {
        if (error === null) resolve();
        else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error("javac is not installed: install default-jdk-headless"));
        } else reject(new Error(`javac failed:\n${stderr}`));
      });
    });
    return dir;
  })();
  return compiled;
}

async function runJava(file: string, env: Readonly<Record<string, string>>): Promise<string> {
  const classDir = await compiledClassDir();
  return new Promise((resolve, reject) => {
    execFile(
      "java",
      ["-cp", `${TYPESAFE_CONFIG_JAR}:${classDir}`, "TypesafeConfigDump", file],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error("java is not installed: install default-jdk-headless"));
          return;
        }
        const message = stderr
          .split("\n")
          .filter((line) => line.trim() !== "" && !/^\s+at /.test(line))
          .join("\n");
        reject(new HoconLoadError(message));
      },
    );
  });
}

/** Follows a dotted path through the loaded JSON (`undefined` when any step is absent). */
export function at(config: unknown, path: string): unknown {
  let node: unknown = config;
  for (const key of path.split(".")) {
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
