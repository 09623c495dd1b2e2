/* The Django admin on a phone (issue 21): each row of a list reads as a card whose cells
   carry their column's name (copied from the table's header into data-label, which the
   stylesheet shows), and the filters, which come after the list on a phone, start closed
   with a link to them above the list. No inline script: the site's CSP allows none. */
(function () {
  "use strict";
  var phone = window.matchMedia("(max-width: 767px)");

  function labelCells(table) {
    var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return (th.textContent || "").replace(/\s+/g, " ").trim();
    });
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (headers[index] && !cell.classList.contains("action-checkbox")) {
          cell.setAttribute("data-label", headers[index]);
        }
      });
    });
  }

  function foldFilters() {
    var filters = document.getElementById("changelist-filter");
    var list = document.querySelector("#changelist .changelist-form-container");
    if (!filters || !list || !phone.matches) {
      return;
    }
    Array.prototype.forEach.call(filters.querySelectorAll("details[open]"), function (d) {
      d.removeAttribute("open");
    });
    var title = document.getElementById("changelist-filter-header");
    var jump = document.createElement("a");
    jump.href = "#changelist-filter";
    jump.className = "filter-jump";
    jump.textContent = title ? title.textContent : "Filter";
    list.insertBefore(jump, list.firstChild);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(
      document.querySelectorAll("#result_list, table.cards"), labelCells);
    foldFilters();
  });
})();
