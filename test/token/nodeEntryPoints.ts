/**
 * The token endpoint's two node:http entry points, for the tests every guarantee must hold on: the bridge
 * (toNodeHandler over createTokenHandler's Web handler) and createNodeTokenHandler (the transport-neutral core
 * without Fetch objects).
 */
import type { RequestListener } from "node:http";
import { createNodeTokenHandler, createTokenHandler, toNodeHandler, type NodeTokenHandlerOptions } from "../../token/index.ts";

export interface NodeEntryPoint {
  name: string;
  /** The endpoint for these options (createTokenHandler's plus bodyTimeoutMs) as a node:http listener. */
  build: (options: NodeTokenHandlerOptions) => RequestListener;
}

export const NODE_ENTRY_POINTS: readonly NodeEntryPoint[] = [
  {
    name: "toNodeHandler(createTokenHandler())",
    build: ({ bodyTimeoutMs, ...options }) => toNodeHandler(createTokenHandler(options), bodyTimeoutMs === undefined ? {} : { bodyTimeoutMs }),
  },
  { name: "createNodeTokenHandler()", build: (options) => createNodeTokenHandler(options) },
];
