// Closr's page behaviour: Copy buttons, Done and Escape on the COPY NOW
// panel, disclosures opened by a link. Event delegation, so it keeps
// working on HTMX-swapped content. No inline script.
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

  // say puts a message in a status region, emptied first so that the same
  // words are announced again.
  function say(region, message) {
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  // dismiss closes the COPY NOW panel and, like a dialog, gives focus back
  // to what opened it (Generate), saying where the key went.
  function dismiss(panel) {
    var card = panel.closest(".card") || document;
    var label = panel.getAttribute("data-label");
    panel.remove();
    var generate = card.querySelector("form.generate button[type=submit]");
    if (generate) generate.focus();
    if (label) {
      say(card.querySelector("#keys-status"), "Key \u201c" + label + "\u201d saved. The list below shows its first 12 characters; the full key is not shown again.");
    }
  }

  document.addEventListener("click", function (ev) {
    var copy = ev.target.closest("[data-copy]");
    if (copy) {
      var src = document.querySelector(copy.getAttribute("data-copy"));
      var status = copy.parentElement.querySelector(".copied");
      var label = copy.querySelector(".copy-label") || copy;
      copyText(src.textContent.trim()).then(function () {
        label.textContent = "Copied";
        say(status, "Copied to clipboard");
      }, function () {
        say(status, "Select the text and copy it by hand");
      });
      return;
    }
    var done = ev.target.closest("[data-dismiss]");
    if (done) {
      var panel = document.querySelector(done.getAttribute("data-dismiss"));
      if (panel) {
        ev.preventDefault();
        dismiss(panel);
      }
    }
  });

  // Escape closes the COPY NOW panel while focus is in it (or nowhere).
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var panel = document.getElementById("copy-now");
    var at = document.activeElement;
    if (panel && (panel.contains(at) || at === document.body || at === null)) {
      ev.preventDefault();
      dismiss(panel);
    }
  });

  // A link to a setup card (#web-tracker) opens its disclosure.
  function openTarget() {
    var id = window.location.hash.slice(1);
    var target = id && document.getElementById(id);
    var details = target && target.querySelector("details");
    if (details) details.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  document.addEventListener("DOMContentLoaded", openTarget);
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
  var button = form.querySelector("button[type=submit]");
  out.textContent = "Sending…";
  button.disabled = true;
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
  }).finally(function () {
    button.disabled = false;
  });
});

// "Test this key" in the COPY NOW panel sends the key shown there through
// the real endpoint, so nothing is pasted: a test lead for an intake key,
// and for an MCP key (which must never post leads from a browser) the
// MCP server's list of tools. Closr marks what its own pages send as a
// test: a Test badge, left out of counts, removable.
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("[data-test-key]");
  if (!btn || !window.fetch) return;
  var key = document.querySelector(btn.getAttribute("data-test-key")).textContent.trim();
  var out = btn.parentElement.querySelector(".test-result");
  var mcp = btn.getAttribute("data-access") === "mcp";
  out.textContent = "Sending…";
  var sent = mcp
    ? fetch("/mcp", {
        method: "POST",
        headers: { "Authorization": "Bearer " + key, "Content-Type": "application/json", "Accept": "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" })
      })
    : fetch("/api/leads/inbound", {
        method: "POST",
        headers: { "x-api-key": key, "Accept": "application/json" },
        body: new URLSearchParams({
          name: "Test Lead (Closr)", email: "test-lead@example.com", source: "Closr test",
          message: "A test lead sent with Test this key."
        })
      });
  sent.then(function (res) {
    return res.json().then(function (body) {
      out.textContent = "";
      if (!res.ok) {
        out.textContent = "✗ " + (body.message || "Closr answered with error " + res.status + ".");
      } else if (mcp) {
        out.textContent = "✓ It works: the MCP server answered with its " + body.result.tools.length + " tools.";
      } else {
        var a = document.createElement("a");
        a.href = "/leads";
        a.textContent = "see it in Leads";
        out.append("✓ It works: test lead received — ", a);
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
      // Under the card's heading; in a setup card, under its summary.
      var top = card.querySelector("summary") || card.querySelector("h1, h2");
      if (top) {
        top.parentNode.insertBefore(box, top.nextSibling);
      } else {
        card.insertBefore(box, card.firstChild);
      }
    }
    return box;
  }

  function show(elt, message) {
    var box = alertIn(elt);
    // Emptied first so a repeated message is announced again.
    box.textContent = "";
    window.setTimeout(function () { box.textContent = message; }, 50);
    box.scrollIntoView({ block: "nearest" });
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

// Relative times ("12 min ago") stay true on a page left open: they are
// counted from the server's time when the page was made (data-now), so the
// browser's own clock does not matter, and a time more than a day old
// shows its date (data-date), as the server would.
(function () {
  "use strict";
  var madeAt = Number(document.body && document.body.getAttribute("data-now"));
  if (!madeAt) return;
  var loadedAt = Date.now();

  function relative(ms) {
    var min = Math.floor(ms / 60000);
    if (min < 1) return "just now";
    if (min < 60) return min + " min ago";
    var h = Math.floor(min / 60);
    return h === 1 ? "1 hour ago" : h + " hours ago";
  }

  function refresh() {
    var now = madeAt + (Date.now() - loadedAt);
    document.querySelectorAll("time[data-date]").forEach(function (el) {
      var ago = now - Date.parse(el.getAttribute("datetime"));
      el.textContent = ago >= 86400000 ? el.getAttribute("data-date") : relative(Math.max(ago, 0));
    });
  }
  window.setInterval(refresh, 30000);
  document.addEventListener("htmx:afterSettle", refresh);
})();
