/**
 * The pieces TURN over 443 needs, live on loopback: real Prosody on the rendered host file (TURN services on,
 * advertising the nginx port), real coturn on the rendered coturn file, real nginx with the rendered site and
 * stream proxy in front of both. For tests of the stream routing and the smoke test's TURN step.
 */
import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Deployment, TurnSettings } from "../../templates/deployment.ts";
import { underRoot } from "../../templates/files/hostRuntime.ts";
import { renderNginxSite } from "../../templates/files/nginx.ts";
import { renderNginxStream, TURN_HOP_SOCKET } from "../../templates/files/nginxStream.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";
import { startLoopbackCoturn, type LoopbackCoturn } from "./coturn.ts";
import { nginxTestRuntime, startNginx, type RunningNginx } from "./nginx.ts";
import { freePort } from "./ports.ts";
import { PROSODY_TEST_DEPLOYMENT, startProsody, type RunningProsody } from "./prosody.ts";

export interface TurnStack {
  readonly domain: string;
  readonly prosody: RunningProsody;
  readonly coturn: LoopbackCoturn;
  readonly nginx: RunningNginx;
  /** The site and stream deployment nginx runs (its runtime ports). */
  readonly site: Deployment;
  stop(): Promise<void>;
}

/** Starts Prosody, coturn and nginx sharing `turn`'s secret; coturn's relays are advertised as `publicIp`. */
export async function startTurnStack(turn: TurnSettings, publicIp = "198.51.100.60"): Promise<TurnStack> {
  const domain = PROSODY_TEST_DEPLOYMENT.domain;
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const runtime = { ...(await nginxTestRuntime()), siteBehindStreamPort: await freePort() };
    cleanups.push(() => rm(runtime.rootDir, { recursive: true, force: true }));
    // Prosody advertises turns on the port nginx's stream proxy listens on, as it does 443 in production.
    const prosody = await startProsody({ deployment: { turn }, runtime: { httpsPort: runtime.httpsPort } });
    cleanups.push(() => prosody.stop());
    const coturn = await startLoopbackCoturn({ domain, turn, publicIp });
    cleanups.push(() => coturn.stop());
    const site = sampleDeployment({
      domain,
      turn,
      runtime: { ...runtime, prosodyHttpPort: prosody.ports.http, turnTlsPort: coturn.tls.port },
    });
    const [stream] = renderNginxStream(site);
    // /run exists on a host; under the test root nginx must find the socket's directory too.
    await mkdir(dirname(underRoot(site, TURN_HOP_SOCKET)), { recursive: true });
    const nginx = await startNginx(site, renderNginxSite(site), { stream: stream! });
    cleanups.push(() => nginx.stop());
    return { domain, prosody, coturn, nginx, site, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
