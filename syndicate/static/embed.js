// <syndicate-feed>: a topic's latest work on a partner's page (docs/embedding.md).
// No dependencies, no build step. Safe by construction: feed text only ever becomes
// textContent, links and images only http(s) URLs; no inline styles (one constructable
// stylesheet), no eval, no cookies (credentials omitted), no storage. Until the feed has
// loaded, and if it cannot, the element shows what the partner put inside it.
const TAG = "syndicate-feed";
const CSS = `
:host{display:block;contain:content;font:inherit;color:var(--syndicate-color,#1b1b1b);
--fg-muted:var(--syndicate-muted,#595959);--fg-link:var(--syndicate-link,#0b57d0);
--rule:var(--syndicate-rule,#dcdcdc);--bg:var(--syndicate-background,#fff);
--pad-y:var(--syndicate-padding-block,.6em);--pad-x:var(--syndicate-padding-inline,1em);
--row:var(--syndicate-row-height,4.6em);--head:var(--syndicate-heading-height,2.4em)}
:host([summary]){--row:var(--syndicate-row-height,8.2em)}
@media (prefers-color-scheme:dark){:host(:not([theme=light])){color:var(--syndicate-color,#ececec);
--fg-muted:var(--syndicate-muted,#b8b8b8);--fg-link:var(--syndicate-link,#a8c7fa);
--rule:var(--syndicate-rule,#45474a);--bg:var(--syndicate-background,#1f2023)}}
:host([theme=dark]){color:var(--syndicate-color,#ececec);--fg-muted:var(--syndicate-muted,#b8b8b8);
--fg-link:var(--syndicate-link,#a8c7fa);--rule:var(--syndicate-rule,#45474a);--bg:var(--syndicate-background,#1f2023)}
[part~=box]{background:var(--bg);color:inherit;border:1px solid var(--rule);
border-radius:var(--syndicate-radius,.5em);padding:var(--pad-y) var(--pad-x);box-sizing:border-box;
min-height:calc(var(--head) + var(--rows,5) * var(--row) + var(--form,0px) + var(--follow,0px) + 2 * var(--pad-y) + 2px)}
:host{min-height:calc(var(--head) + var(--rows,5) * var(--row) + var(--form,0px) + var(--follow,0px) + 2 * var(--pad-y) + 2px)}
[part~=heading]{margin:0;font-size:1.15em;height:calc(var(--head) / 1.15);line-height:calc(var(--head) / 1.15);overflow:hidden;
white-space:nowrap;text-overflow:ellipsis}
ul{list-style:none;margin:0;padding:0}
[part~=item]{height:var(--row);box-sizing:border-box;padding:.45em 0;border-top:1px solid var(--rule);
overflow:hidden;display:grid;grid-template-columns:1fr;column-gap:.8em;align-content:start}
:host([images]) [part~=item]{grid-template-columns:calc(var(--row) - .9em) 1fr}
[part~=image]{grid-row:1/4;width:100%;aspect-ratio:1;object-fit:cover;border-radius:.3em;background:var(--rule)}
[part~=title]{margin:0;font-size:1em;line-height:1.3;display:-webkit-box;-webkit-box-orient:vertical;
-webkit-line-clamp:2;overflow:hidden;overflow-wrap:anywhere}
[part~=meta]{margin:.1em 0 0;font-size:.85em;line-height:1.4;color:var(--fg-muted);white-space:nowrap;
overflow:hidden;text-overflow:ellipsis}
[part~=summary]{margin:.25em 0 0;font-size:.9em;line-height:1.35;display:-webkit-box;-webkit-box-orient:vertical;
-webkit-line-clamp:3;overflow:hidden;overflow-wrap:anywhere}
a{color:var(--fg-link);text-underline-offset:.15em}
a:focus-visible{outline:2px solid var(--fg-link);outline-offset:2px;border-radius:2px}
[part~=cancelled] [part~=link]{text-decoration-line:line-through}
[part~=status]{font-weight:600}
[part~=empty]{margin:0;padding:.45em 0;border-top:1px solid var(--rule);color:var(--fg-muted)}
:host([signup]){--form:var(--syndicate-signup-height,3.4em)}
[part~=signup]{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;min-height:var(--form);padding:.45em 0;
border-top:1px solid var(--rule);box-sizing:border-box;font-size:.9em}
[part~=signup-email]{font:inherit;padding:.2em .4em;min-width:12em;margin-left:.3em}
[part~=signup-button]{font:inherit;padding:.2em .8em}
[part~=signup-status]{margin:0;flex-basis:100%;color:var(--fg-muted)}
[part~=signup-status]:empty{display:none}
:host([follow]){--follow:var(--syndicate-follow-height,2.4em)}
[part~=follow]{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;min-height:var(--follow);margin:0;
padding:.3em 0;border-top:1px solid var(--rule);box-sizing:border-box;font-size:.9em}
[part~=follow-handle]{overflow-wrap:anywhere}
[part~=follow-copy]{font:inherit;padding:.1em .6em}
.loaded slot,.box:not(.loaded) .feed{display:none}
`;
const SHEET = new CSSStyleSheet();
SHEET.replaceSync(CSS);
const STATUS = new Set(["cancelled", "postponed", "rescheduled", "moved-online"]);
const DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/;

/** An http(s) URL from feed text, or null: nothing else is ever followed or loaded. */
function safeURL(value, base) {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value, base);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

const text = (value) => (typeof value === "string" ? value : "");

function el(name, part, content) {
  const node = document.createElement(name);
  if (part) node.setAttribute("part", part);
  if (content) node.textContent = content;
  return node;
}

/** The feed to fetch: `src`, with `type` and `view` applied to its file name. */
function feedURL(src, type, view) {
  const url = new URL(src, document.baseURI);
  const name = /^(.*?\/)([a-z0-9][a-z0-9-]*)(?:\/(?:upcoming|past))?\.json$/.exec(url.pathname);
  if (name && (type || view)) {
    const slug = type && /^[a-z0-9][a-z0-9-]*$/.test(type) ? type : name[2];
    url.pathname = name[1] + slug + (view === "upcoming" || view === "past" ? `/${view}` : "") + ".json";
  }
  return url;
}

/** A publication date as the feeds' own pages write it, day month year ("5 November
 * 2026"), with the month in `lang`: the date as the feed gives it, never shifted by the
 * reader's zone. */
function formatDay(value, lang) {
  const [year, month, day] = value.slice(0, 10).split("-").map(Number);
  const noon = new Date(Date.UTC(year, month - 1, day, 12));
  let name;
  try {
    name = new Intl.DateTimeFormat(lang, { month: "long", timeZone: "UTC" }).format(noon);
  } catch {
    name = new Intl.DateTimeFormat("en", { month: "long", timeZone: "UTC" }).format(noon);
  }
  return `${day} ${name} ${year}`;
}

class SyndicateFeed extends HTMLElement {
  static observedAttributes = ["src", "limit", "type", "view", "lang", "signup", "follow"];

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    this.rows = new CSSStyleSheet();
    this.root.adoptedStyleSheets = [SHEET, this.rows];
    this.box = el("div", "box");
    this.box.className = "box";
    this.box.append(document.createElement("slot"));
    this.root.append(this.box);
    this.request = 0;
  }

  get limit() {
    const value = Number.parseInt(this.getAttribute("limit") || "5", 10);
    return Number.isFinite(value) ? Math.min(Math.max(value, 1), 50) : 5;
  }

  connectedCallback() {
    if (!this.shown) this.reserve(this.limit);  // space reserved before loading
    this.schedule();
  }

  attributeChangedCallback() {
    if (this.isConnected) this.schedule();
  }

  /** One load for every change made together: an element upgraded with its attributes
   * hears of each of them, and of its connection, in one go. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.isConnected) this.load();
    });
  }

  reserve(rows) {
    this.rows.replaceSync(`:host{--rows:${rows}}`);
  }

  async load() {
    const request = ++this.request;
    let url;
    try {
      url = feedURL(this.getAttribute("src") || "", this.getAttribute("type"), this.getAttribute("view"));
      if (this.shown && this.shown.url === url.href) {  // only how it shows changed
        this.render(this.shown.feed, url);
        return;
      }
      const response = await fetch(url, { credentials: "omit", headers: { Accept: "application/feed+json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const feed = await response.json();
      if (!feed || !Array.isArray(feed.items) || !text(feed.version).startsWith("https://jsonfeed.org/version/1")) {
        throw new Error("not a JSON Feed");
      }
      if (request === this.request) {
        this.shown = { url: url.href, feed };
        this.render(feed, url);
      }
    } catch (error) {
      if (request !== this.request || this.warned) return;
      this.warned = true;  // one warning per element; the partner's own content stays
      console.warn(`${TAG}: cannot show ${url || this.getAttribute("src")}: ${error.message}`);
    }
  }

  render(feed, base) {
    const lang = this.closest("[lang]")?.lang || document.documentElement.lang || text(feed.language) || undefined;
    const level = Math.min(Math.max(Number.parseInt(this.getAttribute("heading-level") || "2", 10) || 2, 1), 5);
    const wrapper = el("div");
    wrapper.className = "feed";
    const heading = el(`h${level}`, "heading");
    const home = safeURL(feed.home_page_url, base);
    const title = this.getAttribute("heading") || text(feed.title);
    heading.dir = "auto";
    heading.append(home ? Object.assign(el("a", "heading-link", title), { href: home }) : title);
    const list = el("ul", "list");
    for (const item of feed.items.slice(0, this.limit)) {
      if (item && typeof item === "object") list.append(this.item(item, base, lang, level + 1));
    }
    wrapper.append(heading, list.childElementCount ? list : el("p", "empty", "Nothing here yet."));
    if (this.hasAttribute("signup")) wrapper.append(this.signupForm(base));
    if (this.hasAttribute("follow")) wrapper.append(this.followLine(base));
    this.box.replaceChildren(document.createElement("slot"), wrapper);
    this.box.classList.add("loaded");
    // As many rows as there are items: fewer than `limit` leaves no blank block (`loaded`
    // lifts the space embed.css reserved on the element itself).
    this.reserve(Math.max(list.childElementCount, 1));
    this.setAttribute("loaded", "");
  }

  /** Email updates for this feed (docs/email.md): the service's JSON sign-up, answered
   * "check your inbox" whoever asks; its message is shown as text. */
  signupForm(base) {
    const form = el("form", "signup");
    const label = el("label", "signup-label", "Email updates ");
    const input = Object.assign(el("input", "signup-email"),
      { type: "email", name: "email", required: true, autocomplete: "email", maxLength: 254 });
    label.append(input);
    const button = Object.assign(el("button", "signup-button", "Sign up"), { type: "submit" });
    const status = el("p", "signup-status");
    status.setAttribute("role", "status");
    form.append(label, button, status);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.signup(base, input, button, status);
    });
    return form;
  }

  /** Following the feed's topic (or the whole site) from Mastodon (docs/fediverse.md): the
   * handle to search for, and a button that copies it. */
  followLine(base) {
    const topic = /^\/topics\/([a-z0-9][a-z0-9-]*)\//.exec(base.pathname);
    const handle = `@${topic ? topic[1] : "everything"}@${base.host}`;
    const line = el("p", "follow", "On Mastodon: ");
    const button = Object.assign(el("button", "follow-copy", "Copy"), { type: "button" });
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(handle);
        button.textContent = "Copied";
      } catch (error) {
        button.textContent = "Copy it by hand";
      }
    });
    line.append(el("code", "follow-handle", handle), " ", button);
    return line;
  }

  async signup(base, input, button, status) {
    const feed = /^(?:\/topics\/([a-z0-9][a-z0-9-]*))?\/([a-z0-9][a-z0-9-]*)(?:\/(?:upcoming|past))?\.json$/.exec(base.pathname);
    const body = {
      email: input.value,
      topic: feed && feed[1] ? feed[1] : "*",
      type: feed && feed[2] !== "feed" ? feed[2] : "*",
      frequency: this.getAttribute("signup") === "weekly" ? "weekly" : "instant",
    };
    button.disabled = true;
    try {
      const response = await fetch(new URL("/email/subscribe", base), {
        method: "POST", credentials: "omit", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      status.textContent = text(answer.message) || (response.ok ? "Check your inbox." : `Sign-up failed (HTTP ${response.status}).`);
      if (response.ok) input.value = "";
    } catch (error) {
      status.textContent = "Sign-up is not available right now.";
    } finally {
      button.disabled = false;
    }
  }

  item(item, base, lang, level) {
    const event = item._event && typeof item._event === "object" ? item._event : null;
    const status = event && STATUS.has(event.status) ? event.status : null;
    const li = el("li", ["item", event && "event", status].filter(Boolean).join(" "));
    const image = this.hasAttribute("images") ? safeURL(item.image, base) : null;
    if (this.hasAttribute("images")) {  // decorative: the title says what the item is
      li.append(image
        ? Object.assign(el("img", "image"), { src: image, alt: "", loading: "lazy", decoding: "async", referrerPolicy: "no-referrer" })
        : el("span", "image"));
    }
    const heading = el(`h${level}`, "title");
    heading.dir = "auto";
    const url = safeURL(item.url, base);
    const title = text(item.title) || text(item.summary).slice(0, 80) || url || "";
    heading.append(url ? Object.assign(el("a", "link", title), { href: url }) : title);
    li.append(heading);
    const meta = el("p", "meta");
    const time = el("time", "date");
    if (event) {
      const place = event.location && typeof event.location === "object" ? text(event.location.text) : "";
      time.textContent = text(event.text);  // the feed's own words, as its pages write them
      if (DATE.test(text(event.start))) time.dateTime = event.start;
      meta.append(time);
      const where = place || (safeURL(event.online_url, base) ? "Online" : "");
      if (where) meta.append(" · ", el("span", "place", where));
    } else if (DATE.test(text(item.date_published))) {
      time.textContent = formatDay(item.date_published, lang) || "";
      time.dateTime = item.date_published;
      meta.append(time);
    }
    li.append(meta);
    if (this.hasAttribute("summary") && text(item.summary)) {
      const summary = el("p", "summary", item.summary);
      summary.dir = "auto";
      li.append(summary);
    }
    return li;
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, SyndicateFeed);
