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
