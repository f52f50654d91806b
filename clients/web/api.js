// The HTTP/JSON API: fetch, errors as ApiError with the server's message, and the bearer
// token (asked for once on a 401, kept in sessionStorage for the tab's lifetime).

const TOKEN_KEY = "vaeserve.token";
let askForToken = async () => null;
let pendingAsk = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status; // HTTP status
    this.code = code; // gRPC status code from the body, when there was one
  }
}

/** Install the function that asks the person for a token (resolves to it, or null). */
export function setTokenPrompt(ask) {
  askForToken = ask;
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function getJson(path) {
  return call("GET", path);
}

export function postJson(path, body) {
  return call("POST", path, body);
}

export function modelPath(model, version) {
  const base = `/v1/models/${encodeURIComponent(model)}`;
  return version ? `${base}/versions/${version}` : base;
}

async function call(method, path, body) {
  const first = await send(method, path, body);
  if (first.status !== 401) return parse(first);
  // One ask for all the calls that hit the 401 together, then one retry each.
  const hadToken = storedToken();
  pendingAsk ??= askForToken(hadToken ? "The token was not accepted." : "").finally(() => {
    pendingAsk = null;
  });
  const token = await pendingAsk;
  if (!token) return parse(first);
  sessionStorage.setItem(TOKEN_KEY, token);
  const second = await send(method, path, body);
  if (second.status === 401) forgetToken();
  return parse(second);
}

function send(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  return fetch(path, init).catch((error) => {
    throw new ApiError(0, 14, `the server cannot be reached (${error.message})`);
  });
}

async function parse(response) {
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : {};
  } catch {
    payload = null;
  }
  if (response.ok && payload) return payload;
  const message = payload && payload.message
    ? payload.message
    : `HTTP ${response.status} ${response.statusText || ""}`.trim();
  throw new ApiError(response.status, payload ? payload.code : undefined, message);
}
