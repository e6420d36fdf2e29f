// The console's keyboard and panels. No inline script anywhere: the page says what it
// needs through data- attributes on #page, and the server checks every decision again.
(function () {
  "use strict";
  var page = document.getElementById("page");
  var data = page ? page.dataset : {};
  var openPanel = null;

  // The overlay comes after this script in the page: look it up when needed.
  function helpOverlay() { return document.getElementById("help-overlay"); }

  // The keys this page binds for this user: those the help overlay lists (data-keys),
  // so a key the user may not use (n for the legal team) does nothing at all.
  function bound(key) {
    var help = helpOverlay();
    var keys = help && help.dataset.keys ? help.dataset.keys.split(" ") : [];
    return keys.indexOf(key) !== -1;
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function toggleHelp() {
    var help = helpOverlay();
    if (help) help.hidden = !help.hidden;
  }

  function closePanels() {
    // Leave the hidden panel's field, so the next key is a shortcut again.
    var active = document.activeElement;
    if (active && active.closest(".panel, .overlay")) active.blur();
    document.querySelectorAll(".panel").forEach(function (p) { p.hidden = true; });
    openPanel = null;
    var help = helpOverlay();
    if (help) help.hidden = true;
  }

  function show(panel, focus) {
    closePanels();
    panel.hidden = false;
    openPanel = panel;
    (focus || panel.querySelector("textarea, select, button[type=submit]")).focus();
  }

  function openVerdict(button) {
    var form = document.getElementById("verdict-panel");
    if (!form) return;
    var verdict = button.dataset.verdict;
    form.querySelector("#verdict-decision").value = verdict;
    form.querySelector("#verdict-target-kind").value = button.dataset.targetKind || "";
    form.querySelector("#verdict-target-id").value = button.dataset.targetId || "";
    form.querySelector("#verdict-title").textContent = button.dataset.label;
    var reach = button.dataset.reach || "";
    form.querySelector("#verdict-reach").textContent = reach || "nobody: the case closes with no action";
    // The reason offered first is the category reported about the item decided on:
    // the button's own item, else the first evidence block (the page's default).
    var select = form.querySelector("#policy-reason");
    // A welfare case offers no punitive reason by default: the moderator chooses one.
    var wanted = data.welfare === "yes" ? "" : (button.dataset.reason || data.defaultReason || "");
    if (wanted && select.querySelector('option[value="' + CSS.escape(wanted) + '"]')) select.value = wanted;
    if (!wanted) select.value = "";
    // Dismissal takes no reason; safety resources are recorded under the welfare reason.
    var dismiss = verdict === "dismiss" || verdict === "welfare_check";
    var reason = form.querySelector("#reason-label");
    reason.hidden = dismiss;
    form.querySelector("#policy-reason").required = !dismiss;
    // On a welfare case a punitive decision says why it is not safety resources instead.
    var why = form.querySelector("#why-label");
    if (why) {
      var punitive = data.welfare === "yes" && !dismiss;
      why.hidden = !punitive;
      form.querySelector("#why-not-welfare").required = punitive;
    }
    showLadder(verdict, dismiss);
    show(form, form.querySelector("#verdict-confirm"));
  }

  // The ladder (console/_ladder.html): the stacking confirmation shows only when the chosen
  // verdict's kind is in force ("suspend_7" is a suspend); the strike line only for strikes.
  function showLadder(verdict, dismiss) {
    var ladder = document.getElementById("ladder");
    if (!ladder) return;
    var kind = verdict.replace(/_\d+$/, "");
    var step = ladder.querySelector(".ladder-step");
    // Removing one item or ending a call leaves the case open: no strike either.
    if (step) step.hidden = dismiss || verdict === "remove_content" || verdict === "end_call";
    var stack = ladder.querySelector(".ladder-stack");
    if (!stack) return;
    var stacking = !!ladder.querySelector('[data-in-force="' + CSS.escape(kind) + '"]');
    stack.hidden = !stacking;
    if (!stacking) stack.querySelector("input").checked = false;
  }

  // The automation review queue: c confirms, o overturns the selected row; j/k move.
  function reviewRows() { return Array.prototype.slice.call(document.querySelectorAll("[data-review-row]")); }

  function selectReview(row) {
    reviewRows().forEach(function (r) { r.removeAttribute("aria-current"); });
    if (!row) return;
    row.setAttribute("aria-current", "true");
    row.focus({preventScroll: false});
  }

  function reviewKey(event) {
    var rows = reviewRows();
    var current = document.querySelector("[data-review-row][aria-current]") || rows[0];
    if (!current) return;
    var at = rows.indexOf(current);
    var outcome = {c: "confirm", o: "overturn"}[event.key];
    if (outcome) {
      var form = current.querySelector('form[data-review="' + outcome + '"]');
      if (form) { event.preventDefault(); form.submit(); }
    } else if (event.key === "j" && at < rows.length - 1) {
      event.preventDefault(); selectReview(rows[at + 1]);
    } else if (event.key === "k" && at > 0) {
      event.preventDefault(); selectReview(rows[at - 1]);
    }
  }

  // The queue: j/k (or a click) select a row; x ends the selected row's call in progress,
  // after one confirmation in #end-call-panel (Enter confirms, Escape cancels).
  // The live lane's rows first (data-live-case-id), then the queue table's (data-case-id).
  var QUEUE_ROW = "tr[data-live-case-id], tr[data-case-id]";
  function queueRows() { return Array.prototype.slice.call(document.querySelectorAll(QUEUE_ROW)); }
  function rowCase(row) { return row.dataset.liveCaseId || row.dataset.caseId; }

  function selectedRow() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest(QUEUE_ROW) : null;
    return row || document.querySelector("tr[aria-current][data-live-case-id], tr[aria-current][data-case-id]");
  }

  function selectRow(row) {
    queueRows().forEach(function (r) { r.removeAttribute("aria-current"); });
    if (!row) return;
    row.setAttribute("aria-current", "true");
    row.focus({preventScroll: false});
  }

  function say(text) {
    var status = document.getElementById("queue-status");
    if (status) status.textContent = text;
  }

  function openEndCall(row) {
    var panel = document.getElementById("end-call-panel");
    if (!panel || !row || !row.dataset.callId) {
      if (row) say("Case " + rowCase(row) + " has no call in progress to end.");
      return;
    }
    panel.action = row.dataset.actUrl;
    panel.querySelector("#end-call-target").value = row.dataset.callId;
    panel.querySelector("#end-call-case").textContent = "#" + rowCase(row);
    panel.querySelector("#end-call-platform").textContent = row.dataset.platform || "its platform";
    var select = panel.querySelector("#end-call-reason");
    var wanted = row.dataset.reason || "";
    if (wanted && select.querySelector('option[value="' + CSS.escape(wanted) + '"]')) select.value = wanted;
    show(panel, panel.querySelector("#end-call-confirm"));
  }

  function queueKey(event) {
    var rows = queueRows();
    var current = selectedRow();
    var at = rows.indexOf(current);
    if (event.key === "x") {
      event.preventDefault();
      if (current) openEndCall(current);
      else say("Select a row first: j and k move through the rows.");
    } else if (event.key === "j" && at < rows.length - 1) {
      event.preventDefault(); selectRow(rows[at + 1]);
    } else if (event.key === "k" && at > 0) {
      event.preventDefault(); selectRow(rows[at - 1]);
    }
  }

  function submitNext() {
    var form = document.getElementById("next-case-form");
    if (form) form.submit();
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest("[data-review-row]");
    if (row) selectReview(row);
    var queueRow = data.page === "queue" && event.target.closest(QUEUE_ROW);
    if (!queueRow) return;
    if (!event.target.closest("a, button, input, select, label")) selectRow(queueRow);
    if (event.target.closest("[data-end-call-row]")) { selectRow(queueRow); openEndCall(queueRow); }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-verdict], [data-panel], [data-close-panel], [data-help-toggle]");
    if (!target) return;
    if (target.dataset.verdict) openVerdict(target);
    else if (target.dataset.panel) show(document.getElementById(target.dataset.panel));
    else if (target.hasAttribute("data-close-panel")) closePanels();
    else if (target.hasAttribute("data-help-toggle")) toggleHelp();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closePanels(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (openPanel) return;
    if (event.key === "/") {  // the search box in the header, as in most web apps
      var search = document.getElementById("header-search-q");
      if (search) { event.preventDefault(); search.focus(); return; }
    }
    var key = event.key;
    if (!bound(key)) return;
    if (key === "n") { event.preventDefault(); submitNext(); return; }
    if (data.page === "review") { reviewKey(event); return; }
    if (data.page === "queue") { queueKey(event); return; }
    if (data.page !== "case") return;
    if (key === "p" && data.previousUrl) { window.location.assign(data.previousUrl); return; }
    if (key === "v") {  // the image in focus, else the first one still blurred
      var focused = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest(".media:not(.revealed)") : null;
      var next = focused || document.querySelector(".media[data-reveal-src]:not(.revealed)");
      if (next) { event.preventDefault(); reveal(next); }
      return;
    }
    if (data.canAct !== "yes") return;
    var button = document.querySelector('[data-shortcut="' + CSS.escape(key) + '"]');
    if (!button) return;
    event.preventDefault();
    if (button.dataset.verdict) openVerdict(button);
    else if (button.dataset.panel) show(document.getElementById(button.dataset.panel));
  });

  // The live lane refreshes itself: every LIVE_EVERY ms the queue asks for the lane alone
  // (a 304 while nothing changed) and swaps it in, keeping the selected row selected and
  // focused, never taking the focus from elsewhere. Paused while the tab is hidden or a
  // panel is open; asked again as soon as the tab is shown.
  var LIVE_EVERY = 10000;
  function refreshLane() {
    var lane = document.getElementById("live-lane");
    if (!lane || document.hidden || openPanel) return;
    fetch(lane.dataset.liveUrl, {credentials: "same-origin", cache: "no-cache"}).then(function (r) {
      return r.status === 200 ? r.text() : null;
    }).then(function (html) {
      if (html === null || openPanel) return;
      var next = new DOMParser().parseFromString(html, "text/html").getElementById("live-lane");
      if (!next) return;
      // Unchanged (the browser's cache answers a 304 with the same text): leave it be.
      var shown = lane.cloneNode(true);
      shown.querySelectorAll("[aria-current]").forEach(function (r) { r.removeAttribute("aria-current"); });
      if (shown.innerHTML === next.innerHTML) return;
      var current = document.querySelector("tr[aria-current][data-live-case-id]");
      var chosen = current ? current.dataset.liveCaseId : null;
      var focused = current && current.contains(document.activeElement);
      lane.innerHTML = next.innerHTML;
      lane.dataset.keys = next.dataset.keys;
      var help = helpOverlay();
      var rows = lane.querySelector("#live-help-rows");
      if (help && rows) {
        help.dataset.keys = next.dataset.keys;
        help.querySelector("#help-keys").innerHTML = rows.innerHTML;
      }
      var again = chosen && lane.querySelector('tr[data-live-case-id="' + CSS.escape(chosen) + '"]');
      if (again) {
        again.setAttribute("aria-current", "true");
        if (focused) again.focus({preventScroll: true});
      }
    }).catch(function () { /* the next round asks again */ });
  }
  if (data.page === "queue" && document.getElementById("live-lane")) {
    window.setInterval(refreshLane, LIVE_EVERY);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) refreshLane();
    });
  }

  // Keep the claim alive while the moderator is working on the case (it lapses when idle).
  if (data.page === "case" && data.holding === "yes" && data.touchUrl) {
    var last = Date.now();
    var touch = function () {
      if (Date.now() - last < 60000) return;
      last = Date.now();
      fetch(data.touchUrl, {method: "POST", credentials: "same-origin",
                            headers: {"X-CSRFToken": data.csrf}});
    };
    ["keydown", "mousemove", "scroll", "click"].forEach(function (name) {
      document.addEventListener(name, touch, {passive: true});
    });
  }

  // The reassign panel's colleagues are asked for the first time it is opened (with
  // hundreds of moderators the list would be most of every case page). Names go in as
  // text, never as HTML.
  var reassign = document.querySelector("details.reassign");
  var colleagues = document.getElementById("reassign-to");
  if (reassign && colleagues && colleagues.dataset.colleaguesUrl) {
    reassign.addEventListener("toggle", function () {
      if (!reassign.open || colleagues.dataset.loaded) return;
      colleagues.dataset.loaded = "asking";
      fetch(colleagues.dataset.colleaguesUrl, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (body) {
        colleagues.replaceChildren();
        if (!body.colleagues.length) colleagues.add(new Option("No colleague to hand it to", ""));
        body.colleagues.forEach(function (c) { colleagues.add(new Option(c.label, c.id)); });
        colleagues.dataset.loaded = "yes";
      }).catch(function () {
        colleagues.replaceChildren(new Option("Could not load colleagues: close and open again", ""));
        delete colleagues.dataset.loaded;
      });
    });
  }

  // An evidence bundle being built: follow its progress, then show the finished page.
  if (data.page === "export" && (data.status === "queued" || data.status === "running")) {
    var poll = window.setInterval(function () {
      fetch(data.progressUrl, {credentials: "same-origin"}).then(function (r) {
        return r.json();
      }).then(function (p) {
        document.getElementById("export-progress").value = p.progress;
        document.getElementById("export-percent").textContent = p.progress + "%";
        document.getElementById("export-status").textContent = p.status;
        if (p.status === "done" || p.status === "failed") {
          window.clearInterval(poll);
          window.location.reload();
        }
      });
    }, 1000);
  }

  // Wellness: images and video stay blurred (and grey) until the moderator clicks them.
  if (data.blurMedia === "yes") document.body.classList.add("blur-media");
  if (data.greyscale === "yes") document.body.classList.add("greyscale");
  // A blurred image is a stand-in: revealing it fetches the image itself, which the
  // server audits once for this viewing of the page.
  function reveal(media) {
    if (!media || media.classList.contains("revealed")) return;
    var img = media.querySelector("img");
    if (img && media.dataset.revealSrc) {
      img.src = media.dataset.revealSrc;
      img.alt = img.alt.replace(/, blurred until shown$/, "");
    }
    media.classList.add("revealed");
    media.title = "";
  }
  document.addEventListener("click", function (event) {
    reveal(event.target.closest(".media"));
  });

  // Back from a form inside a closed <details> (the reports): open it again.
  var anchored = window.location.hash.length > 1 && document.getElementById(window.location.hash.slice(1));
  if (anchored && anchored.tagName === "DETAILS") anchored.open = true;

  // An old link to case#end-call: open the confirmation, and drop the fragment first, or
  // the browser's scroll to #end-call would move the focus onto that button, and the first
  // Enter would open the panel again instead of confirming.
  if (window.location.hash === "#end-call") {
    var endCall = document.getElementById("end-call");
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    if (endCall) openVerdict(endCall);
  }
})();
