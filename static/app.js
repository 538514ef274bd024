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

// Sign-up and joining a team take the browser's time zone in a hidden
// field; without JS the server uses UTC and the agent can set it later.
document.addEventListener("DOMContentLoaded", function () {
  var tz = "";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser: UTC */ }
  document.querySelectorAll("input[data-timezone]").forEach(function (input) { input.value = tz; });
});

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
        // An intake key's answer names no lead (it would tell anyone
        // holding the public key who is already a lead): the newest is
        // at the top of Leads.
        var a = document.createElement("a");
        a.href = "/leads";
        a.textContent = "see it in Leads";
        out.append("✓ It works: test lead received — ", a);
      } else {
        out.textContent = "✗ " + body.message;
      }
    });
  }).catch(function () {
    out.textContent = "✗ Could not reach Closr. Check your connection and try again.";
  });
});

// HTMX does not swap error answers (5xx, 403, 429: see htmxConfig), so
// without this a failed Generate, Revoke or domain change would show
// nothing. The server answers HTMX requests with a plain-text message; it
// goes in an alert at the top of the card that sent the request, and the
// next successful swap clears it.
(function () {
  "use strict";

  var offline = "Could not reach Closr. Check your connection and try again.";

  function alertIn(elt) {
    var card = (elt && elt.closest && elt.closest(".card")) || document.querySelector("main");
    var box = card.querySelector(".request-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "form-error request-error";
      box.setAttribute("role", "alert");
      box.setAttribute("data-testid", "request-error");
      var heading = card.querySelector("h1, h2");
      card.insertBefore(box, heading ? heading.nextSibling : card.firstChild);
    }
    return box;
  }

  function show(elt, message) {
    var box = alertIn(elt);
    // Emptied first so a repeated message is announced again.
    box.textContent = "";
    window.setTimeout(function () { box.textContent = message; }, 50);
  }

  // messageOf is the server's words when it sent plain text, else a
  // sentence built from the status.
  function messageOf(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = (xhr.responseText || "").trim();
    if (type.indexOf("text/plain") === 0 && text && text.length <= 500) {
      return text;
    }
    if (type.indexOf("application/json") === 0) {
      try {
        var msg = JSON.parse(text).message;
        if (typeof msg === "string" && msg) return msg;
      } catch (e) { /* not our JSON: fall through */ }
    }
    return "Closr could not do that (error " + xhr.status + "). Nothing was changed; please try again.";
  }

  document.addEventListener("htmx:responseError", function (ev) {
    show(ev.detail.elt, messageOf(ev.detail.xhr));
  });
  document.addEventListener("htmx:sendError", function (ev) {
    show(ev.detail.elt, offline);
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll(".request-error").forEach(function (box) { box.remove(); });
  });
})();
