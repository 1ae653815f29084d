/* Stance debate embed loader. Include it once on an article page:
     <div data-stance-debate="sora-leak"></div>            (a topic's slug)
     <div data-stance-debate="https://news.example/a"></div> (or the article's address)
     <script src="https://FORUM/embed.js" async></script>
   Each such div becomes an iframe of the widget, loaded when it nears the viewport and sized to its content. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var service = new URL(script.src).origin;
  var frames = [];

  function widgetUrl(target) {
    if (/^https?:\/\//i.test(target)) return service + "/embed/?url=" + encodeURIComponent(target);
    return service + "/embed/topics/" + encodeURIComponent(target) + "/";
  }

  function load(frame) {
    if (!frame.src) frame.src = frame.getAttribute("data-src");
  }

  function build(holder) {
    if (holder.getAttribute("data-stance-debate-ready")) return;
    var target = (holder.getAttribute("data-stance-debate") || "").trim();
    if (!target) return;
    holder.setAttribute("data-stance-debate-ready", "1");
    var frame = document.createElement("iframe");
    frame.setAttribute("data-src", widgetUrl(target));
    frame.title = holder.getAttribute("data-title") || "Debate";
    frame.loading = "lazy";
    frame.style.cssText = "display:block;width:100%;border:0;height:320px;overflow:hidden";
    frame.setAttribute("scrolling", "no");
    holder.appendChild(frame);
    frames.push(frame);
    if (typeof window.IntersectionObserver === "function") {
      var seen = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            load(frame);
            seen.disconnect();
          }
        });
      }, { rootMargin: "400px 0px" });
      seen.observe(holder);
    } else {
      load(frame);
    }
  }

  // The widget posts its height; only a message from the service's origin and from one of these frames counts.
  window.addEventListener("message", function (event) {
    if (event.origin !== service || !event.data || event.data.type !== "stance-debate:height") return;
    var height = Number(event.data.height);
    if (!(height > 0 && height < 20000)) return;
    frames.forEach(function (frame) {
      if (frame.contentWindow === event.source) frame.style.height = Math.ceil(height) + "px";
    });
  });

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-stance-debate]"), build);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
