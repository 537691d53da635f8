// leadhub web app: the few behaviours HTMX does not cover. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[data-select-all]")) {
      document.querySelectorAll("input[name=ids]").forEach(function (b) { b.checked = box.checked; });
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var ask = form.getAttribute("data-confirm");
    var action = form.querySelector("select[name=action]");
    if (action && action.value === "delete") { ask = form.getAttribute("data-confirm-delete"); }
    if (ask && !window.confirm(ask)) { event.preventDefault(); }
  });

  // Pipeline board: drag a card onto a column; the form inside the card posts the move (keyboard users
  // press the card's move buttons, which post the same form).
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-deal]");
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest("[data-stage]");
    if (column && dragged) { event.preventDefault(); column.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest("[data-stage]");
    if (column) { column.classList.remove("over"); }
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest("[data-stage]");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.remove("over");
    var form = dragged.querySelector("form[data-move]");
    form.querySelector("input[name=stage]").value = column.getAttribute("data-stage");
    dragged = null;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });
})();
