// Keyboard shortcuts for the review UI (no build step, no inline script: the CSP forbids inline code).
// Queue: j/k move, o (or Enter) open, x select. Item: j/k next/previous item, a approve, r reject (1-9 reason,
// Enter rejects), e escalate. Everywhere: u undo, ? help, Esc leave a field or close the help.
(function () {
  "use strict";

  function typing(element) {
    if (!element) return false;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable) return true;
    return tag === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(element.type);
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (form) form.requestSubmit();
  }

  function toggleHelp(show) {
    var help = document.getElementById("help");
    if (help) help.hidden = show === undefined ? !help.hidden : !show;
  }

  // ---- queue page: a cursor over the cards ----
  var cursor = -1;

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("ol.cards > li.card"));
  }

  function move(step) {
    var all = cards();
    if (!all.length) return;
    if (cursor >= 0 && all[cursor]) all[cursor].classList.remove("current");
    cursor = Math.max(0, Math.min(all.length - 1, cursor + step));
    var card = all[cursor];
    card.classList.add("current");
    var link = card.querySelector("a.open");
    if (link) link.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function currentCard() {
    var all = cards();
    return cursor >= 0 ? all[cursor] : null;
  }

  // ---- item page: the reject form ----
  function startReject() {
    var form = document.getElementById("reject-form");
    if (!form) return;
    form.querySelector("fieldset").classList.add("active");
    var first = form.querySelector("input[name=reason_code]:checked") || form.querySelector("input[name=reason_code]");
    if (first) first.focus();
  }

  function pickReason(digit) {
    var form = document.getElementById("reject-form");
    if (!form || !form.contains(document.activeElement)) return false;
    var reasons = form.querySelectorAll("input[name=reason_code]");
    var reason = reasons[digit - 1];
    if (!reason) return false;
    reason.checked = true;
    var note = document.getElementById("reject-note");
    if (note) note.focus();
    return true;
  }

  function go(id) {
    var link = document.getElementById(id);
    if (link) window.location.href = link.href;
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-toggle-help]")) toggleHelp();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      toggleHelp(false);
      if (document.activeElement) document.activeElement.blur();
      return;
    }
    if (typing(event.target)) return;
    var page = document.body.dataset.page;
    if (/^[1-9]$/.test(event.key) && page === "item" && pickReason(Number(event.key))) {
      event.preventDefault();
      return;
    }
    var handled = true;
    switch (event.key) {
      case "?":
        toggleHelp();
        break;
      case "u":
        submit("undo-form");
        break;
      case "j":
        if (page === "queue") move(1);
        else if (page === "item") go("next-item");
        break;
      case "k":
        if (page === "queue") move(-1);
        else if (page === "item") go("prev-item");
        break;
      case "o": // Enter works too: j/k focus the card's link
        if (page !== "queue" || !currentCard()) { handled = false; break; }
        window.location.href = currentCard().querySelector("a.open").href;
        break;
      case "x":
        var card = page === "queue" ? currentCard() : null;
        var box = card && card.querySelector("input[type=checkbox]");
        if (box && !box.disabled) box.checked = !box.checked;
        break;
      case "a":
        if (page === "item") submit("approve-form"); else handled = false;
        break;
      case "r":
        if (page === "item") startReject(); else handled = false;
        break;
      case "e":
        if (page === "item") submit("escalate-form"); else handled = false;
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.body.dataset.keys = "ready"; // tests wait for this before typing
})();
