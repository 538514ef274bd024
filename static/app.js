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

// "Send test lead": post through the real endpoint with the pasted key and
// say what happened, without leaving the page. Without JS the form posts
// and lands on the leads list.
document.addEventListener("submit", function (ev) {
  var form = ev.target.closest("form[data-test-lead]");
  if (!form || !window.fetch) return;
  ev.preventDefault();
  var out = form.querySelector(".test-result");
  var data = new URLSearchParams(new FormData(form));
  var key = data.get("api_key").trim();
  data.delete("api_key");
  data.delete("_redirect");
  out.textContent = "Sending…";
  fetch(form.action, {
    method: "POST",
    headers: { "x-api-key": key, "Accept": "application/json" },
    body: data
  }).then(function (res) {
    return res.json().then(function (body) {
      out.textContent = "";
      if (res.ok) {
        var a = document.createElement("a");
        a.href = "/leads/" + body.id;
        a.textContent = "open it";
        out.append("✓ It works: test lead " + body.status + " — ", a);
      } else {
        out.textContent = "✗ " + body.message;
      }
    });
  }).catch(function () {
    out.textContent = "✗ Could not reach Closr. Check your connection and try again.";
  });
});
