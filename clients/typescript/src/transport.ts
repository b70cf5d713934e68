// The thin runtime under the generated functions: fetch with the agent's bearer token, the one
// error shape as a typed value, and Server-Sent Events over fetch streaming (EventSource cannot
// send an Authorization header).

/** The gRPC canonical code names the gateway answers, plus its HTTP-only ones. */
export type ErrorCode =
  | "CANCELLED" | "UNKNOWN" | "INVALID_ARGUMENT" | "DEADLINE_EXCEEDED" | "NOT_FOUND"
  | "ALREADY_EXISTS" | "PERMISSION_DENIED" | "RESOURCE_EXHAUSTED" | "FAILED_PRECONDITION"
  | "ABORTED" | "OUT_OF_RANGE" | "UNIMPLEMENTED" | "INTERNAL" | "UNAVAILABLE" | "DATA_LOSS"
  | "UNAUTHENTICATED" | "METHOD_NOT_ALLOWED" | "PAYLOAD_TOO_LARGE"
  | "REQUEST_HEADER_FIELDS_TOO_LARGE" | (string & {});

/**
 * Every failure of a call: the gateway's `{error:{code,message}}` with the HTTP status, or, when
 * no answer came (network down, aborted), status 0 and code UNAVAILABLE / CANCELLED.
 */
export class LivecallApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  constructor(status: number, code: ErrorCode, message: string) {
    super(message);
    this.name = "LivecallApiError";
    this.status = status;
    this.code = code;
  }
  /** The error as the gateway's body shape. */
  get body(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isLivecallApiError(value: unknown): value is LivecallApiError {
  return value instanceof LivecallApiError;
}

/** A call's outcome as a value, for code that prefers not to catch. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: LivecallApiError };

/** `await result(client.getCall(sid))` → `{ok:true,value}` or `{ok:false,error}`. */
export async function result<T>(promise: Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    if (error instanceof LivecallApiError) return { ok: false, error };
    throw error;
  }
}

export type TokenSource = string | null | undefined | (() => string | null | undefined);

export interface TransportOptions {
  /** The gateway, e.g. "http://127.0.0.1:8080"; "" (the default) is the page's own origin. */
  baseUrl?: string;
  /** The agent's JWT, or a function that returns the current one; sent when present. */
  token?: TokenSource;
  /** fetch to use (tests, older runtimes); the global one by default. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Sent as Idempotency-Key: a retried call with the same key is not placed twice. */
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

export interface RequestInit {
  method: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | Array<string | number>>;
  /** The answer is not JSON: resolve with its body as a Blob. */
  raw?: boolean;
}

/** The live event types of protos/livecall/v1/context.proto's LiveEvent and their payload field. */
export const liveEventPayloads = {
  "call.status": "call",
  "session.started": "session",
  transcript: "turn",
  suggestions: "suggestions",
  summary: "summary",
  "speech.error": "speechError",
} as const;
export type LiveEventType = keyof typeof liveEventPayloads;

export interface EventStreamOptions {
  /** Resume after this event id (the SSE id); default: from the oldest event kept. */
  lastEventId?: string;
  signal?: AbortSignal;
  /** Wait before reconnecting after the stream broke; the server's `retry:` wins. */
  reconnectDelayMs?: number;
}

/** One Server-Sent Event: its id and the LiveEvent JSON it carries. */
export interface ServerSentEvent<T = unknown> {
  id: string;
  type: string;
  data: T;
}

/**
 * A live event stream. Iterate it (`for await (const event of stream)`) or pass handlers to
 * `subscribe`; `close()` ends it. It reconnects with Last-Event-ID when the connection drops, and
 * ends with a LivecallApiError when the gateway refuses it (4xx).
 */
export interface LiveEventStream<T = unknown> extends AsyncIterable<ServerSentEvent<T>> {
  close(): void;
  /** The id of the last event received: where a new stream would resume. */
  readonly lastEventId: string | undefined;
}

export interface Transport {
  request<T>(path: string, init: RequestInit, options?: RequestOptions): Promise<T>;
  events<T>(path: string, options?: EventStreamOptions): LiveEventStream<T>;
}

function tokenOf(source: TokenSource): string | undefined {
  const token = typeof source === "function" ? source() : source;
  return token ? token : undefined;
}

function queryString(query: RequestInit["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, String(item));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function errorFrom(response: Response): Promise<LivecallApiError> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) {
      return new LivecallApiError(response.status, body.error.code, body.error.message ?? "");
    }
  } catch {
    // Not the gateway's JSON (a proxy's page): described below.
  }
  return new LivecallApiError(response.status, response.status >= 500 ? "UNAVAILABLE" : "UNKNOWN",
                              `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
}

function failureOf(error: unknown, signal?: AbortSignal): LivecallApiError {
  if (error instanceof LivecallApiError) return error;
  if (signal?.aborted) return new LivecallApiError(0, "CANCELLED", "the request was aborted");
  const message = error instanceof Error ? error.message : String(error);
  return new LivecallApiError(0, "UNAVAILABLE", `the gateway cannot be reached: ${message}`);
}

export function createTransport(options: TransportOptions = {}): Transport {
  const base = (options.baseUrl ?? "").replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  function headers(extra?: Record<string, string>): Record<string, string> {
    const all: Record<string, string> = { Accept: "application/json", ...extra };
    const token = tokenOf(options.token);
    if (token) all.Authorization = `Bearer ${token}`;
    return all;
  }

  async function request<T>(path: string, init: RequestInit, call: RequestOptions = {}): Promise<T> {
    const requestHeaders = headers(call.headers);
    if (init.body !== undefined) requestHeaders["Content-Type"] = "application/json";
    if (init.raw) requestHeaders.Accept = "*/*";
    if (call.idempotencyKey) requestHeaders["Idempotency-Key"] = call.idempotencyKey;
    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}${queryString(init.query)}`, {
        method: init.method,
        headers: requestHeaders,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: call.signal,
      });
    } catch (error) {
      throw failureOf(error, call.signal);
    }
    if (!response.ok) throw await errorFrom(response);
    if (init.raw) return (await response.blob()) as T;
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new LivecallApiError(response.status, "INTERNAL",
                                 `the answer is not JSON: ${(error as Error).message}`);
    }
  }

  function events<T>(path: string, streamOptions: EventStreamOptions = {}): LiveEventStream<T> {
    return new FetchEventStream<T>(`${base}${path}`, () => headers({ Accept: "text/event-stream" }),
                                fetchImpl, streamOptions);
  }

  return { request, events };
}

/** SSE over fetch streaming, with EventSource's reconnect-and-resume behaviour. */
class FetchEventStream<T> implements LiveEventStream<T> {
  private readonly controller = new AbortController();
  private readonly queue: ServerSentEvent<T>[] = [];
  private waiting: ((value: IteratorResult<ServerSentEvent<T>>) => void) | null = null;
  private failWaiting: ((error: unknown) => void) | null = null;
  private failure: LivecallApiError | null = null;
  private closed = false;
  private retryMs: number;
  private resumeId: string | undefined;

  constructor(private readonly url: string, private readonly headers: () => Record<string, string>,
              private readonly fetchImpl: typeof fetch, options: EventStreamOptions) {
    this.resumeId = options.lastEventId;
    this.retryMs = options.reconnectDelayMs ?? 1000;
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    void this.run();
  }

  get lastEventId(): string | undefined {
    return this.resumeId;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.abort();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = this.failWaiting = null;
  }

  [Symbol.asyncIterator](): AsyncIterator<ServerSentEvent<T>> {
    return {
      next: () => {
        const event = this.queue.shift();
        if (event) return Promise.resolve({ value: event, done: false });
        if (this.failure) return Promise.reject(this.failure);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private deliver(event: ServerSentEvent<T>): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value: event, done: false });
    } else {
      this.queue.push(event);
    }
  }

  private fail(error: LivecallApiError): void {
    this.failure = error;
    const reject = this.failWaiting;
    this.waiting = this.failWaiting = null;
    this.closed = true;
    this.controller.abort();
    reject?.(error);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const headers = this.headers();
        if (this.resumeId) headers["Last-Event-ID"] = this.resumeId;
        const response = await this.fetchImpl(this.url, { headers, signal: this.controller.signal });
        if (!response.ok) {
          const error = await errorFrom(response);
          // A refusal (bad id, no token) will not change by retrying; an overloaded gateway may.
          if (response.status < 500) return this.fail(error);
        } else if (response.body) {
          await this.read(response.body);
        }
      } catch (error) {
        if (this.closed) return;
        void error;  // The connection broke: reconnect below, as EventSource does.
      }
      if (this.closed) return;
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
    }
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let id: string | undefined;
    let type = "";
    let data: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) {
            if (id !== undefined) this.resumeId = id;
            const text = data.join("\n");
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // Not JSON: delivered as text.
            }
            this.deliver({ id: id ?? "", type: type || "message", data: parsed as T });
          }
          type = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "data") data.push(text);
        else if (field === "event") type = text;
        else if (field === "id") id = text;
        else if (field === "retry" && /^\d+$/.test(text)) this.retryMs = Number(text);
      }
    }
  }
}
