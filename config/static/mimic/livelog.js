// A running job's log on its admin page: ask the page's log URL for what was written after the
// cursor, append it, and ask again until the answer says the log is complete (the job ended).
(function () {
  "use strict";
  var POLL_MS = 2000;

  function follow(pre) {
    var url = pre.getAttribute("data-live-log");
    var cursor = pre.getAttribute("data-next");
    var status = document.getElementById(pre.getAttribute("data-status"));

    function poll() {
      fetch(url + "?after=" + encodeURIComponent(cursor), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (answer) {
          if (answer.log) {
            var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
            pre.appendChild(document.createTextNode(answer.log));
            if (atBottom) { pre.scrollTop = pre.scrollHeight; }
          }
          cursor = answer.next;
          if (answer.complete) {
            if (status) { status.textContent = "The job has ended: reload the page for its outcome."; }
            return;
          }
          window.setTimeout(poll, POLL_MS);
        })
        .catch(function () {
          if (status) { status.textContent = "Live log unavailable; retrying."; }
          window.setTimeout(poll, POLL_MS * 3);
        });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pres = document.querySelectorAll("pre[data-live-log]");
    for (var i = 0; i < pres.length; i++) { follow(pres[i]); }
  });
})();
