// nhi-gate HTML report: sorting and filtering of the tables already in the page. The page is
// complete without this script; it reads only the DOM, never the network.
(function () {
  "use strict";

  function cellKey(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (numeric) {
      var n = parseFloat(raw);
      return isNaN(n) ? Infinity : n;
    }
    return (raw || "").trim().toLowerCase();
  }

  function sortBy(table, th, index) {
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, i) { row.setAttribute("data-order", String(i)); });
    rows.sort(function (a, b) {
      var x = cellKey(a, index, numeric), y = cellKey(b, index, numeric);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (c === 0) { c = Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order")); return c; }
      return ascending ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function matches(row, controls) {
    var text = controls.text ? controls.text.value.trim().toLowerCase() : "";
    if (text && row.textContent.toLowerCase().indexOf(text) < 0) { return false; }
    if (controls.actor && controls.actor.value &&
        row.getAttribute("data-actor") !== controls.actor.value) { return false; }
    if (controls.noOwner && controls.noOwner.checked && row.getAttribute("data-owner") === "1") {
      return false;
    }
    if (controls.expiry && controls.expiry.value) {
      var raw = row.getAttribute("data-expiry-days");
      var want = controls.expiry.value;
      if (want === "none") { return raw === ""; }
      if (raw === "") { return false; }
      var days = Number(raw);
      if (want === "expired") { return days < 0; }
      return days >= 0 && days <= Number(want);
    }
    return true;
  }

  function wire(block) {
    var table = block.querySelector("table");
    if (!table || !table.tBodies.length) { return; }
    var controls = {
      text: block.querySelector("[data-filter=text]"),
      actor: block.querySelector("[data-filter=actor]"),
      noOwner: block.querySelector("[data-filter=no-owner]"),
      expiry: block.querySelector("[data-filter=expiry]")
    };
    var count = block.querySelector("[data-count]");
    function apply() {
      var rows = table.tBodies[0].rows, shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var ok = matches(rows[i], controls);
        rows[i].classList.toggle("hidden", !ok);
        if (ok) { shown++; }
      }
      if (count) { count.textContent = shown + " of " + rows.length + " shown"; }
    }
    Object.keys(controls).forEach(function (k) {
      var el = controls[k];
      if (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); }
    });
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th, index); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, index); }
      });
    });
    apply();
  }

  Array.prototype.forEach.call(document.querySelectorAll("section.table-block"), wire);
}());
