/* The schedule form's live preview: the cron in words and its next five runs, in the schedule's
 * timezone, from GET /api/schedules/preview (session auth). Server-side validation is the one
 * source of truth: an invalid expression or timezone shows the API's message. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function formatIn(tz, iso) {
    var date = new Date(iso);
    var local;
    try {
      local = new Intl.DateTimeFormat("en-GB", {
        timeZone: tz, weekday: "short", year: "numeric", month: "short", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
      }).format(date);
    } catch (e) {
      local = iso;
    }
    return local + "  (" + iso.replace("T", " ").replace(":00Z", " UTC") + ")";
  }

  function messagesOf(body) {
    if (!body || typeof body !== "object") return ["Preview unavailable."];
    var out = [];
    Object.keys(body).forEach(function (key) {
      var value = body[key];
      (Array.isArray(value) ? value : [value]).forEach(function (m) {
        out.push((key === "cron" ? "" : key + ": ") + m);
      });
    });
    return out.length ? out : ["Preview unavailable."];
  }

  ready(function () {
    var cronInput = document.querySelector("input.mimic-cron");
    var tzInput = document.getElementById("id_timezone");
    if (!cronInput) return;
    var url = cronInput.getAttribute("data-preview-url");
    var box = el("div", { "class": "mimic-preview", id: "mimic-cron-preview", "aria-live": "polite" });
    // Under the field's help text, aligned with the input.
    var row = cronInput.closest(".form-row") || cronInput.parentNode;
    var help = row.querySelector(".help");
    if (help) help.insertAdjacentElement("afterend", box);
    else row.appendChild(box);

    var timer = null;
    var seq = 0;

    function render(state) {
      box.textContent = "";
      if (state.error) {
        state.error.forEach(function (m) {
          box.appendChild(el("div", { "class": "mimic-preview-error" }, m));
        });
        return;
      }
      box.appendChild(el("div", { "class": "mimic-preview-description" }, state.description));
      var list = el("ol", { "class": "mimic-preview-runs" });
      state.runs.forEach(function (iso) {
        list.appendChild(el("li", { "data-utc": iso }, formatIn(state.timezone, iso)));
      });
      box.appendChild(el("div", { "class": "mimic-muted" }, "Next five runs (" + state.timezone + "):"));
      box.appendChild(list);
    }

    function refresh() {
      var cron = cronInput.value.trim();
      var tz = (tzInput && tzInput.value.trim()) || "UTC";
      if (!cron) { box.textContent = ""; return; }
      var mine = ++seq;
      var query = "?cron=" + encodeURIComponent(cron) + "&timezone=" + encodeURIComponent(tz) + "&count=5";
      fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (mine !== seq) return; // a newer keystroke's answer wins
          if (!result.ok) { render({ error: messagesOf(result.body) }); return; }
          render({ description: result.body.description, runs: result.body.nextRuns, timezone: result.body.timezone });
        })
        .catch(function () {
          if (mine === seq) render({ error: ["Preview unavailable (network error)."] });
        });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }

    cronInput.addEventListener("input", schedule);
    if (tzInput) {
      tzInput.addEventListener("input", schedule);
      tzInput.addEventListener("change", schedule);
    }
    refresh();
  });
})();
