// The chat page: sign in, ask, read the answer as it is generated and then its numbered sources, follow up,
// filter by metadata.
import { completeSignIn, endpoints, session, signIn, signOut } from "./auth.js";
import { AnswerStream } from "./stream.js";
import "./app.css";

const $ = (id) => document.getElementById(id);
const state = { config: null, sessionId: null, where: {}, stream: null };

const ERRORS = {
  ValidationError: (message) => `The question or its filter was refused: ${message}`,
  ModelAccessRequired: () => "The answer model is not enabled in this AWS account yet. Ask an administrator to enable it (README, Deploy, step 2).",
  Throttled: () => "Too many questions right now. Wait a few seconds and ask again.",
  ThrottlingException: () => ERRORS.Throttled(),
  ServiceQuotaExceededException: () => ERRORS.Throttled(),
  Unauthorized: () => "Your sign-in has expired. Sign in again.",
};

function notice(text, isError = false) {
  const box = $("notice");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = !text;
}

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function sourceTitle(source) {
  const meta = source.metadata || {};
  return meta.title || (source.uri || "").split("/").pop() || source.uri;
}

function renderSources(sources) {
  const list = element("ol", { className: "sources" });
  for (const source of sources) {
    const metadata = element("ul", { className: "meta" });
    for (const [key, value] of Object.entries(source.metadata || {})) {
      if (key !== "title") metadata.append(element("li", { textContent: `${key}: ${Array.isArray(value) ? value.join(", ") : value}` }));
    }
    const title = source.link
      ? element("a", { className: "title", href: source.link, target: "_blank", rel: "noopener noreferrer",
                       textContent: sourceTitle(source), title: "Open the document (the link works for five minutes)" })
      : element("span", { className: "title", textContent: sourceTitle(source) });
    list.append(element("li", {},
      title,
      element("blockquote", { textContent: (source.excerpt || "").slice(0, 400) }),
      metadata));
  }
  return list;
}

function renderAnswer(body) {
  if (body.error) {
    const explain = ERRORS[body.error.type] || ((message) => `${body.error.type}: ${message || "the question could not be answered"}`);
    return element("article", { className: "turn answer-turn complete error", role: "alert" }, element("p", { textContent: explain(body.error.message || "") }));
  }
  if (Array.isArray(body.results)) {
    const turn = element("article", { className: "turn answer-turn complete" },
      element("p", { className: "answer", textContent: body.results.length ? `${body.results.length} passages found:` : "No passage matches." }));
    turn.append(renderSources(body.results));
    return turn;
  }
  const numbers = body.citations.length ? ` ${body.citations.map((_, index) => `[${index + 1}]`).join("")}` : "";
  const turn = element("article", { className: "turn answer-turn complete" }, element("p", { className: "answer", textContent: body.answer + numbers }));
  if (body.citations.length) turn.append(renderSources(body.citations));
  return turn;
}

async function ask(question, onText) {
  const tokens = session();
  if (!tokens) return { error: { type: "Unauthorized" } };
  const request = { question, mode: $("retrieve-mode").checked ? "retrieve" : "generate" };
  if (Object.keys(state.where).length) request.where = state.where;
  if (state.sessionId && request.mode === "generate") request.sessionId = state.sessionId;
  const streamed = state.stream ? await state.stream.ask(tokens.idToken, request, onText) : null;
  if (streamed) {
    if (streamed.sessionId) state.sessionId = streamed.sessionId;
    return streamed;
  }
  // No answer stream (some networks block WebSockets): the same question over HTTPS, answered whole.
  const response = await fetch(state.config.apiUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${tokens.idToken}`, "Content-Type": "application/json" },
    body: JSON.stringify(request),
  });
  if (response.status === 401) return { error: { type: "Unauthorized" } };
  if (response.status === 429) return { error: { type: "Throttled" } };
  const body = await response.json().catch(() => ({ error: { type: "BadResponse", message: `HTTP ${response.status}` } }));
  if (body.sessionId) state.sessionId = body.sessionId;
  return body;
}

function parsedValue(text) {
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? text : value;
  } catch {
    return text;
  }
}

function renderChips() {
  const chips = $("chips");
  chips.replaceChildren();
  for (const [key, condition] of Object.entries(state.where)) {
    const [operator, value] = typeof condition === "object" ? Object.entries(condition)[0] : ["=", condition];
    const chip = element("button", { type: "button", className: "chip", textContent: `${key} ${operator} ${value} ✕` });
    chip.setAttribute("aria-label", `Remove the filter ${key} ${operator} ${value}`);
    chip.addEventListener("click", () => { delete state.where[key]; renderChips(); });
    chips.append(chip);
  }
}

function addFilter() {
  const key = $("filter-key").value;
  const operator = $("filter-operator").value;
  const text = $("filter-value").value.trim();
  if (!key || !text) return;
  const value = parsedValue(text);
  state.where[key] = operator === "=" ? value : { [operator]: value };
  $("filter-value").value = "";
  renderChips();
}

async function submit(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("question").value = "";
  $("send").disabled = true;
  $("conversation").append(element("p", { className: "turn question", textContent: question }));
  // The answer's place, filled as the text arrives; aria-busy keeps screen readers from reading every piece.
  const text = element("p", { className: "answer" });
  const turn = element("article", { className: "turn answer-turn streaming" }, text);
  turn.setAttribute("aria-busy", "true");
  $("conversation").append(turn);
  try {
    turn.replaceWith(renderAnswer(await ask(question, (piece) => { text.textContent += piece; })));
  } catch (error) {
    turn.replaceWith(renderAnswer({ error: { type: "NetworkError", message: String(error.message || error) } }));
  } finally {
    $("send").disabled = false;
    $("question").focus();
  }
}

function showSession(tokens) {
  $("sign-in").hidden = Boolean(tokens);
  $("sign-out").hidden = !tokens;
  $("ask").hidden = !tokens;
  $("who").textContent = tokens ? `${tokens.name}${tokens.groups.length ? ` (${tokens.groups.join(", ")})` : ""}` : "";
  if (!tokens) notice("Sign in to ask the knowledge base.");
}

async function start() {
  state.config = await (await fetch("config.json", { cache: "no-store" })).json();
  state.config.auth = await endpoints(state.config.auth);
  if (state.config.streamUrl) state.stream = new AnswerStream(state.config.streamUrl, state.config.streamProtocol);
  for (const attribute of state.config.filters || []) {
    $("filter-key").append(element("option", { value: attribute.key, textContent: attribute.description ? `${attribute.key} (${attribute.description})` : attribute.key }));
  }
  $("sign-in").addEventListener("click", () => signIn(state.config.auth));
  $("sign-out").addEventListener("click", () => { state.stream?.close(); signOut(state.config.auth); });
  $("ask").addEventListener("submit", submit);
  $("add-filter").addEventListener("click", addFilter);
  $("new-conversation").addEventListener("click", () => { state.sessionId = null; $("conversation").replaceChildren(); });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("ask").requestSubmit(); }
  });
  try {
    const signedIn = (await completeSignIn(state.config.auth)) || session();
    showSession(signedIn);
    if (signedIn) notice("");
    // Open the answer stream now, so that the first question does not wait for the connection; a refusal shows
    // when a question is asked.
    if (signedIn && state.stream) state.stream.connect(signedIn.idToken).catch(() => {});
  } catch (error) {
    showSession(null);
    notice(String(error.message || error), true);
  }
}

start();
