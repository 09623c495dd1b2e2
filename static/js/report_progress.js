// Polls a report's status while it is being built, then reloads to show the downloads.
(function () {
  "use strict";
  var box = document.getElementById("report");
  if (!box || box.dataset.status === "done" || box.dataset.status === "failed") {
    return;
  }
  var bar = document.getElementById("progress");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (bar) { bar.value = state.progress; }
        if (state.status === "done" || state.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
