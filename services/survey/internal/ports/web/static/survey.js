// The survey page's only script: optional. It shows a follow-up question as soon as the
// answer it depends on is given (without it, the page shows follow-ups after a post), and
// keeps partial answers as a draft while the customer types.
(function () {
  "use strict";
  var form = document.getElementById("survey");
  if (!form || !window.fetch || !window.URLSearchParams || !window.FormData) {
    return;
  }
  var shown = form.querySelector('input[name="_shown"]');
  var button = form.querySelector("button[type=submit]");
  var questions = Array.prototype.slice.call(form.querySelectorAll("[data-q]"));
  var byId = {};
  questions.forEach(function (q) { byId[q.getAttribute("data-q")] = q; });

  // answerOf returns the values given to question id, [] when none.
  function answerOf(id) {
    var q = byId[id];
    if (!q || q.hidden) {
      return [];
    }
    var out = [];
    Array.prototype.forEach.call(q.querySelectorAll('[name="q.' + id + '"]'), function (el) {
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value.trim() !== "") {
        out.push(el.value);
      }
    });
    return out;
  }

  // visible mirrors the server's rule: the question it depends on is shown and its
  // answer is within the score range, or one of the choices.
  function visible(q) {
    var dep = q.getAttribute("data-show-if");
    if (!dep) {
      return true;
    }
    var given = answerOf(dep);
    if (given.length === 0) {
      return false;
    }
    var min = q.getAttribute("data-min"), max = q.getAttribute("data-max"), anyOf = q.getAttribute("data-any-of");
    if (min !== null || max !== null) {
      var score = parseInt(given[0], 10);
      if (isNaN(score) || (min !== null && score < +min) || (max !== null && score > +max)) {
        return false;
      }
    }
    if (anyOf !== null) {
      var wanted = anyOf.split(" ");
      return given.some(function (v) { return wanted.indexOf(v) >= 0; });
    }
    return true;
  }

  function update() {
    var ids = [];
    // Document order: a question comes after the one it depends on.
    questions.forEach(function (q) {
      q.hidden = !visible(q);
      if (!q.hidden) {
        ids.push(q.getAttribute("data-q"));
      }
    });
    shown.value = ids.join(" ");
  }

  var timer = null;
  function saveDraft() {
    timer = null;
    var body = new URLSearchParams(new FormData(form));
    fetch(location.pathname.replace(/\/+$/, "") + "/draft", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: true
    }).catch(function () { /* a draft is a convenience: the final post carries every answer */ });
  }
  function changed() {
    update();
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(saveDraft, 600);
  }

  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
  form.addEventListener("submit", function () {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  });
  if (button && button.getAttribute("data-send")) {
    button.textContent = button.getAttribute("data-send");
  }
  update();
})();
