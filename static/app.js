// Closr's page behaviour: Copy and Done on the COPY NOW panel. Event
// delegation, so it keeps working on HTMX-swapped content. No inline script.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Older browsers and plain-HTTP pages: copy through a selected textarea.
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "sr-only";
      document.body.appendChild(ta);
      ta.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(ta);
      ok ? resolve() : reject(new Error("copy failed"));
    });
  }

  document.addEventListener("click", function (ev) {
    var copy = ev.target.closest("[data-copy]");
    if (copy) {
      var src = document.querySelector(copy.getAttribute("data-copy"));
      var status = copy.parentElement.querySelector(".copied");
      copyText(src.textContent.trim()).then(function () {
        copy.textContent = "Copied";
        if (status) status.textContent = "Copied to clipboard";
      }, function () {
        if (status) status.textContent = "Select the key and copy it by hand";
      });
      return;
    }
    var dismiss = ev.target.closest("[data-dismiss]");
    if (dismiss) {
      var panel = document.querySelector(dismiss.getAttribute("data-dismiss"));
      if (panel) {
        ev.preventDefault();
        panel.remove();
      }
    }
  });
})();
