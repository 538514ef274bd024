/*
 * Closr web tracker — readable source.
 *
 * Built into ../t.js (minified) with `npm run build`; see README.md.
 * Keep it small: the gzipped build must stay under 1024 bytes.
 *
 * Embed on an agent's website:
 *   <script async src="https://HOST/t.js" data-key="closr_..."></script>
 *
 * It POSTs JSON events, as a text/plain body, to <origin of this script>/api/track:
 *   pageview: {api_key, type:"pageview", visitor_id, url, title, referrer, screen_width}
 *   identify: {api_key, type:"identify", visitor_id, url, email, phone, name}
 *
 * UTM parameters and the `clsr` link token are NOT sent as separate fields:
 * they are part of `url` (location.href) and the server extracts them from it.
 *
 * Rules: never throw into the host page (everything runs inside try/catch),
 * send nothing and store nothing when the visitor opted out (DNT, GPC,
 * localStorage closr_ignore=true) or when the browser is automated
 * (navigator.webdriver) unless the tag has data-allow-automation.
 */
(function (win, doc) {
  try {
    var nav = navigator;
    var loc = location;
    var VID = 'closr_vid';
    var noop = () => {};

    // Loaded twice on one page (snippet pasted twice)? Track only once.
    if ((win.closr || 0)._c) return;
    // Whatever was there before (e.g. an array used as a queue) is replaced.
    // identify() stays a no-op unless tracking is allowed (set up below), so
    // host code calling closr.identify() never crashes.
    var api = (win.closr = { _c: 1, identify: noop });

    // Our own <script> tag: currentScript works for async classic scripts.
    var script = doc.currentScript || doc.querySelector('script[data-key]');
    var key = script.dataset.key;
    // /api/track on the origin of the script's src (an absolute path resolved
    // against it; an inline script throws: caught below).
    var endpoint = new URL('/api/track', script.src);

    // localStorage may be missing or throw (privacy modes, sandboxed iframes).
    // storage() reads key k, or writes v to it when v is given.
    var storage = (k, v) => {
      try {
        return localStorage[v ? 'setItem' : 'getItem'](k, v);
      } catch (e) {}
    };

    // Opt-outs: Do-Not-Track, Global Privacy Control, local opt-out flag.
    // Then bots: automated browsers, unless our browser tests allow them.
    // One test for the first four (the array is joined into one string, null
    // and undefined becoming ""): DNT is "1" when on (else null, "0" or
    // "unspecified"; window.doNotTrack only exists in old IE/Safari), GPC is
    // the boolean true, the flag is the string "true".
    if (
      /1|true/.test([
        nav.doNotTrack,
        win.doNotTrack,
        nav.globalPrivacyControl,
        storage('closr_ignore'),
      ]) ||
      (nav.webdriver && !('allowAutomation' in script.dataset))
    ) {
      return; // nothing sent, no cookie, no localStorage write
    }

    // ---- Visitor id: cookie first, then localStorage, else a new random one
    // (16 random bytes as 32 hex chars). One regex does both lookups: the
    // localStorage value is appended as if it were a last cookie, so the
    // real cookie wins; values that do not look like ids are ignored.
    var vid =
      ((doc.cookie + ';' + VID + '=' + storage(VID)).match(
        /closr_vid=([\w-]{16,64})/
      ) || [])[1] ||
      Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
        (b | 256).toString(16).slice(1)
      ).join('');
    // (Re)write both stores on every load: repairs whichever was missing and
    // keeps the cookie's one-year lifetime rolling.
    doc.cookie =
      VID + '=' + vid + ';path=/;max-age=31536000';
    storage(VID, vid);

    // ---- Transport: sendBeacon, else fetch keepalive. text/plain keeps it a
    // CORS "simple" request: no preflight, and the response is never read.
    var send = (data) => {
      try {
        data.api_key = key;
        data.visitor_id = vid;
        data.url = loc.href;
        data = JSON.stringify(data);
        (nav.sendBeacon && nav.sendBeacon(endpoint, data)) ||
          fetch(endpoint, {
            method: 'POST',
            body: data,
            keepalive: true,
            // No credentials: the default sends cookies only to the page's
            // own origin, and the endpoint is Closr's.
            mode: 'no-cors',
          }).catch(noop);
      } catch (e) {}
    };

    // ---- Page views.
    var last; // URL of the last page view sent, without its #hash
    var title; // the title sent with it
    var pageview = (e) => {
      // Restored from the back/forward cache (pageshow, persisted): the page
      // did not reload, so count it again, as on a fresh load: reset the
      // same-URL guard. (pageshow also fires on a normal load: the guard
      // then stops a second send.)
      if (e && e.persisted) last = 0;
      // A change of the #hash alone (an anchor, a tab) is no new page.
      var href = loc.href.split('#')[0];
      if (href != last) {
        // never twice in a row for the same URL
        send({
          type: 'pageview',
          title: (title = doc.title),
          // First view of this page load: the real referrer; SPA
          // navigations: the previous URL (what analytics tools do).
          referrer: last || doc.referrer,
          screen_width: screen.width,
        });
        last = href;
      }
    };

    // SPA navigation. Apps set document.title once their data has loaded,
    // so the view waits for the page to settle: it is sent once the title
    // has held for 100 ms and is no longer the last view's, or after about
    // 2 s (a page with the same title). A pushState+replaceState burst (a
    // redirect) restarts the wait: one view of the final URL.
    // t: the title at the last check (an Event or undefined at first, so
    // never equal); n: checks so far.
    var timer;
    var later = (t, n) => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          n > 19 || (t == doc.title && t != title)
            ? pageview()
            : later(doc.title, -~n),
        100
      );
    };
    // Initial view.
    pageview();

    // A tracked link's clsr token names a person: once the view carrying it
    // is sent, it leaves the address bar (before replaceState is wrapped:
    // no view of its own), so that someone the page is forwarded to is not
    // taken for them. The server drops it from the next view's referrer.
    var url = new URL(loc);
    var params = url.searchParams;
    if (params.has('clsr')) {
      params.delete('clsr');
      history.replaceState(history.state, '', url);
      last = loc.href.split('#')[0]; // the pageshow of this load sends nothing
    }

    ['pushState', 'replaceState'].forEach((name) => {
      var orig = history[name];
      history[name] = function () {
        later(); // deferred, so it runs after the state change below
        return orig.apply(this, arguments);
      };
    });
    win.addEventListener('popstate', later);

    win.addEventListener('pageshow', pageview);


    // ---- Link visitors to leads: add the visitor id to every submitted POST
    // form (capture phase: it is there before the site's own handlers run).
    // GET forms (site search) are left alone: the id would land in URLs.
    doc.addEventListener(
      'submit',
      (e) => {
        try {
          var form = e.target;
          // vid is only ever [0-9A-Za-z_-], so it is safe in markup.
          form.method != 'post' ||
            form.elements.closr_visitor_id ||
            form.insertAdjacentHTML(
              'beforeend',
              '<input type=hidden name=closr_visitor_id value=' + vid + '>'
            );
        } catch (e) {}
      },
      true
    );

    // ---- closr.identify({email, phone, name}) for custom (JS) lead flows:
    // the object as given (the server reads numbers as text, ignores other
    // fields, and drops an identify with neither email nor phone); the
    // tracker's own fields are set over it by send().
    api.identify = (o) => send({ ...o, type: 'identify' });
  } catch (e) {}
})(window, document);
