// The service's own pages (templates/): copy buttons and the embed builder. Progressive:
// without this script every URL is still a link and the snippet is shown as written.
const announce = (message) => {
  const region = document.getElementById("announce");
  if (region) region.textContent = message;
};

for (const button of document.querySelectorAll("button.copy")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = button.dataset.copyFrom && document.getElementById(button.dataset.copyFrom);
    const text = source ? source.textContent : button.dataset.copy;
    try {
      await navigator.clipboard.writeText(text);
      announce("Copied.");
    } catch {
      announce("Could not copy: select the text and copy it instead.");
    }
  });
}

const escape = (value) =>
  String(value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function builder(form) {
  const snippet = document.getElementById("b-snippet");
  const preview = document.getElementById("b-preview");
  const { rowHeight, headingHeight, embedScript, embedStyle, home } = form.dataset;

  function update() {
    const option = form.feed.selectedOptions[0];
    const title = option.textContent;
    const limit = Math.min(Math.max(Number.parseInt(form.limit.value, 10) || 5, 1), 50);
    const how = form.how.value;
    const theme = form.theme.value;
    form.summary.disabled = form.images.disabled = how !== "component";
    let code;
    let shown;
    if (how === "component") {
      const attributes = { src: option.value, limit: String(limit) };
      if (form.summary.checked) attributes.summary = "";
      if (form.images.checked) attributes.images = "";
      if (theme) attributes.theme = theme;
      const written = Object.entries(attributes)
        .map(([name, value]) => (value === "" ? name : `${name}="${escape(value)}"`)).join(" ");
      code = `<link rel="stylesheet" href="${escape(embedStyle)}">\n` +
        `<script type="module" src="${escape(embedScript)}"></script>\n` +
        `<syndicate-feed ${written}>\n  <a href="${escape(home)}">${escape(title)}</a>\n</syndicate-feed>`;
      shown = document.createElement("syndicate-feed");
      for (const [name, value] of Object.entries(attributes)) shown.setAttribute(name, value);
      const fallback = document.createElement("a");
      fallback.href = home;
      fallback.textContent = title;
      shown.append(fallback);
    } else if (how === "iframe") {
      const src = option.dataset.frame + (theme ? `#${theme}` : "");
      const height = Number(headingHeight) + limit * Number(rowHeight);
      code = `<iframe src="${escape(src)}" title="${escape(title)}" width="100%" height="${height}" ` +
        `loading="lazy" sandbox="allow-popups allow-top-navigation-by-user-activation"></iframe>`;
      shown = document.createElement("iframe");
      Object.assign(shown, { src, title, width: "100%", height: String(height), loading: "lazy" });
      shown.setAttribute("sandbox", "allow-popups allow-top-navigation-by-user-activation");
    } else {
      const url = new URL(option.dataset.fragment);
      code = `<!-- nginx SSI (proxy ${url.origin} under /feeds/ first); ESI: <esi:include src="${escape(url.href)}"/> -->\n` +
        `<!--# include virtual="/feeds${escape(url.pathname)}" -->`;
      shown = document.createElement("p");
      const link = document.createElement("a");
      link.href = url.href;
      link.textContent = "Open the fragment";
      shown.append("A fragment has no style of its own: it takes your site's. ", link, ".");
    }
    snippet.textContent = code;
    preview.replaceChildren(shown);
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => event.preventDefault());
  update();
}

const form = document.getElementById("builder");
if (form) builder(form);
