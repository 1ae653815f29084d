/* The stance debate widget: redraws the balance from the topic's live stream and tells the article its
   height. The page is complete without it; when the stream is missing or fails, nothing changes. */
(function () {
  "use strict";
  var root = document.querySelector("[data-stance-debate-widget]");
  if (!root) return;

  var lastHeight = 0;
  function postHeight() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === lastHeight || window.parent === window) return;
    lastHeight = height;
    // The height is all it says, so any embedding page may read it; embed.js checks that it came from here.
    window.parent.postMessage({ type: "stance-debate:height", height: height }, "*");
  }

  function pct(share) { return Math.round((Number(share) || 0) * 100); }

  function redraw(summary) {
    if (!summary || !summary.stances) return;
    var labels = [];
    summary.stances.forEach(function (row) {
      var segment = root.querySelector('[data-balance] [data-stance="' + CSS.escape(row.stance) + '"]');
      var item = root.querySelector('.legend [data-stance="' + CSS.escape(row.stance) + '"]');
      if (segment) segment.style.width = pct(row.reply_share) + "%";
      if (item) {
        item.querySelector('[data-share="reply"]').textContent = pct(row.reply_share) + "%";
        item.querySelector('[data-share="vote"]').textContent = pct(row.vote_share) + "%";
        item.querySelector("[data-replies]").textContent = row.replies;
      }
      labels.push(row.label + ": " + pct(row.reply_share) + "% of replies");
    });
    root.querySelector("[data-balance]").setAttribute("aria-label", labels.join("; "));
    ["replies", "participants", "votes"].forEach(function (name) {
      var count = root.querySelector('[data-count="' + name + '"]');
      var noun = root.querySelector('[data-noun="' + name + '"]');
      if (typeof summary[name] !== "number") return;
      if (count) count.textContent = summary[name];
      if (noun) noun.textContent = noun.getAttribute(summary[name] === 1 ? "data-one" : "data-many");
    });
    postHeight();
  }

  function listen() {
    var url = root.getAttribute("data-events-url");
    if (!url || typeof window.EventSource !== "function") return;
    var stream;
    try {
      stream = new EventSource(url);
    } catch (e) {
      return;
    }
    stream.addEventListener("summary", function (event) {
      try { redraw(JSON.parse(event.data)); } catch (e) { /* a malformed event changes nothing */ }
    });
    stream.onerror = function () {
      // Not there (an older server) or refused: stop quietly; the page as served stays true to its moment.
      if (stream.readyState === EventSource.CLOSED) stream.close();
    };
  }

  window.addEventListener("load", postHeight);
  window.addEventListener("resize", postHeight);
  if (typeof window.ResizeObserver === "function") new ResizeObserver(postHeight).observe(document.body);
  postHeight();
  listen();
})();
