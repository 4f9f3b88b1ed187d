/**
 * jitsi-meet's own room functions as a test oracle: `parseURIString` and `getBackendSafeRoomName` from a local
 * checkout (JITSI_MEET_SRC, e.g. /work/jitsi-meet-src; never committed), bundled with esbuild at test time. Only
 * the imports unrelated to room names are stubbed (`@braintree/sanitize-url`, `./parseURLParams`); `./strings`
 * resolves to the web build's strings.web.ts, as jitsi-meet's webpack does.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";

export interface JitsiMeetRoomFunctions {
  parseURIString(uri: string): { room?: string; tenant?: string } | undefined;
  getBackendSafeRoomName(room?: string): string | undefined;
}

const STUBS: Record<string, string> = {
  "@braintree/sanitize-url": "export const sanitizeUrl = (url) => url;",
  "./parseURLParams": "export const parseURLParams = () => ({});",
};

const stubUnrelated: Plugin = {
  name: "stub-unrelated-imports",
  setup(b) {
    b.onResolve({ filter: /^(@braintree\/sanitize-url|\.\/parseURLParams)$/ }, (args) => ({ path: args.path, namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, (args) => ({ contents: STUBS[args.path] ?? "", loader: "js" }));
  },
};

/**
 * Loads the oracle from `${checkout}/react/features/base/util/uri.ts`.
 * @throws when the checkout is missing or the module no longer builds.
 */
export async function loadJitsiMeetRoomFunctions(checkout: string): Promise<JitsiMeetRoomFunctions> {
  const dir = await mkdtemp(join(tmpdir(), "jitsi-meet-oracle-"));
  try {
    const outfile = join(dir, "uri.mjs");
    await build({
      entryPoints: [join(checkout, "react/features/base/util/uri.ts")],
      bundle: true,
      format: "esm",
      platform: "node",
      outfile,
      resolveExtensions: [".web.ts", ".ts", ".js"],
      plugins: [stubUnrelated],
      logLevel: "silent",
    });
    return (await import(pathToFileURL(outfile).href)) as JitsiMeetRoomFunctions;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
