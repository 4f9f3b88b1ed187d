/**
 * The slice of @msimerson/stun (3.2, untyped CommonJS) the TURN client uses: the STUN message codec
 * (RFC 8489) with the TURN methods and attributes of RFC 8656. Declared here so a wrong call is a type error.
 */
declare module "@msimerson/stun" {
  export interface StunAttribute {
    readonly type: number;
    readonly value: unknown;
  }
  export interface StunAddress {
    readonly address: string;
    readonly port: number;
    readonly family: string;
  }
  export class StunMessage {
    readonly type: number;
    readonly transactionId: Buffer;
    getAttribute(type: number): StunAttribute | undefined;
    hasAttribute(type: number): boolean;
  }
  export class StunRequest extends StunMessage {
    addAttribute(type: number, ...values: unknown[]): StunAttribute;
    addUsername(username: string): StunAttribute;
    addRealm(realm: string): StunAttribute;
    addNonce(nonce: string): StunAttribute;
    addXorAddress(address: string, port: number): StunAttribute;
    addMessageIntegrity(key: string | Buffer): boolean;
    addFingerprint(): boolean;
    toBuffer(): Buffer;
  }
  export class StunResponse extends StunMessage {
    getXorAddress(): StunAddress | undefined;
    getError(): { readonly code: number; readonly reason: string } | undefined;
    getRealm(): string | undefined;
    getNonce(): string | undefined;
  }
  export function createMessage(type: number, transaction?: Buffer): StunRequest;
  export function decode(message: Buffer): StunResponse;
  export function validateMessageIntegrity(message: StunMessage, key: string | Buffer): boolean;
  export const constants: Readonly<Record<string, number>>;
  const stun: {
    createMessage: typeof createMessage;
    decode: typeof decode;
    validateMessageIntegrity: typeof validateMessageIntegrity;
    constants: typeof constants;
  };
  export default stun;
}
