// @livecall/client: Livecall's REST API and live events, typed from the protos.
//
//   import { createLivecallClient } from "@livecall/client";
//   const livecall = createLivecallClient({ baseUrl: "http://127.0.0.1:8080", token: () => jwt });
//   const session = await livecall.startAICall({ phoneNumber: "+998901112233" });
//
// or, as the seed page does, the module-level functions after configureLivecall(...):
//
//   import { startAICall, configureTTS } from "@livecall/client";

import {
  createOperations,
  routes,
  type Call,
  type LiveEvent,
  type Operations,
  type PlaceCallRequest,
  type Session,
  type SpeechError,
  type StartSessionRequest,
  type Summary,
  type SuggestionList,
  type Turn,
} from "./generated.js";
import {
  createTransport,
  type EventStreamOptions,
  type LiveEventType,
  type RequestOptions,
  type TransportOptions,
  type ServerSentEvent,
  type LiveEventStream,
} from "./transport.js";

export * from "./generated.js";
export * from "./transport.js";
export { VoiceTokenRefresher, type VoiceTokenRefresherOptions } from "./voice_token.js";

/** The seed page's names for the two calls it makes. */
export type StartAICallParams = StartSessionRequest;
export type AICallResponse = Session;
export type ConfigureTTSParams = PlaceCallRequest;

/** A LiveEvent narrowed by its type to the payload that type carries. */
export type TypedLiveEvent =
  | (LiveEvent & { type: "call.status"; call: Call })
  | (LiveEvent & { type: "session.started"; session: Session })
  | (LiveEvent & { type: "transcript"; turn: Turn })
  | (LiveEvent & { type: "suggestions"; suggestions: SuggestionList })
  | (LiveEvent & { type: "summary"; summary: Summary })
  | (LiveEvent & { type: "speech.error"; speechError: SpeechError });

/** True when the event is one of the types above and carries its payload. */
export function isTypedLiveEvent(event: LiveEvent): event is TypedLiveEvent {
  const payloads: Record<LiveEventType, keyof LiveEvent> = {
    "call.status": "call",
    "session.started": "session",
    transcript: "turn",
    suggestions: "suggestions",
    summary: "summary",
    "speech.error": "speechError",
  };
  const field = payloads[event.type as LiveEventType];
  return field !== undefined && event[field] !== undefined;
}

export interface LivecallClient extends Operations {
  /** POST /ai/call/start: the AI session for a call (customer context, greeting, suggestions). */
  startAICall(params: StartAICallParams, options?: RequestOptions): Promise<AICallResponse>;
  /** POST /api/voip/call: place a call (speaks `text` by default). */
  configureTTS(params: ConfigureTTSParams, options?: RequestOptions): Promise<Call>;
  /** A call's live events, typed; unknown event types are skipped. */
  watchCall(callSid: string, options?: EventStreamOptions): LiveEventStream<TypedLiveEvent>;
  /** Replaces the bearer token sent with every call (null: none). */
  setToken(token: string | null): void;
}

export function createLivecallClient(options: TransportOptions = {}): LivecallClient {
  let token: string | null = null;
  const source = options.token;
  const transport = createTransport({
    ...options,
    token: () => token ?? (typeof source === "function" ? source() : source),
  });
  const operations = createOperations(transport);
  return {
    ...operations,
    startAICall: (params, requestOptions) => operations.startSession(params, requestOptions),
    configureTTS: (params, requestOptions) => operations.placeCall(params, requestOptions),
    watchCall: (callSid, streamOptions) =>
      typedEvents(operations.watchCallEvents(callSid, streamOptions)),
    setToken: (value) => {
      token = value;
    },
  };
}

function typedEvents(stream: LiveEventStream<LiveEvent>): LiveEventStream<TypedLiveEvent> {
  return {
    close: () => stream.close(),
    get lastEventId() {
      return stream.lastEventId;
    },
    async *[Symbol.asyncIterator]() {
      for await (const event of stream) {
        if (isTypedLiveEvent(event.data)) {
          yield event as ServerSentEvent<TypedLiveEvent>;
        }
      }
    },
  };
}

let defaultClient: LivecallClient = createLivecallClient();

/** Points the module-level functions at a gateway and a token (default: same origin, none). */
export function configureLivecall(options: TransportOptions): LivecallClient {
  defaultClient = createLivecallClient(options);
  return defaultClient;
}

/** The seed page's startAICall(): POST /ai/call/start. */
export function startAICall(params: StartAICallParams, options?: RequestOptions): Promise<AICallResponse> {
  return defaultClient.startAICall(params, options);
}

/** The seed page's configureTTS(): POST /api/voip/call. */
export function configureTTS(params: ConfigureTTSParams, options?: RequestOptions): Promise<Call> {
  return defaultClient.configureTTS(params, options);
}

export { routes };
