// Answers as they are generated, over the chat page's WebSocket API: one connection per sign-in, one message per
// question. The token travels as the second subprotocol (a browser's WebSocket can set no other header); the
// authorizer verifies it when the connection opens, and the server selects the first one.
export class AnswerStream {
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.socket = null;
    this.token = null;
    this.opened = null;
    this.pending = new Map(); // question id -> { onText, resolve }
    this.parts = new Map(); // message id -> slices of a message too long for one post
    this.counter = 0;
  }

  connect(token) {
    if (this.socket && this.token === token && this.socket.readyState <= WebSocket.OPEN) return this.opened;
    this.close();
    const socket = new WebSocket(this.url, [this.protocol, token]);
    this.socket = socket;
    this.token = token;
    this.opened = new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("close", () => reject(new Error("refused")), { once: true });
    });
    socket.addEventListener("message", (event) => this.receive(String(event.data)));
    socket.addEventListener("close", () => {
      if (this.socket === socket) this.socket = null;
      this.failAll({ type: "NetworkError", message: "The connection closed before the answer was complete." });
    });
    return this.opened;
  }

  close() {
    if (this.socket) this.socket.close();
    this.socket = null;
  }

  /** The result the HTTP API would return; onText gets the answer's text piece by piece before it. Null when no
   * connection opens: a browser cannot tell a refused token from a network that blocks WebSockets, so the caller
   * asks over HTTPS instead, whose answer says which it was. */
  async ask(token, request, onText) {
    try {
      await this.connect(token);
    } catch {
      return null;
    }
    const id = `q${++this.counter}`;
    return new Promise((resolve) => {
      this.pending.set(id, { onText, resolve });
      this.socket.send(JSON.stringify({ action: "ask", id, ...request }));
    });
  }

  failAll(error) {
    for (const { resolve } of this.pending.values()) resolve({ error });
    this.pending.clear();
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === "part") {
      const slices = this.parts.get(message.id) || [];
      slices[message.part] = message.data;
      this.parts.set(message.id, slices);
      if (slices.filter((slice) => slice !== undefined).length === message.parts) {
        this.parts.delete(message.id);
        this.receive(slices.join(""));
      }
      return;
    }
    if (!message.type) {
      // API Gateway's own words. After 29 s it stops waiting for the function, which goes on answering.
      if (/timed out/i.test(message.message || "")) return;
      this.failAll({ type: "BadGateway", message: message.message || "The answer service failed." });
      return;
    }
    // A message refused before its id could be read names none: it answers the only question in flight.
    const id = message.id === null && this.pending.size === 1 ? this.pending.keys().next().value : message.id;
    const question = this.pending.get(id);
    if (!question) return;
    if (message.type === "text") {
      question.onText(message.text);
      return;
    }
    this.pending.delete(id);
    question.resolve(message.type === "answer" ? message.result : { error: message.error });
  }
}
