/**
 * The slice of @xmpp/* (0.14, untyped JavaScript) the smoke test and its stand-in Jicofo use. Declared here rather
 * than with `any` so a wrong call is a type error.
 */
declare module "@xmpp/xml" {
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    parent: Element | null;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    is(name: string, xmlns?: string): boolean;
    toString(): string;
  }
  type Child = Element | string | null | undefined | false;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Child[]): Element;
  export class Parser {
    on(event: "start" | "element" | "end", listener: (element: Element) => void): this;
    on(event: "error", listener: (error: Error) => void): this;
    write(data: string): void;
  }
  export default xml;
}

declare module "@xmpp/client" {
  import type { Element } from "@xmpp/xml";
  export { xml } from "@xmpp/xml";
  export interface XmppClient {
    status: string;
    jid: { toString(): string; domain: string } | null;
    transports: unknown[];
    reconnect: { stop(): void };
    iqCallee: { set(ns: string, name: string, handler: (ctx: { stanza: Element }) => Promise<Element | undefined>): void };
    iqCaller: {
      set(element: Element, to?: string, timeout?: number): Promise<Element | undefined>;
      get(element: Element, to?: string, timeout?: number): Promise<Element | undefined>;
    };
    on(event: "stanza", listener: (stanza: Element) => void): void;
    on(event: "error" | "offline" | "online" | "status", listener: (...args: unknown[]) => void): void;
    removeListener(event: string, listener: (...args: never[]) => void): void;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
  }
  export function client(options: { service: string; domain?: string; resource?: string; username?: string; password?: string }): XmppClient;
}

declare module "@xmpp/websocket/lib/Connection.js" {
  export default class ConnectionWebSocket {
    Socket: unknown;
  }
}

declare module "@xmpp/websocket/lib/Socket.js" {
  export function isSecure(url: string): boolean;
  export default class Socket {
    url: string | null;
    secure: boolean;
    connect(url: string): void;
    _attachSocket(socket: unknown): void;
  }
}
