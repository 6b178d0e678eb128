/* recsvc site widget: <script src="https://recs.example/widget.js" data-api="https://recs.example" async></script>
 * Every <div data-recsvc="KIND"> of the page becomes a list of items; markup, classes and options are in
 * docs/integration.md. When the service is down or slow the element stays as it was and nothing is thrown. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.recsvc && window.recsvc.version)) return;
  var setting = function (name) { return script.getAttribute("data-" + name); };
  var api = (setting("api") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var timeoutMs = Number(setting("timeout")) || 2500;
  var itemUrl = setting("item-url"); // e.g. "/product/{item_id}", for items without a url in the catalog
  var currency = setting("currency");
  var LABELS = {
    recommendations: "Recommended for you", "also-bought": "Customers also bought", similar: "Similar items",
    popular: "Popular right now", session: "Picked for you", "recently-viewed": "Recently viewed",
    "buy-again": "Buy it again"
  };
  var VIEWED_KEY = "recsvc.viewed", VISITOR_KEY = "recsvc.visitor", MAX_VIEWED = 20;
  var CSS = ":where(.recsvc-list){display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));" +
    "gap:1rem;list-style:none;margin:0;padding:0}:where(.recsvc-title){font-weight:600;margin:0 0 .5rem}" +
    ":where(.recsvc-link){display:flex;flex-direction:column;gap:.25rem;color:inherit;text-decoration:none}" +
    ":where(.recsvc-link:focus-visible){outline:2px solid currentColor;outline-offset:2px}" +
    ":where(.recsvc-image){width:100%;aspect-ratio:1;object-fit:cover;border-radius:4px;background:#f2f2f2}" +
    ":where(.recsvc-price){font-weight:600}";
  var counter = 0, memoryVisitor = null, noop = function () {};

  function stored(area, key) {
    try { return window[area].getItem(key); } catch (e) { return null; } // storage may be disabled
  }
  function store(area, key, value) {
    try { window[area].setItem(key, value); } catch (e) { /* private mode: kept for this page only */ }
  }
  function randomId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function visitorId() {
    var id = stored("localStorage", VISITOR_KEY) || memoryVisitor;
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      id = randomId();
      store("localStorage", VISITOR_KEY, id);
    }
    memoryVisitor = id;
    return id;
  }
  function viewed() {
    try {
      var list = JSON.parse(stored("sessionStorage", VIEWED_KEY) || "[]");
      return Array.isArray(list) ? list.filter(function (i) { return typeof i === "string"; }) : [];
    } catch (e) { return []; }
  }
  function remember(itemId) {
    if (typeof itemId !== "string" || !itemId) return;
    var list = viewed().filter(function (i) { return i !== itemId; });
    list.unshift(itemId);
    store("sessionStorage", VIEWED_KEY, JSON.stringify(list.slice(0, MAX_VIEWED)));
  }

  function query(params) {
    var parts = [];
    for (var name in params) {
      if (params[name]) parts.push(name + "=" + encodeURIComponent(params[name]));
    }
    return parts.length ? "?" + parts.join("&") : "";
  }
  /* What to ask the service for one element, or null when the element lacks what its kind needs. The user's
   * token (data-user-token) lets a list name and re-offer what the user viewed and leave out what they bought. */
  function requestFor(el, kind) {
    var attr = function (name) { return el.getAttribute("data-" + name) || ""; };
    var limit = attr("limit"), user = attr("user-id"), item = attr("item-id"), token = attr("user-token");
    var users = "/v1/users/" + encodeURIComponent(user), items = "/v1/items/" + encodeURIComponent(item);
    switch (kind) {
      case "recommendations":
        return user && {
          path: users + "/recommendations" + query({ limit: limit, category: attr("category") }), token: token
        };
      case "also-bought": // user_id needs the user's token: without it, the list is the item's alone
        return item && { path: items + "/also-bought" + query({ limit: limit, user_id: token && user }), token: token };
      case "similar":
        return item && { path: items + "/similar" + query({ limit: limit }) };
      case "popular":
        return { path: "/v1/popular" + query({ limit: limit, category: attr("category") }) };
      case "session":
        var body = { items: viewed(), visitor_id: visitorId() }; // the visitor's arm in an A/B test
        if (Number(limit)) body.limit = Number(limit);
        return { path: "/v1/sessions/recommendations", body: body };
      case "recently-viewed":
      case "buy-again":
        return user && token && { path: users + "/" + kind + query({ limit: limit }), token: token };
    }
    return null;
  }
  function fetchAnswer(req) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var init = { method: req.body ? "POST" : "GET", headers: {}, credentials: "omit" };
    if (controller) init.signal = controller.signal;
    if (req.body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(req.body);
    }
    if (req.token) init.headers.Authorization = "Bearer " + req.token;
    var timer;
    var late = new Promise(function (_, reject) {
      timer = setTimeout(function () {
        if (controller) controller.abort();
        reject(new Error("recsvc: no answer within " + timeoutMs + " ms"));
      }, timeoutMs);
    });
    var answer = fetch(api + req.path, init).then(function (response) {
      if (!response.ok) throw new Error("recsvc: " + response.status);
      return response.json();
    });
    return Promise.race([answer, late]).then(
      function (value) { clearTimeout(timer); return value; },
      function (error) { clearTimeout(timer); throw error; }
    );
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  }
  function price(value) {
    try {
      var options = currency ? { style: "currency", currency: currency } : { minimumFractionDigits: 2, maximumFractionDigits: 2 };
      return new Intl.NumberFormat(document.documentElement.lang || undefined, options).format(value);
    } catch (e) { return value.toFixed(2); }
  }
  function part(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function render(el, kind, answer) {
    var items = answer && Array.isArray(answer.items) ? answer.items : [];
    if (!items.length) return false;
    var list = part("ul", "recsvc-list");
    list.setAttribute("role", "list"); // list-style:none drops the list role in some screen readers
    var title = el.getAttribute("data-title"), heading = null;
    if (title) {
      heading = part("p", "recsvc-title", title);
      heading.id = "recsvc-title-" + (++counter);
      list.setAttribute("aria-labelledby", heading.id);
    } else {
      list.setAttribute("aria-label", LABELS[kind]);
    }
    items.forEach(function (item) {
      var name = item.title || item.item_id;
      var href = safeUrl(item.url) || (itemUrl ? safeUrl(itemUrl.replace("{item_id}", encodeURIComponent(item.item_id))) : null);
      var link = part(href ? "a" : "div", "recsvc-link");
      if (href) link.href = href;
      link.setAttribute("data-recsvc-item", item.item_id);
      var src = safeUrl(item.image_url);
      if (src) {
        var image = part("img", "recsvc-image");
        image.src = src;
        image.alt = name;
        image.loading = "lazy";
        link.appendChild(image);
      }
      link.appendChild(part("span", "recsvc-name", name));
      if (typeof item.price === "number") link.appendChild(part("span", "recsvc-price", price(item.price)));
      var entry = part("li", "recsvc-item");
      entry.appendChild(link);
      list.appendChild(entry);
    });
    el.textContent = "";
    if (heading) el.appendChild(heading);
    el.appendChild(list);
    el.classList.add("recsvc");
    el.setAttribute("data-recsvc-rec-id", answer.rec_id || "");
    return true;
  }

  function report(payload) {
    var url = api + "/v1/track", body = JSON.stringify(payload);
    try { // text/plain: a simple request, no preflight; the beacon outlives the page a click leaves
      if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    } catch (e) { /* fall through */ }
    try {
      fetch(url, { method: "POST", body: body, keepalive: true, mode: "no-cors", credentials: "omit" }).catch(noop);
    } catch (e) { /* nothing to do: a lost report harms no page */ }
  }
  function track(el, answer, req) {
    if (!answer.rec_id) return;
    var base = { rec_id: answer.rec_id };
    if (answer.user_id && req.token) base.user_id = answer.user_id; // the answer was given to that user
    var shown = answer.items.map(function (item) { return item.item_id; });
    var reportOnce = function () { report(Object.assign({ type: "impression", visitor_id: visitorId() }, base)); };
    if (typeof IntersectionObserver === "function") {
      var observer = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) {
          observer.disconnect();
          reportOnce();
        }
      });
      observer.observe(el);
    } else {
      reportOnce();
    }
    var clicked = function (event) {
      if (event.type === "auxclick" && event.button !== 1) return; // the middle button opens a tab; not the right one
      var link = event.target && event.target.closest ? event.target.closest("[data-recsvc-item]") : null;
      if (!link || !el.contains(link)) return;
      var itemId = link.getAttribute("data-recsvc-item");
      remember(itemId);
      report(Object.assign({ type: "click", item_id: itemId, shown: shown, visitor_id: visitorId() }, base));
    };
    el.addEventListener("click", clicked);
    el.addEventListener("auxclick", clicked);
  }

  function setUp(el) {
    var kind = el.getAttribute("data-recsvc"), req = requestFor(el, kind);
    if (!req) {
      el.setAttribute("data-recsvc-state", "skipped");
      return;
    }
    el.setAttribute("data-recsvc-state", "loading");
    el.setAttribute("aria-busy", "true");
    fetchAnswer(req).then(function (answer) {
      var shown = render(el, kind, answer);
      el.setAttribute("data-recsvc-state", shown ? "ready" : "empty");
      if (shown) track(el, answer, req);
    }).catch(function () {
      el.setAttribute("data-recsvc-state", "unavailable");
    }).then(function () {
      el.removeAttribute("aria-busy");
    });
  }
  function start() {
    try {
      if (setting("css") !== "none" && !document.querySelector("style[data-recsvc-style]")) {
        var style = document.createElement("style");
        style.setAttribute("data-recsvc-style", "");
        style.textContent = CSS;
        document.head.appendChild(style);
      }
      var elements = Array.prototype.slice.call(document.querySelectorAll("[data-recsvc]"));
      elements.forEach(function (el) { // a product page: the item it shows is viewed in this session
        var kind = el.getAttribute("data-recsvc");
        if (kind === "also-bought" || kind === "similar") remember(el.getAttribute("data-item-id"));
      });
      Array.prototype.forEach.call(document.querySelectorAll("[data-recsvc-viewed]"), function (el) {
        remember(el.getAttribute("data-recsvc-viewed"));
      });
      elements.forEach(function (el) {
        if (!el.hasAttribute("data-recsvc-state")) setUp(el);
      });
    } catch (e) { /* never break the page */ }
  }

  window.recsvc = { version: 1, start: start, viewed: remember, visitor: visitorId };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
