// Newsbot playground: a Telegram-like chat page over the playground's JSON API and event stream.
// Messages arrive as plain text plus Telegram entities (UTF-16 offsets, like JavaScript strings) and are
// turned into DOM nodes here; no HTML from the bot or the users is ever parsed or injected.
"use strict";

const state = {
  bot: null,
  topics: [],
  articlesDir: "",
  watchSeconds: 0,
  demoFeed: "",
  drafts: new Map(), // chat id -> unsent text, kept while another chat is open
  chats: new Map(), // id -> chat (with .messages: Map id -> message, .notes: [])
  order: [],
  current: null,
  speaker: new Map(), // chat id -> user id the page speaks as
  unread: new Map(),
  typingUntil: new Map(), // chat id -> time the typing indicator ends
  replyTo: null,
  loading: false,
  queued: [],
  suggestions: { kind: null, items: [], selected: 0 },
  inlineSeq: 0,
};

const $ = (id) => document.getElementById(id);
const TYPING_MS = 5000; // Telegram shows a chat action for five seconds or until the next message

// ------------------------------------------------------------------ talking to the server

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `the playground answered ${response.status}`);
  return data;
}

async function loadState() {
  state.loading = true;
  state.queued = [];
  try {
    const data = await api("/api/state");
    state.bot = data.bot;
    state.topics = data.topics;
    state.articlesDir = data.articles_dir;
    state.watchSeconds = data.watch_seconds;
    state.demoFeed = data.demo_feed;
    const chats = new Map();
    for (const chat of data.chats) {
      const known = state.chats.get(chat.id);
      chat.messages = new Map(chat.messages.map((m) => [m.id, m]));
      chat.notes = known ? known.notes : [];
      chats.set(chat.id, chat);
      if (!state.speaker.has(chat.id)) state.speaker.set(chat.id, chat.members[0].id);
    }
    state.chats = chats; // a restarted playground may have other chats: the server's list wins
    state.order = data.chats.map((chat) => chat.id);
    const wanted = chatInHash();
    if (!state.chats.has(state.current)) state.current = state.chats.has(wanted) ? wanted : state.order[0];
  } finally {
    state.loading = false;
  }
  // Events that arrived while the snapshot was on its way are newer than it: apply them on top.
  for (const event of state.queued.splice(0)) apply(event);
  renderSidebar();
  renderChat(true);
}

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => {
    setConnection("live", "connected · live updates");
    loadState().catch((error) => showToast(error.message, true));
  };
  source.onerror = () => setConnection("lost", "connection lost · retrying…");
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (state.loading) state.queued.push(event);
    else apply(event);
  };
}

function setConnection(kind, text) {
  const box = $("connection");
  box.dataset.state = kind;
  box.textContent = text;
}

// ------------------------------------------------------------------ live events

function apply(event) {
  if (event.type === "message") {
    const message = event.message;
    const chat = state.chats.get(message.chat_id);
    if (!chat) return;
    const isNew = !chat.messages.has(message.id);
    chat.messages.set(message.id, message);
    if (message.from.bot) state.typingUntil.delete(chat.id);
    if (isNew && chat.id !== state.current && message.from.id !== state.speaker.get(chat.id)) {
      state.unread.set(chat.id, (state.unread.get(chat.id) || 0) + 1);
    }
    if (chat.id === state.current) {
      showMessage(chat, message, message.from.id === state.speaker.get(chat.id));
      renderStatus();
    }
    renderSidebar();
  } else if (event.type === "deleted") {
    const chat = state.chats.get(event.chat_id);
    if (chat && chat.messages.delete(event.id) && chat.id === state.current) {
      const node = document.getElementById(`m-${chat.id}-${event.id}`);
      if (node) node.remove();
    }
  } else if (event.type === "action" && event.action === "typing") {
    state.typingUntil.set(event.chat_id, Date.now() + TYPING_MS);
    renderStatus();
    renderSidebar();
    setTimeout(() => { renderStatus(); renderSidebar(); }, TYPING_MS + 50);
  } else if (event.type === "toast" && event.chat_id === state.current) {
    showToast(event.text, event.alert);
  }
}

function isTyping(chatId) {
  return (state.typingUntil.get(chatId) || 0) > Date.now();
}

// ------------------------------------------------------------------ sidebar

function initials(title) {
  return title.trim().charAt(0).toUpperCase();
}

function lastMessage(chat) {
  let last = null;
  for (const message of chat.messages.values()) if (!last || message.id > last.id) last = message;
  return last;
}

function clock(seconds) {
  if (!seconds) return "";
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderSidebar() {
  const list = $("chat-list");
  const items = state.order.map((id, index) => {
    const chat = state.chats.get(id);
    const last = lastMessage(chat);
    const item = el("button", { className: "chat-item", type: "button" });
    item.dataset.chatId = String(id);
    if (id === state.current) item.classList.add("active");
    item.addEventListener("click", () => openChat(id));
    item.append(el("div", { className: `avatar c${(index % 3) + 1}`, textContent: initials(chat.title) }));
    const body = el("div", { className: "body" });
    const top = el("div", { className: "top" });
    top.append(el("span", { className: "name", textContent: chat.title }));
    top.append(el("span", { className: "time", textContent: last ? clock(last.date) : "" }));
    const preview = el("div", { className: "preview" });
    if (isTyping(id)) {
      preview.append(el("span", { className: "typing", textContent: `${state.bot.name} is typing…` }));
    } else {
      const who = last ? (last.from.id === state.speaker.get(id) ? "You: " : `${last.from.name}: `) : "";
      const text = last ? last.text.split("\n")[0] : chat.purpose;
      preview.append(el("span", { textContent: who + text }));
    }
    const unread = state.unread.get(id) || 0;
    if (unread) preview.append(el("span", { className: "badge live", textContent: String(unread) }));
    body.append(top, preview);
    item.append(body);
    return item;
  });
  list.replaceChildren(...items);
}

function chatInHash() {
  return Number(new URLSearchParams(location.hash.slice(1)).get("chat"));
}

function openChat(id) {
  if (id === state.current) return;
  const input = $("input");
  state.drafts.set(state.current, input.value);
  input.value = state.drafts.get(id) || "";
  autoGrow();
  state.current = id;
  state.unread.delete(id);
  state.replyTo = null;
  $("toast").hidden = true;
  history.replaceState(null, "", `#chat=${id}`);
  hideSuggestions();
  renderSidebar();
  renderChat(true);
  $("input").focus();
}

// ------------------------------------------------------------------ the open chat

function renderStatus() {
  const chat = state.chats.get(state.current);
  if (!chat) return;
  const status = $("chat-status");
  if (isTyping(chat.id)) {
    status.textContent = chat.kind === "group" ? `${state.bot.name} is typing…` : "typing…";
    status.className = "typing";
  } else {
    status.textContent = chat.kind === "group"
      ? `${chat.members.length + 1} members: ${chat.members.map((m) => m.name).join(", ")} and @${state.bot.username}`
      : `bot · @${state.bot.username}`;
    status.className = "";
  }
}

function renderChat(scrollToEnd) {
  const chat = state.chats.get(state.current);
  if (!chat) return;
  const index = state.order.indexOf(chat.id);
  const avatar = $("chat-avatar");
  avatar.textContent = initials(chat.title);
  avatar.className = `avatar c${(index % 3) + 1}`;
  $("chat-title").textContent = chat.title;
  renderStatus();
  const speakerBox = $("speaker-box");
  speakerBox.hidden = chat.members.length < 2;
  if (!speakerBox.hidden) {
    const select = $("speaker");
    if (select.dataset.chat !== String(chat.id)) {
      select.dataset.chat = String(chat.id);
      select.replaceChildren(...chat.members.map((m) => el("option", { value: String(m.id), textContent: m.name })));
    }
    select.value = String(state.speaker.get(chat.id));
  }
  $("article-open").hidden = !chat.admin;
  $("publish-story").hidden = !chat.admin;
  $("publish-event").hidden = !chat.admin;
  renderReplyBar();

  const box = $("messages");
  const nearEnd = isNearEnd(box);
  const nodes = [el("div", { className: "service purpose", textContent: chat.purpose })];
  const sorted = [...chat.messages.values()].sort((a, b) => a.id - b.id);
  const notes = [...chat.notes];
  for (const message of sorted) {
    while (notes.length && notes[0].after < message.id) nodes.push(noteNode(notes.shift()));
    nodes.push(messageNode(chat, message));
  }
  for (const note of notes) nodes.push(noteNode(note));
  box.replaceChildren(...nodes);
  if (scrollToEnd || nearEnd) box.scrollTop = box.scrollHeight;
}

function isNearEnd(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

// One new or edited message: only its node changes, so the rest of the chat keeps its state.
function showMessage(chat, message, scrollToEnd) {
  const box = $("messages");
  const nearEnd = isNearEnd(box);
  const node = messageNode(chat, message);
  const existing = document.getElementById(node.id);
  if (existing) {
    existing.replaceWith(node);
  } else {
    const later = [...box.querySelectorAll(".msg")].find((other) => Number(other.dataset.id) > message.id);
    if (later) box.insertBefore(node, later);
    else box.append(node);
  }
  if (scrollToEnd || nearEnd) box.scrollTop = box.scrollHeight;
}

function noteNode(note) {
  const node = el("div", { className: "service note" });
  node.append(renderText(note.text, note.entities || []));
  return node;
}

function messageNode(chat, message) {
  const outgoing = message.from.id === state.speaker.get(chat.id);
  const node = el("div", { className: `msg ${outgoing ? "out" : "in"}` });
  node.id = `m-${chat.id}-${message.id}`;
  node.dataset.id = String(message.id);
  node.dataset.from = message.from.bot ? "bot" : "user";
  const bubble = el("div", { className: "bubble" });
  if (chat.kind === "group" && !outgoing) {
    const colour = message.from.bot ? "" : ` u${(chat.members.findIndex((m) => m.id === message.from.id) % 2) + 2}`;
    bubble.append(el("div", { className: `sender${colour}`, textContent: message.from.name }));
  }
  if (message.reply_to) {
    const quote = el("div", { className: "quote" });
    quote.append(el("strong", { textContent: message.reply_to.name }));
    quote.append(el("span", { textContent: message.reply_to.text || "Message" }));
    quote.addEventListener("click", () => flashMessage(chat.id, message.reply_to.id));
    bubble.append(quote);
  }
  const meta = el("span", { className: "meta" });
  if (message.via_bot) meta.append(el("span", { className: "via", textContent: `via @${message.via_bot} ` }));
  if (message.edited) meta.append("edited ");
  meta.append(clock(message.date));
  const text = el("div", { className: "text" });
  text.append(renderText(message.text, message.entities), meta);
  bubble.append(text);
  node.append(bubble);
  if (message.buttons.length) node.append(keyboardNode(chat, message));
  const reply = el("button", { className: "reply-action", type: "button", textContent: "↩" });
  reply.title = "Reply";
  reply.setAttribute("aria-label", "Reply to this message");
  reply.addEventListener("click", () => startReply(message));
  node.append(reply);
  bubble.addEventListener("dblclick", () => startReply(message));
  return node;
}

function keyboardNode(chat, message) {
  const keyboard = el("div", { className: "keyboard" });
  for (const row of message.buttons) {
    const line = el("div", { className: "row" });
    for (const button of row) {
      if (button.url !== undefined) {
        const link = el("a", { textContent: `${button.text} ↗`, target: "_blank", rel: "noopener noreferrer" });
        const href = safeUrl(button.url);
        if (href) link.href = href;
        line.append(link);
        continue;
      }
      const press = el("button", { type: "button", textContent: button.text });
      press.dataset.callback = button.data;
      press.addEventListener("click", async () => {
        press.disabled = true;
        try {
          await api("/api/click", {
            chat_id: chat.id, user_id: state.speaker.get(chat.id), message_id: message.id, data: button.data,
          });
        } catch (error) {
          showToast(error.message, true);
        } finally {
          press.disabled = false;
        }
      });
      line.append(press);
    }
    keyboard.append(line);
  }
  return keyboard;
}

function flashMessage(chatId, messageId) {
  const node = document.getElementById(`m-${chatId}-${messageId}`);
  if (!node) return;
  node.scrollIntoView({ block: "center", behavior: "smooth" });
  node.classList.remove("flash");
  void node.offsetWidth; // restart the animation
  node.classList.add("flash");
}

// ------------------------------------------------------------------ text with entities

function el(tag, props) {
  return Object.assign(document.createElement(tag), props || {});
}

function safeUrl(url) {
  const text = String(url || "").trim();
  if (/^(https?|tg|mailto):/i.test(text)) return text;
  if (/^[\w.-]+\.[a-z]{2,}(\/\S*)?$/i.test(text)) return `http://${text}`;
  return null;
}

function entityNode(entity, covered) {
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": {
      const pre = el("pre");
      if (entity.language) pre.dataset.language = entity.language;
      return pre;
    }
    case "blockquote":
    case "expandable_blockquote": return el("blockquote");
    case "spoiler": {
      const spoiler = el("span", { className: "spoiler", title: "Spoiler: click to show" });
      spoiler.addEventListener("click", () => spoiler.classList.toggle("shown"));
      return spoiler;
    }
    case "text_link":
    case "url": {
      const href = safeUrl(entity.type === "url" ? covered : entity.url);
      if (!href) return el("span");
      return el("a", { href, target: "_blank", rel: "noopener noreferrer" });
    }
    case "bot_command": {
      const command = el("span", { className: "bot-command", title: "Send this command" });
      command.addEventListener("click", () => sendText(covered.split("@")[0]));
      return command;
    }
    case "mention":
    case "text_mention": return el("span", { className: "mention" });
    case "hashtag":
    case "cashtag": return el("span", { className: "hashtag" });
    default: return el("span");
  }
}

// Builds nested DOM nodes for entities (sorted outer-first); an entity reaching past its parent is
// clipped to it, which is how overlapping entities display in Telegram as well.
function renderText(text, entities) {
  const root = document.createDocumentFragment();
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const stack = [{ node: root, end: text.length }];
  let position = 0;
  const emit = (upTo) => {
    if (upTo > position) {
      stack[stack.length - 1].node.append(text.slice(position, upTo));
      position = upTo;
    }
  };
  for (const entity of sorted) {
    const start = Math.max(entity.offset, position);
    while (stack.length > 1 && stack[stack.length - 1].end <= start) {
      emit(stack[stack.length - 1].end);
      stack.pop();
    }
    const parent = stack[stack.length - 1];
    const end = Math.min(entity.offset + entity.length, parent.end);
    if (end <= start) continue;
    emit(start);
    const node = entityNode(entity, text.slice(start, end));
    parent.node.append(node);
    stack.push({ node, end });
  }
  while (stack.length > 1) {
    emit(stack[stack.length - 1].end);
    stack.pop();
  }
  emit(text.length);
  return root;
}

// ------------------------------------------------------------------ writing

function startReply(message) {
  state.replyTo = { chat: state.current, id: message.id, name: message.from.name, text: message.text };
  renderReplyBar();
  $("input").focus();
}

function renderReplyBar() {
  const reply = state.replyTo && state.replyTo.chat === state.current ? state.replyTo : null;
  $("reply-bar").hidden = !reply;
  if (reply) {
    $("reply-name").textContent = `Reply to ${reply.name}`;
    $("reply-text").textContent = reply.text.split("\n")[0];
  }
}

async function sendText(text) {
  const chatId = state.current;
  const reply = state.replyTo && state.replyTo.chat === chatId ? state.replyTo.id : null;
  state.replyTo = null;
  renderReplyBar();
  try {
    await api("/api/send", { chat_id: chatId, user_id: state.speaker.get(chatId), text, reply_to: reply });
  } catch (error) {
    showToast(error.message, true);
  }
}

function submitInput() {
  const input = $("input");
  const text = input.value;
  if (!text.trim()) return;
  input.value = "";
  autoGrow();
  hideSuggestions();
  sendText(text);
}

function autoGrow() {
  const input = $("input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

// ------------------------------------------------------------------ suggestions: commands and inline mode

let inlineTimer = null;

function onInput() {
  autoGrow();
  const value = $("input").value;
  const chat = state.chats.get(state.current);
  const username = state.bot ? state.bot.username.toLowerCase() : "";
  const inline = value.match(/^@(\w+)\s([\s\S]*)$/);
  clearTimeout(inlineTimer);
  if (inline && inline[1].toLowerCase() === username) {
    const query = inline[2];
    inlineTimer = setTimeout(() => runInline(query), 250);
  } else if (/^@\w*$/.test(value) && username.startsWith(value.slice(1).toLowerCase())) {
    showSuggestions("mention", [{
      title: `@${state.bot.username}`,
      description: "inline mode: type a question after the name",
      pick: () => { $("input").value = `@${state.bot.username} `; onInput(); },
    }]);
  } else if (/^\/\w*$/.test(value) && chat) {
    const prefix = value.slice(1).toLowerCase();
    const items = chat.commands
      .filter((c) => c.command.startsWith(prefix))
      .map((c) => ({
        title: `/${c.command}`,
        description: c.description,
        pick: () => { $("input").value = ""; hideSuggestions(); sendText(`/${c.command}`); },
      }));
    if (items.length) showSuggestions("command", items);
    else hideSuggestions();
  } else {
    hideSuggestions();
  }
}

async function runInline(query) {
  const chatId = state.current;
  const seq = ++state.inlineSeq;
  let data;
  try {
    data = await api("/api/inline", { chat_id: chatId, user_id: state.speaker.get(chatId), query });
  } catch (error) {
    if (seq === state.inlineSeq) showSuggestions("inline", [{ note: true, title: error.message }]);
    return;
  }
  if (seq !== state.inlineSeq || chatId !== state.current) return; // a newer query is on its way
  if (!data.results.length) {
    showSuggestions("inline", [{ note: true, title: "No results", description: "Try other words." }]);
    return;
  }
  showSuggestions("inline", data.results.map((result) => ({
    title: result.title,
    description: result.description,
    id: result.id,
    pick: async () => {
      $("input").value = "";
      hideSuggestions();
      try {
        await api("/api/inline/pick", {
          chat_id: chatId, user_id: state.speaker.get(chatId), query_id: data.query_id, result_id: result.id,
        });
      } catch (error) {
        showToast(error.message, true);
      }
    },
  })));
}

function showSuggestions(kind, items) {
  state.suggestions = { kind, items, selected: 0 };
  const list = $("suggestions");
  list.dataset.kind = kind;
  list.replaceChildren(...items.map((item, index) => {
    const row = el("li", { className: item.note ? "note" : "" });
    row.setAttribute("role", "option");
    if (index === 0 && !item.note) row.classList.add("selected");
    if (item.id !== undefined) row.dataset.resultId = item.id;
    row.append(el("strong", { textContent: item.title }));
    if (item.description) row.append(el("small", { textContent: item.description }));
    if (item.pick) row.addEventListener("mousedown", (event) => { event.preventDefault(); item.pick(); });
    return row;
  }));
  list.hidden = false;
}

function hideSuggestions() {
  state.suggestions = { kind: null, items: [], selected: 0 };
  state.inlineSeq += 1;
  $("suggestions").hidden = true;
}

function moveSelection(step) {
  const { items } = state.suggestions;
  if (!items.length || items[0].note) return;
  state.suggestions.selected = (state.suggestions.selected + step + items.length) % items.length;
  [...$("suggestions").children].forEach((row, index) => {
    row.classList.toggle("selected", index === state.suggestions.selected);
    if (index === state.suggestions.selected) row.scrollIntoView({ block: "nearest" });
  });
}

function onKeyDown(event) {
  const open = !$("suggestions").hidden && state.suggestions.items.length && !state.suggestions.items[0].note;
  if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    moveSelection(event.key === "ArrowDown" ? 1 : -1);
  } else if (open && (event.key === "Tab" || (event.key === "Enter" && state.suggestions.kind !== "mention"))) {
    event.preventDefault();
    state.suggestions.items[state.suggestions.selected].pick();
  } else if (event.key === "Escape") {
    hideSuggestions();
    state.replyTo = null;
    renderReplyBar();
  } else if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    submitInput();
  }
}

// ------------------------------------------------------------------ toasts and the add-article form

let toastTimer = null;

function showToast(text, alert) {
  const toast = $("toast");
  toast.textContent = text;
  toast.className = alert ? "toast alert" : "toast";
  toast.hidden = false;
  clearTimeout(toastTimer);
  if (!alert) toastTimer = setTimeout(() => { toast.hidden = true; }, 3500);
}

function openArticleForm() {
  const form = $("article-form");
  form.reset();
  $("article-error").hidden = true;
  $("article-target").textContent = state.articlesDir;
  $("article-watcher").textContent = state.watchSeconds > 0
    ? ` (or wait up to ${state.watchSeconds} s for the corpus watcher)` : "";
  $("topic-choices").replaceChildren(...state.topics.map((topic) => {
    const label = el("label");
    const box = el("input", { type: "checkbox", name: "topic", value: topic.slug });
    label.append(box, topic.name);
    label.title = topic.slug;
    return label;
  }));
  $("article-dialog").showModal();
  form.elements.title.focus();
}

async function saveArticle(event) {
  event.preventDefault();
  const form = $("article-form");
  const chatId = state.current;
  const topics = [...form.querySelectorAll("input[name=topic]:checked")].map((box) => box.value);
  try {
    const saved = await api("/api/articles", {
      title: form.elements.title.value,
      body: form.elements.body.value,
      source: form.elements.source.value,
      topics,
    });
    $("article-dialog").close();
    const chat = state.chats.get(chatId);
    const later = state.watchSeconds > 0 ? ", or wait for the corpus watcher" : "";
    const text = `Wrote ${saved.path} (id ${saved.id}). Send /reload to index it now${later}.`;
    const start = text.indexOf("/reload");
    const note = { after: lastMessage(chat) ? lastMessage(chat).id : 0, text,
      entities: [{ type: "bot_command", offset: start, length: "/reload".length }] };
    chat.notes.push(note);
    if (chat.id === state.current) {
      $("messages").append(noteNode(note));
      $("messages").scrollTop = $("messages").scrollHeight;
    }
  } catch (error) {
    const box = $("article-error");
    box.textContent = error.message;
    box.hidden = false;
  }
}

function addNote(chatId, text, command) {
  const chat = state.chats.get(chatId);
  const start = command ? text.indexOf(command) : -1;
  const entities = start >= 0 ? [{ type: "bot_command", offset: start, length: command.length }] : [];
  const note = { after: lastMessage(chat) ? lastMessage(chat).id : 0, text, entities };
  chat.notes.push(note);
  if (chat.id === state.current) {
    $("messages").append(noteNode(note));
    $("messages").scrollTop = $("messages").scrollHeight;
  }
}

async function publishStory() {
  const chatId = state.current;
  try {
    const story = await api("/api/demo/publish", {});
    addNote(chatId, `Published “${story.title}” to the demo feed ${story.feed}. The bot polls it every `
      + `${story.poll_seconds} s: it fetches the story's page for the full text, answers questions about it, `
      + `and alerts chats subscribed to its topic or words. /sources shows the feed's health.`, "/sources");
  } catch (error) {
    showToast(error.message, true);
  }
}

async function publishEvent() {
  const chatId = state.current;
  try {
    const event = await api("/api/demo/event", {});
    const topic = state.topics.find((t) => t.slug === event.topic);
    const who = topic ? `chats subscribed to ${topic.name}` : "subscribed chats";
    addNote(chatId, `${event.first} reported “${event.title}” (${event.feed}). The bot reads it within `
      + `${event.poll_seconds} s and ${who} get one alert; ${event.follow_seconds} s after that read, `
      + `${event.second} runs its own report of the same event, and the alert is edited to show `
      + `“+1 source”. No subscription yet? /topics has the buttons.`, "/topics");
  } catch (error) {
    showToast(error.message, true);
  }
}

// ------------------------------------------------------------------ start

function start() {
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); submitInput(); });
  const input = $("input");
  input.addEventListener("input", onInput);
  input.addEventListener("keydown", onKeyDown);
  input.addEventListener("blur", () => setTimeout(hideSuggestions, 150));
  $("reply-cancel").addEventListener("click", () => { state.replyTo = null; renderReplyBar(); });
  $("speaker").addEventListener("change", (event) => {
    state.speaker.set(state.current, Number(event.target.value));
    renderChat(false);
    renderSidebar();
  });
  $("toast").addEventListener("click", () => { $("toast").hidden = true; });
  $("article-open").addEventListener("click", openArticleForm);
  $("publish-story").addEventListener("click", publishStory);
  $("publish-event").addEventListener("click", publishEvent);
  $("article-cancel").addEventListener("click", () => $("article-dialog").close());
  $("article-form").addEventListener("submit", saveArticle);
  window.addEventListener("hashchange", () => {
    if (state.chats.has(chatInHash())) openChat(chatInHash());
  });
  connect();
}

document.addEventListener("DOMContentLoaded", start);
