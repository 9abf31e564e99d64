// The dashboard's own behaviour, small on purpose: htmx does the requests and swaps.
// Every request htmx sends carries HX-Request, which the service requires of changes.
document.addEventListener("htmx:responseError", (event) => {
  // Show the API's {"detail": ...} beside the form that failed, not a silent no-op.
  const target = event.detail.elt.closest("form, section") || document.getElementById("main");
  let detail = event.detail.xhr.statusText;
  try {
    const body = JSON.parse(event.detail.xhr.responseText);
    detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch (ignored) { /* not JSON: keep the status text */ }
  let box = target.querySelector(":scope > .error[role=alert]");
  if (!box) {
    box = document.createElement("p");
    box.className = "error";
    box.setAttribute("role", "alert");
    target.prepend(box);
  }
  box.textContent = `${event.detail.xhr.status}: ${detail}`;
});

// --- Jobs pages (handlers/ui/jobs.py) ---
// An element with data-stream follows /ui/jobs/stream: on the list (a <tbody>) each changed job's
// row replaces its old row, or goes on top when the page takes new jobs (data-insert); on a job's
// page (#job-body) the body is swapped. A status change is announced in #jobs-announce, once.
(() => {
  const live = document.querySelector("[data-stream]");
  if (!live || !window.EventSource) return;
  const announcer = document.getElementById("jobs-announce");
  const announce = (element, was) => {
    if (announcer && element && element.dataset.status !== was) {
      announcer.textContent = `Job ${element.dataset.name}: ${element.dataset.status}`;
    }
  };
  const source = new EventSource(live.dataset.stream);
  source.addEventListener("job", (event) => {
    if (live.tagName === "TBODY") {
      const template = document.createElement("template");
      template.innerHTML = event.data.trim();
      const row = template.content.firstElementChild;
      const old = document.getElementById(row.id);
      if (old) {
        announce(row, old.dataset.status);
        old.replaceWith(row);
      } else if (live.dataset.insert === "true") {
        live.querySelector("tr.empty")?.remove();
        row.classList.add("fresh");
        live.prepend(row);
        announce(row, "");
      }
    } else {
      live.innerHTML = event.data;
      if (window.htmx) htmx.process(live);
      settled();
    }
  });
  // A job's body changes by the stream or by its Cancel button's answer (an htmx swap).
  const settled = () => {
    const state = live.querySelector("[data-status]");
    announce(state, live.dataset.status);
    live.dataset.status = state ? state.dataset.status : "";
  };
  live.addEventListener("htmx:afterSwap", settled);
  source.addEventListener("leave", (event) => document.getElementById(event.data)?.remove());
  // Changes may have been missed (the page fell behind, or the service reconnected to NATS).
  source.addEventListener("reload", () => { source.close(); window.location.reload(); });
})();

// Previews: a refusal the server words for people (409, 422 with HX-Retarget) is swapped in
// where it points, instead of the generic error box above.
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
