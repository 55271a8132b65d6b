// The job page (templates/console/job.jinja2) while its job is queued or running: asks
// /operator/jobs/{id}.json every second and shows the status and progress; once the
// job is finished, reloads the page for its result. (A script file: the CSP forbids
// inline scripts. Without scripts the page refreshes itself through <noscript>.)
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var badge = document.getElementById("job-status");
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-progress-text");
  var count = document.getElementById("job-progress-count");
  var classes = { succeeded: "ok", failed: "bad", running: "warn" };

  function show(job) {
    badge.textContent = job.status;
    badge.className = "badge " + (classes[job.status] || "");
    box.setAttribute("data-status", job.status);
    text.textContent = job.progress_text || "";
    if (job.progress_total) {
      bar.max = job.progress_total;
      bar.value = job.progress_done || 0;
    }
    bar.textContent = (job.progress_percent || 0) + "%";
    if (count) {
      count.textContent = job.progress_total
        ? "(" + (job.progress_done || 0) + " of " + job.progress_total + ")"
        : job.progress_done ? "(" + job.progress_done + " done)" : "";
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (job.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000); // signed out or the server away: ask less often
      });
  }

  window.setTimeout(poll, 1000);
})();
