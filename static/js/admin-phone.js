/* The Django admin on a phone (issue 21): each row of a list reads as a card whose cells
   carry their column's name (copied from the table's header into data-label, which the
   stylesheet shows), and the filters, which come after the list on a phone, start closed
   with a link to them above the list. No inline script: the site's CSP allows none.
   Also names what Django's admin widgets leave unnamed for screen readers: the search box
   of an autocomplete field (select2) gets its field's label, the filter icons of a
   two-box selector (filter_horizontal) become images, as their aria-label needs. */
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

  // A tabular inline (an activity's sessions) is a card per form on a phone, and each of
  // its boxes is named after its column: Django labels none of them.
  function nameInlineBoxes(table) {
    table.classList.add("cards");
    labelCells(table);
    var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return (th.textContent || "").replace(/\s+/g, " ").trim();
    });
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        var boxes = cell.querySelectorAll("input:not([type=hidden]), select, textarea");
        Array.prototype.forEach.call(boxes, function (box) {
          if (headers[index] && !(box.labels && box.labels.length) &&
              !box.hasAttribute("aria-label")) {
            box.setAttribute("aria-label", headers[index]);
          }
        });
      });
    });
  }

  function nameWidgets() {
    Array.prototype.forEach.call(
      document.querySelectorAll(".inline-group .tabular table"), nameInlineBoxes);
    Array.prototype.forEach.call(document.querySelectorAll("select.admin-autocomplete"),
      function (select) {
        var label = select.id && document.querySelector('label[for="' + select.id + '"]');
        var box = select.nextElementSibling;
        var selection = box && box.querySelector(".select2-selection");
        if (!label || !selection) {
          return;
        }
        label.id = label.id || select.id + "_label";
        var shown = selection.querySelector(".select2-selection__rendered");
        if (shown) {
          shown.setAttribute("aria-labelledby", label.id);
        }
        selection.setAttribute(
          "aria-labelledby", label.id + (shown && shown.id ? " " + shown.id : ""));
      });
    Array.prototype.forEach.call(
      document.querySelectorAll("span.search-label-icon[aria-label]:not([role])"),
      function (icon) { icon.setAttribute("role", "img"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(
      document.querySelectorAll("#result_list, table.cards"), labelCells);
    foldFilters();
    nameWidgets();
    // The widgets are built by the admin's own scripts (on load, and for each inline form
    // added): name them whenever the form changes.
    var pending = false;
    new MutationObserver(function () {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(function () {
          pending = false;
          nameWidgets();
        });
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
