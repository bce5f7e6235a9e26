/* Learnloop's embeddable help widget (README "Embed the widget").

   <script src="https://learnloop.example/widget.js" data-kb="NAME" data-token="JWT"></script>

   A <learnloop-widget> element in a Shadow DOM: a "Help" launcher that opens a panel with
   streamed, cited answers, feedback, a handoff to a person, the user's next learning step and
   at most one tip. The token is the host-signed user token of DESIGN "Access"; the host may
   replace it with window.Learnloop.identify(token). When the server says the token expired
   (or is not valid), the widget dispatches "learnloop:token-expired" on window, calls
   window.Learnloop.onTokenExpired(detail) if the host set it (a token it returns, or
   resolves to, is used at once) and shows the user a readable message.

   Safety: nothing from a question, an answer or an article is parsed as HTML. Every node is
   built with createElement and text with textContent; links are made only from http(s)
   URLs, anything else (javascript:, data:) is shown as plain text. */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || customElements.get("learnloop-widget")) return;
  const BASE = new URL(script.src, location.href).origin;
  const KB = script.dataset.kb || "";

  const STRINGS = {
    en: {
      help: "Help", close: "Close help", question: "Your question", placeholder: "Ask a question",
      send: "Send", human: "Talk to a person", conversation: "Conversation",
      handoffSent: "We have asked a person from the team to help you. They will get back to you.",
      handoffFailed: "Your request for a person could not be sent. Please try again in a moment.",
      helpful: "Helpful", notHelpful: "Not helpful", reason: "What was missing? (optional)",
      thanks: "Thanks for your feedback.", sources: "Sources", nextStep: "Your next step",
      tip: "Tip", showMe: "Show me", dismiss: "Dismiss", notLikeThis: "Not like this",
      pause: "Pause tips for 30 days", tipFeedback: "Was this tip useful?", choose: "Choose…",
      tipHidden: "Tip hidden.", tipPaused: "Tips paused for 30 days.",
      feedback: {
        helpful_used: "Useful, I used it", helpful_not_tried: "Useful, not tried yet",
        not_relevant: "Not relevant", unclear: "Unclear",
      },
      expired: "Your session has expired. Reload the page or sign in again to keep asking.",
      invalid: "Help could not check who you are. Reload the page or sign in again.",
      signIn: "Sign in to ask a question.",
      offline: "Help could not be reached. Check your connection and try again.",
      failed: "This question could not be answered: ", empty: "Ask anything about the product.",
      person: "A person can take over: choose “Talk to a person”.", you: "You", assistant: "Answer",
    },
    es: {
      help: "Ayuda", close: "Cerrar la ayuda", question: "Tu pregunta", placeholder: "Haz una pregunta",
      send: "Enviar", human: "Hablar con una persona", conversation: "Conversación",
      handoffSent: "Hemos pedido a una persona del equipo que te ayude. Se pondrá en contacto contigo.",
      handoffFailed: "No se ha podido enviar tu petición. Inténtalo de nuevo en un momento.",
      helpful: "Útil", notHelpful: "No es útil", reason: "¿Qué faltaba? (opcional)",
      thanks: "Gracias por tu opinión.", sources: "Fuentes", nextStep: "Tu siguiente paso",
      tip: "Consejo", showMe: "Muéstrame", dismiss: "Descartar", notLikeThis: "No me interesan así",
      pause: "Pausar consejos 30 días", tipFeedback: "¿Te ha servido este consejo?", choose: "Elige…",
      tipHidden: "Consejo ocultado.", tipPaused: "Consejos pausados durante 30 días.",
      feedback: {
        helpful_used: "Útil, lo he usado", helpful_not_tried: "Útil, aún no lo he probado",
        not_relevant: "No es relevante", unclear: "No está claro",
      },
      expired: "Tu sesión ha caducado. Recarga la página o vuelve a iniciar sesión para seguir preguntando.",
      invalid: "La ayuda no ha podido comprobar quién eres. Recarga la página o vuelve a iniciar sesión.",
      signIn: "Inicia sesión para hacer una pregunta.",
      offline: "No se ha podido contactar con la ayuda. Revisa tu conexión e inténtalo de nuevo.",
      failed: "No se ha podido responder a esta pregunta: ", empty: "Pregunta lo que quieras sobre el producto.",
      person: "Una persona puede ayudarte: elige «Hablar con una persona».", you: "Tú", assistant: "Respuesta",
    },
  };

  // Every rule is ours: the host page's CSS reaches the element itself (hence :host with
  // !important, which beats outer rules) and what it inherits, never what is inside.
  const CSS = `
:host{all:initial!important;display:block!important;position:fixed!important;right:16px!important;
bottom:16px!important;z-index:2147483000!important;visibility:visible!important;opacity:1!important}
*,*::before,*::after{box-sizing:border-box}
.root{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933}
button,input,select{font:inherit;color:inherit}
button{cursor:pointer;border:1px solid #c3cad5;background:#fff;border-radius:6px;padding:6px 10px}
button:hover{background:#f1f4f8}
:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
.launcher{display:block;background:#1d4ed8;color:#fff;border:0;border-radius:22px;padding:10px 18px;
font-weight:600;box-shadow:0 2px 8px rgba(0,0,0,.25)}
.launcher:hover{background:#1e40af}
.panel{position:fixed;right:8px;bottom:72px;width:min(380px,calc(100vw - 16px));
height:min(560px,calc(100vh - 88px));display:flex;flex-direction:column;background:#fff;
border:1px solid #c3cad5;border-radius:10px;box-shadow:0 8px 28px rgba(0,0,0,.25);overflow:hidden}
.panel[hidden]{display:none}
.head{display:flex;align-items:center;justify-content:space-between;padding:8px 12px;
background:#1d4ed8;color:#fff}
h2{margin:0;font-size:16px;font-weight:600}
.head button{background:transparent;color:#fff;border-color:transparent;font-size:18px;line-height:1;padding:4px 8px}
.head button:hover{background:#1e40af}
.body{flex:1;overflow-y:auto;padding:10px 12px;display:flex;flex-direction:column;gap:10px}
.notice{margin:0;padding:8px 12px;background:#fef3c7;color:#7c2d12;border-bottom:1px solid #f59e0b}
.notice[hidden],[hidden]{display:none}
.card{border:1px solid #d5dbe4;border-radius:8px;padding:8px 10px;background:#f8fafc}
.card h3{margin:0 0 4px;font-size:14px}
.card p{margin:0 0 6px}
.label{font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;color:#52606d}
.card ol{margin:4px 0 6px;padding-left:20px}
.actions{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}
.actions a,.card a,.sources a{color:#1d4ed8}
.empty{color:#52606d;margin:0}
.turn{display:flex;flex-direction:column;gap:4px}
.q{align-self:flex-end;max-width:90%;background:#1d4ed8;color:#fff;border-radius:10px 10px 2px 10px;
padding:6px 10px;white-space:pre-wrap;overflow-wrap:anywhere}
.a{max-width:100%;background:#f1f4f8;border-radius:10px 10px 10px 2px;padding:6px 10px;
white-space:pre-wrap;overflow-wrap:anywhere}
.a.declined{background:#fff7ed}
.sources{margin:0;padding:0 0 0 4px;list-style:none;font-size:13px;overflow-wrap:anywhere}
.meta button{display:inline-flex;align-items:center;padding:5px 8px}
svg{display:block}
.meta{display:flex;flex-wrap:wrap;align-items:center;gap:6px;font-size:13px;color:#52606d}
.meta button[aria-pressed=true]{background:#dbeafe;border-color:#1d4ed8}
.why{display:flex;gap:6px;flex-wrap:wrap}
.why input{flex:1;min-width:120px}
input,select{border:1px solid #9aa5b1;border-radius:6px;padding:6px 8px;background:#fff}
form.ask{display:flex;gap:6px;padding:8px 12px;border-top:1px solid #d5dbe4}
form.ask input{flex:1;min-width:0}
form.ask button{background:#1d4ed8;color:#fff;border-color:#1d4ed8}
.foot{padding:0 12px 10px}
.foot button{width:100%}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

  const FOCUSABLE = "button:not([disabled]),a[href],input:not([disabled]),select:not([disabled])";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // A link only for an http(s) URL; anything else is text.
  function linkOrText(url, text, onclick) {
    let safe = null;
    try {
      const parsed = new URL(String(url));
      if (parsed.protocol === "http:" || parsed.protocol === "https:") safe = parsed.href;
    } catch (_) { /* not a URL: text */ }
    if (!safe) return el("span", {}, text);
    return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer", onclick }, text);
  }

  // The token's claims, read only to address the user (the server verifies the token).
  function claimsOf(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)), (c) => c.charCodeAt(0));
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return claims && typeof claims === "object" ? claims : null;
    } catch (_) {
      return null;
    }
  }

  function newId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return "w-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The answer is short markdown: paragraphs, numbered steps and **bold**; its trailing
  // "Sources:" list is left out because the citations are shown as links below it.
  function renderText(container, text) {
    container.replaceChildren();
    const body = String(text).split(/\n\n(?:Sources|Fuentes):\n/)[0];
    for (const part of body.split(/(\*\*[^*]+\*\*)/)) {
      if (part.startsWith("**") && part.endsWith("**") && part.length > 4) {
        container.append(el("strong", {}, part.slice(2, -2)));
      } else {
        container.append(part);
      }
    }
  }

  function rich(tag, text) {
    const node = el(tag);
    renderText(node, text);
    return node;
  }

  class AuthProblem extends Error {}

  class LearnloopWidget extends HTMLElement {
    constructor() {
      super();
      this.token = "";
      this.claims = null;
      this.sessionId = null;
      this.lastMessageId = null;
      this.loaded = false; // history, next step and tip fetched for this user
      this.busy = false;
      this.shadow = this.attachShadow({ mode: "open" });
      this.build();
    }

    get t() {
      const locale = String((this.claims && this.claims.locale) || "").toLowerCase();
      return locale.startsWith("es") ? STRINGS.es : STRINGS.en;
    }

    build() {
      const t = this.t;
      this.launcher = el("button", {
        class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "ll-panel",
        "aria-haspopup": "dialog", onclick: () => (this.panel.hidden ? this.open() : this.close()),
      }, t.help);
      this.heading = el("h2", { id: "ll-title" }, t.help);
      this.closeButton = el("button", { type: "button", "aria-label": t.close, onclick: () => this.close() }, "×");
      this.notice = el("p", { class: "notice", role: "alert", hidden: true });
      this.nextCard = el("section", { class: "card next", hidden: true });
      this.tipCard = el("section", { class: "card tip", hidden: true });
      this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t.conversation });
      this.empty = el("p", { class: "empty" }, t.empty);
      this.log.append(this.empty);
      this.input = el("input", {
        id: "ll-q", type: "text", autocomplete: "off", maxlength: "2000", placeholder: t.placeholder,
      });
      this.inputLabel = el("label", { for: "ll-q", class: "sr" }, t.question);
      this.sendButton = el("button", { type: "submit" }, t.send);
      this.form = el("form", { class: "ask", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
        this.inputLabel, this.input, this.sendButton);
      this.humanButton = el("button", { type: "button", class: "human", onclick: () => this.handoff() }, t.human);
      this.panel = el("div", {
        class: "panel", id: "ll-panel", role: "dialog", "aria-modal": "true", "aria-labelledby": "ll-title",
        hidden: true, onkeydown: (e) => this.onKeydown(e),
      },
      el("div", { class: "head" }, this.heading, this.closeButton),
      this.notice,
      this.body = el("div", { class: "body" }, this.nextCard, this.tipCard, this.log),
      this.form,
      el("div", { class: "foot" }, this.humanButton));
      this.shadow.replaceChildren(el("style", {}, CSS), el("div", { class: "root" }, this.panel, this.launcher));
    }

    relabel() {
      const t = this.t;
      this.launcher.textContent = t.help;
      this.heading.textContent = t.help;
      this.closeButton.setAttribute("aria-label", t.close);
      this.log.setAttribute("aria-label", t.conversation);
      this.empty.textContent = t.empty;
      this.input.placeholder = t.placeholder;
      this.inputLabel.textContent = t.question;
      this.sendButton.textContent = t.send;
      this.humanButton.textContent = t.human;
    }

    // --- identity -------------------------------------------------------------------------

    identify(token) {
      const claims = claimsOf(String(token || ""));
      const sameUser = claims && this.claims && claims.sub === this.claims.sub &&
        claims.tenant === this.claims.tenant && claims.account === this.claims.account;
      this.token = claims ? String(token) : "";
      this.claims = claims;
      this.showNotice(null);
      this.relabel();
      if (!sameUser) this.reset();
      if (!this.panel.hidden) this.load();
    }

    reset() {
      this.sessionId = null;
      this.lastMessageId = null;
      this.loaded = false;
      this.log.replaceChildren(this.empty);
      this.nextCard.hidden = this.tipCard.hidden = true;
      this.nextCard.replaceChildren();
      this.tipCard.replaceChildren();
    }

    async authProblem(message) {
      this.loaded = false; // fetched again once the host hands over a good token
      const reason = /expired/i.test(message || "") ? "expired" : "invalid";
      this.showNotice(reason === "expired" ? this.t.expired : this.t.invalid);
      const detail = { reason, message: message || "" };
      window.dispatchEvent(new CustomEvent("learnloop:token-expired", { detail }));
      const callback = window.Learnloop && window.Learnloop.onTokenExpired;
      if (typeof callback !== "function") return;
      try {
        const fresh = await callback(detail);
        if (typeof fresh === "string" && fresh) this.identify(fresh);
      } catch (_) { /* the host's callback failed: the message stays */ }
    }

    showNotice(text) {
      this.notice.hidden = !text;
      this.notice.textContent = text || "";
    }

    // --- the server -----------------------------------------------------------------------

    async api(path, { method = "GET", body, keepalive = false } = {}) {
      if (!this.token) {
        this.showNotice(this.t.signIn);
        throw new AuthProblem("no token");
      }
      const headers = { authorization: "Bearer " + this.token };
      if (body !== undefined) headers["content-type"] = "application/json";
      let response;
      try {
        response = await fetch(BASE + path, {
          method, headers, keepalive, mode: "cors", credentials: "omit",
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (_) {
        // Refused by CORS (an origin the tenant does not allow) or no network.
        this.showNotice(this.t.offline);
        throw new AuthProblem("unreachable");
      }
      if (response.status === 401) {
        this.authProblem(await errorMessage(response));
        throw new AuthProblem("unauthorized");
      }
      return response;
    }

    // Resolves to whether the event was stored (never rejects).
    logEvent(type, properties) {
      const claims = this.claims;
      if (!claims || !claims.sub || !claims.account) return Promise.resolve(false);
      const event = {
        id: newId(), type, account_id: claims.account, user_id: claims.sub,
        ts: new Date().toISOString(), properties,
      };
      // keepalive: the request outlives the page navigating to a cited article.
      return this.api("/v1/events", { method: "POST", body: { events: [event] }, keepalive: true })
        .then(async (response) => response.ok && (await response.json()).errors.length === 0)
        .catch(() => false);
    }

    // --- opening and closing --------------------------------------------------------------

    open() {
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      this.input.focus();
      this.load();
    }

    close() {
      if (this.panel.hidden) return;
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.focus();
    }

    onKeydown(event) {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close();
        return;
      }
      if (event.key !== "Tab") return;
      // Focus stays in the dialog: Tab from the last control wraps to the first.
      const items = Array.from(this.panel.querySelectorAll(FOCUSABLE)).filter((n) => n.getClientRects().length);
      if (!items.length) return;
      const first = items[0], last = items[items.length - 1];
      const active = this.shadow.activeElement;
      if (event.shiftKey && active === first) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && active === last) { event.preventDefault(); first.focus(); }
    }

    async load() {
      if (this.loaded || !this.token) {
        if (!this.token) this.showNotice(this.t.signIn);
        return;
      }
      this.loaded = true;
      await Promise.all([this.loadHistory(), this.loadNextStep()].map((p) => p.catch(() => undefined)));
      await this.loadTip().catch(() => undefined);
    }

    // --- history: the user's latest conversation, from the server -------------------------

    async loadHistory() {
      const listed = await this.api("/v1/sessions?limit=1" + (KB ? "&kb=" + encodeURIComponent(KB) : ""));
      if (!listed.ok) return;
      const latest = (await listed.json()).sessions[0];
      if (!latest || this.sessionId) return;
      const response = await this.api("/v1/sessions/" + encodeURIComponent(latest.session_id));
      if (!response.ok || this.sessionId) return;
      const session = await response.json();
      this.sessionId = session.session_id;
      let question = null;
      for (const message of session.messages) {
        if (message.role === "user") { question = message.text; continue; }
        if (question === null || !message.answer) continue;
        const turn = this.addTurn(question);
        this.finish(turn, message.answer);
        question = null;
      }
    }

    // --- asking ---------------------------------------------------------------------------

    async submit() {
      const question = this.input.value.trim();
      if (!question || this.busy) return;
      this.busy = true;
      this.sendButton.disabled = true;
      performance.mark("learnloop:ask");
      const turn = this.addTurn(question);
      this.input.value = "";
      try {
        await this.stream(question, turn);
      } catch (problem) {
        turn.answer.classList.add("declined");
        if (problem instanceof AuthProblem) {
          turn.node.remove();
          this.input.value = question; // kept to send again once the user is signed in
        } else {
          turn.answer.textContent = this.t.failed + String(problem.message || problem);
        }
      } finally {
        this.busy = false;
        this.sendButton.disabled = false;
        if (!this.log.querySelector(".turn")) this.log.replaceChildren(this.empty);
      }
    }

    async stream(question, turn) {
      const body = { question, kb: KB };
      if (this.sessionId) body.session_id = this.sessionId;
      const response = await this.api("/v1/chat/stream", { method: "POST", body });
      if (!response.ok) throw new Error(await errorMessage(response));
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "", text = "", first = true;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = parseFrame(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (!frame) continue;
          if (first) { performance.mark("learnloop:first-event"); first = false; }
          const data = frame.data;
          if (frame.event === "start") this.sessionId = data.session_id;
          else if (frame.event === "token") text += data.text;
          else if (frame.event === "replace") text = data.text;
          else if (frame.event === "passage") text += (text ? "\n\n" : "") + data.text;
          else if (frame.event === "citations") this.citations(turn, data.citations);
          else if (frame.event === "done") this.finish(turn, data);
          if (frame.event === "token" || frame.event === "replace" || frame.event === "passage") {
            renderText(turn.answer, text);
          }
        }
      }
    }

    addTurn(question) {
      this.empty.remove();
      const t = this.t;
      const answer = el("div", { class: "a" }, "…");
      const turn = {
        question, answer, messageId: null, sources: null,
        node: el("div", { class: "turn" },
          el("span", { class: "sr" }, t.you), el("div", { class: "q" }, question),
          el("span", { class: "sr" }, t.assistant), answer),
      };
      this.log.append(turn.node);
      this.reveal(turn.node);
      return turn;
    }

    citations(turn, citations) {
      if (turn.sources) turn.sources.remove();
      turn.sources = null;
      if (!citations || !citations.length) return;
      const list = el("ul", { class: "sources", "aria-label": this.t.sources });
      for (const c of citations) {
        const label = "[" + c.n + "] " + c.title;
        const onclick = () => {
          const about = { article_id: String(c.article_id) };
          if (turn.messageId) about.message_id = turn.messageId;
          this.logEvent("citation_clicked", about);
          this.logEvent("article_viewed", { ...about, via: "citation" });
        };
        list.append(el("li", {}, linkOrText(c.url, label, onclick)));
      }
      turn.answer.after(list);
      turn.sources = list;
    }

    finish(turn, answer) {
      renderText(turn.answer, answer.answer || "");
      turn.answer.classList.toggle("declined", !answer.answered);
      turn.messageId = answer.message_id || null;
      this.lastMessageId = turn.messageId;
      this.citations(turn, answer.citations);
      const meta = el("div", { class: "meta" });
      if (answer.handoff && answer.handoff.suggested) meta.append(el("span", {}, this.t.person));
      if (turn.messageId && this.claims && this.claims.account) meta.append(...this.feedback(turn, meta));
      if (meta.childNodes.length) (turn.sources || turn.answer).after(meta);
      if (answer.next_steps && answer.next_steps.length) this.showNextStep(answer.next_steps[0]);
      this.reveal(turn.node);
    }

    // Scroll the conversation (never the host page) so a turn starts at the top.
    reveal(node) {
      const offset = node.getBoundingClientRect().top - this.body.getBoundingClientRect().top;
      this.body.scrollTop += offset - 8;
    }

    feedback(turn, meta) {
      const t = this.t;
      const up = el("button", { type: "button", "aria-pressed": "false", "aria-label": t.helpful, title: t.helpful }, thumb(false));
      const down = el("button", { type: "button", "aria-pressed": "false", "aria-label": t.notHelpful, title: t.notHelpful }, thumb(true));
      const done = (stored) => { if (stored) meta.replaceChildren(el("span", { role: "status" }, t.thanks)); };
      up.addEventListener("click", () => {
        up.setAttribute("aria-pressed", "true");
        this.logEvent("answer_feedback", { message_id: turn.messageId, helpful: true }).then(done);
      });
      down.addEventListener("click", () => {
        down.setAttribute("aria-pressed", "true");
        up.disabled = true;
        const reason = el("input", { type: "text", maxlength: "500", "aria-label": t.reason, placeholder: t.reason });
        const why = el("form", { class: "why", onsubmit: (e) => {
          e.preventDefault();
          const properties = { message_id: turn.messageId, helpful: false };
          if (reason.value.trim()) properties.reason = reason.value.trim().slice(0, 500);
          this.logEvent("answer_feedback", properties).then((stored) => {
            done(stored);
            if (stored) { why.remove(); this.input.focus(); }
          });
        } }, reason, el("button", { type: "submit" }, t.send));
        meta.after(why);
        down.disabled = true;
        reason.focus();
      });
      return [up, down];
    }

    // --- handoff --------------------------------------------------------------------------

    async handoff() {
      const properties = {};
      if (this.sessionId) properties.session_id = this.sessionId;
      if (this.lastMessageId) properties.message_id = this.lastMessageId;
      this.humanButton.disabled = true;
      const stored = await this.logEvent("handoff_requested", properties);
      this.humanButton.disabled = false;
      if (!stored) {
        if (this.notice.hidden) this.showNotice(this.t.handoffFailed);
        return;
      }
      this.empty.remove();
      const sent = el("p", { class: "card", role: "status" }, this.t.handoffSent);
      this.log.append(sent);
      this.reveal(sent);
    }

    // --- the next learning step -----------------------------------------------------------

    async loadNextStep() {
      const sub = this.claims && this.claims.sub;
      if (!sub) return;
      const query = "?limit=1" + (KB ? "&kb=" + encodeURIComponent(KB) : "");
      const response = await this.api("/v1/users/" + encodeURIComponent(sub) + "/learning" + query);
      if (!response.ok) return;
      const steps = (await response.json()).next_steps || [];
      if (steps.length) this.showNextStep(steps[0]);
    }

    showNextStep(step) {
      const about = { article_id: String(step.ref) };
      this.nextCard.replaceChildren(
        el("p", { class: "label" }, this.t.nextStep),
        el("p", {}, linkOrText(step.url, step.title, () => this.logEvent("article_viewed", { ...about, via: "next_step" }))),
        step.reason ? el("p", {}, step.reason) : null);
      this.nextCard.setAttribute("aria-label", this.t.nextStep);
      this.nextCard.hidden = false;
    }

    // --- at most one tip ------------------------------------------------------------------

    async loadTip() {
      const claims = this.claims;
      if (!claims || !claims.sub || !claims.account) return;
      const params = new URLSearchParams({ user_id: claims.sub, account_id: claims.account, session_id: this.visit() });
      if (KB) params.set("kb", KB);
      const response = await this.api("/v1/tips/next?" + params);
      if (!response.ok) return; // 404 before the tips engine exists: no tip
      const tip = (await response.json()).tip;
      if (tip) this.showTip(tip);
    }

    // One id per browser tab session: the tips engine shows at most one tip per session.
    visit() {
      const key = "learnloop-visit";
      try {
        const known = sessionStorage.getItem(key);
        if (known) return known;
        const fresh = newId();
        sessionStorage.setItem(key, fresh);
        return fresh;
      } catch (_) {
        return (this.visitId = this.visitId || newId());
      }
    }

    showTip(tip) {
      const t = this.t;
      const id = String(tip.id);
      const hide = (scope, note) => {
        this.logEvent("tip_dismissed", { tip_id: id, scope });
        this.tipCard.replaceChildren(el("p", { role: "status" }, note));
        this.input.focus();
      };
      const clicked = () => this.logEvent("tip_clicked", { tip_id: id });
      const steps = Array.isArray(tip.steps) && tip.steps.length ? el("ol", {}, ...tip.steps.map((s) => rich("li", s))) : null;
      const act = tip.url ? linkOrText(tip.url, t.showMe, clicked) : el("button", { type: "button", onclick: () => { clicked(); if (steps) steps.hidden = false; } }, t.showMe);
      const select = el("select", { "aria-label": t.tipFeedback },
        el("option", { value: "" }, t.choose),
        ...Object.entries(t.feedback).map(([value, label]) => el("option", { value }, label)));
      select.addEventListener("change", () => {
        if (!select.value) return;
        this.logEvent("tip_feedback", { tip_id: id, feedback: select.value });
        select.disabled = true;
        select.after(el("span", { role: "status" }, " " + t.thanks));
      });
      this.tipCard.replaceChildren(
        el("p", { class: "label" }, t.tip),
        el("h3", {}, String(tip.title || "")),
        tip.value ? el("p", {}, String(tip.value)) : null,
        tip.body ? rich("p", tip.body) : null,
        steps,
        el("div", { class: "actions" }, act,
          el("button", { type: "button", onclick: () => hide("tip", t.tipHidden) }, t.dismiss),
          el("button", { type: "button", onclick: () => hide("category", t.tipHidden) }, t.notLikeThis),
          el("button", { type: "button", onclick: () => hide("all", t.tipPaused) }, t.pause)),
        el("label", {}, t.tipFeedback + " ", select));
      this.tipCard.setAttribute("aria-label", t.tip);
      this.tipCard.hidden = false;
    }
  }

  // A thumb icon drawn from a fixed path (emoji fonts are missing on some systems).
  function thumb(down) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    if (down) svg.setAttribute("transform", "rotate(180)");
    const path = document.createElementNS(NS, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z");
    svg.append(path);
    return svg;
  }

  function parseFrame(frame) {
    let event = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return null;
    try {
      return { event, data: JSON.parse(data.join("\n")) };
    } catch (_) {
      return null;
    }
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      return (body.error && body.error.message) || "HTTP " + response.status;
    } catch (_) {
      return "HTTP " + response.status;
    }
  }

  customElements.define("learnloop-widget", LearnloopWidget);
  const widget = document.createElement("learnloop-widget");
  const api = window.Learnloop || {};
  api.identify = (token) => widget.identify(token);
  api.open = () => widget.open();
  api.close = () => widget.close();
  window.Learnloop = api;
  const mount = () => {
    document.body.append(widget);
    if (script.dataset.token) widget.identify(script.dataset.token);
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
