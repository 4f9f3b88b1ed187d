/**
 * The local deployment the smoke tests run against: the project's rendered Prosody host config on the real
 * `prosody` (test/support/prosody.ts), the rendered nginx site and config.js on the real nginx with a test
 * certificate (test/support/nginx.ts), and the stand-in Jicofo (test/support/fakeJicofo.ts). `jitsiPlugins` loads Jitsi's
 * real Prosody plugins (opt-in e2e); without it stock Prosody runs with the token-required stand-in auth.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Deployment } from "../../../templates/deployment.ts";
import { renderMeetConfigJs } from "../../../templates/files/configJs.ts";
import type { TokenSigningConfig } from "../../../token/options.ts";
import type { SmokeOptions } from "../../../token/smoke/index.ts";
import { ACCOUNTS, xmppNames } from "jitsi-jwt-token/shared";
import { componentConfig, startFakeJicofo, type FakeJicofo, type FakeJicofoOptions, type FakeJicofoTransport } from "../../support/fakeJicofo.ts";
import { nginxTestRuntime, startNginx, type RunningNginx } from "../../support/nginx.ts";
import { freePort } from "../../support/ports.ts";
import { PROSODY_TEST_DEPLOYMENT, standInAnonymousAuth, startProsody, type RunningProsody } from "../../support/prosody.ts";

const STAND_IN_AUTH = "smoke_token_required";

export interface SmokeStack {
  prosody: RunningProsody;
  nginx: RunningNginx;
  jicofo: FakeJicofo;
  /** https://meet.example.test:<port> */
  url: string;
  /** Options that reach this stack: DNS pin to 127.0.0.1 and the test certificate as CA. */
  reach: Pick<SmokeOptions, "url" | "ca" | "resolve">;
  signing: TokenSigningConfig;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Jitsi's prosody-plugins directory (e2e); default: stock Prosody. */
  jitsiPlugins?: string;
  jicofo?: Pick<FakeJicofoOptions, "openRoomsFor" | "autoOwner">;
  guests?: boolean;
  /** Edits the rendered config.js before nginx serves it (e.g. to break the WebSocket URL). */
  editConfigJs?: (text: string) => string;
}

export async function startSmokeStack(options: StackOptions = {}): Promise<SmokeStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const componentPort = await freePort();
    const secret = randomBytes(16).toString("hex");
    const domain = PROSODY_TEST_DEPLOYMENT.domain;
    const names = xmppNames(domain);
    let extra: string;
    if (options.jitsiPlugins === undefined) {
      // Stock Prosody: focus.<domain> becomes the stand-in component, the main host gets the stand-in auth.
      const dir = await mkdtemp(join(tmpdir(), "smoke-standin-"));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      await writeFile(join(dir, `mod_auth_${STAND_IN_AUTH}.lua`), standInAnonymousAuth({ requireToken: true }));
      // The table form returns to the global section; installer_plugin_path is one more plugin directory.
      extra = [
        `VirtualHost ${JSON.stringify(domain)} { authentication = ${JSON.stringify(STAND_IN_AUTH)} }`,
        `installer_plugin_path = ${JSON.stringify(dir)}`,
        componentConfig({ componentDomain: names.focus, port: componentPort, secret }),
      ].join("\n");
    } else {
      extra = "";
    }
    const prosody = await startProsody({
      ...(options.jitsiPlugins === undefined ? {} : { pluginsDir: options.jitsiPlugins }),
      extraConfig: extra,
      deployment: { guests: options.guests ?? true },
      logLevel: "info",
    });
    cleanups.push(() => prosody.stop());
    let transport: FakeJicofoTransport;
    if (options.jitsiPlugins === undefined) {
      transport = { kind: "component", port: componentPort, secret };
    } else {
      // Jicofo's account, as the Debian package creates it (test password from the test deployment).
      const password = prosody.deployment.accounts.focusPassword;
      const registered = await prosody.prosodyctl(["register", ACCOUNTS.focus, names.auth, password]);
      if (registered.code !== 0) throw new Error(`prosodyctl register failed: ${registered.output}`);
      transport = { kind: "client", port: prosody.ports.c2s, authDomain: names.auth, username: ACCOUNTS.focus, password };
    }
    const jicofo = await startFakeJicofo({ transport, componentDomain: names.focus, mainDomain: domain, ...options.jicofo });
    cleanups.push(() => jicofo.stop());
    const runtime = await nginxTestRuntime();
    cleanups.push(() => rm(runtime.rootDir, { recursive: true, force: true }));
    const site: Deployment = { ...prosody.deployment, runtime: { ...runtime, prosodyHttpPort: prosody.ports.http } };
    const configJs = renderMeetConfigJs(site);
    await mkdir(dirname(configJs.path), { recursive: true });
    await writeFile(configJs.path, options.editConfigJs ? options.editConfigJs(configJs.content) : configJs.content);
    const nginx = await startNginx(site);
    cleanups.push(() => nginx.stop());
    const url = `https://${domain}:${nginx.httpsPort}`;
    const auth = prosody.deployment.auth;
    if (auth.algorithm !== "HS256") throw new Error("the smoke stack signs with HS256");
    return {
      prosody,
      nginx,
      jicofo,
      url,
      reach: { url, ca: nginx.certificatePem, resolve: { [domain]: "127.0.0.1" } },
      signing: { appId: auth.appId, secret: auth.appSecret, domain },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
