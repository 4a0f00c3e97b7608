(function () {
  "use strict";
  // Sorting and search for every table; the tables are complete without this script.
  // A link can carry both: #q=TEXT filters every searchable table, #sort=N or #sort=-N sorts the
  // page's first sortable table by its column N (from 0; minus: descending).
  var NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
  function key(cell) {
    var value = cell ? cell.getAttribute("data-sort") : "";
    return value === null ? cell.textContent.trim().toLowerCase() : value;
  }
  function compare(a, b) {
    if (NUMBER.test(a) && NUMBER.test(b)) { return parseFloat(a) - parseFloat(b); }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  function sortBy(table, column, descending) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, index) { return [key(row.cells[column]), index, row]; });
    keyed.sort(function (x, y) { return (descending ? -compare(x[0], y[0]) : compare(x[0], y[0])) || x[1] - y[1]; });
    keyed.forEach(function (item) { body.appendChild(item[2]); });
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    for (var i = 0; i < heads.length; i++) {
      heads[i].setAttribute("aria-sort", i === column ? (descending ? "descending" : "ascending") : "none");
    }
  }
  function makeSortable(table) {
    if (!table.tHead) { return; }
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      button.title = "Sort by this column";
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, column, th.getAttribute("aria-sort") === "ascending");
      });
    });
  }
  function filter(table, query, counter) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
    var shown = 0;
    Array.prototype.forEach.call(rows, function (row) {
      var text = row.textContent.toLowerCase();
      var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !keep;
      if (keep) { shown += 1; }
    });
    counter.textContent = words.length ? shown + " of " + rows.length + " rows" : "";
  }
  function makeSearchable(table) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "search";
    box.placeholder = "Search this table";
    box.setAttribute("aria-label", "Search the " + table.getAttribute("data-search") + " table");
    var counter = document.createElement("span");
    counter.className = "count";
    counter.setAttribute("aria-live", "polite");
    var bar = document.createElement("p");
    bar.className = "searchbar";
    bar.appendChild(box);
    bar.appendChild(counter);
    table.parentNode.insertBefore(bar, table);
    box.addEventListener("input", function () { filter(table, box.value, counter); });
    return function (query) { box.value = query; filter(table, query, counter); };
  }
  var setters = [];
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  Array.prototype.forEach.call(document.querySelectorAll("table[data-search]"), function (table) {
    setters.push(makeSearchable(table));
  });
  var hash = window.location.hash.slice(1);
  if (hash.indexOf("=") >= 0) {
    var params = new URLSearchParams(hash);
    var query = params.get("q");
    if (query !== null) { setters.forEach(function (set) { set(query); }); }
    var sort = params.get("sort");
    var first = document.querySelector("table.sortable");
    if (sort !== null && first && /^-?\d+$/.test(sort)) {
      sortBy(first, Math.abs(parseInt(sort, 10)), sort.charAt(0) === "-");
    }
  }
  document.documentElement.setAttribute("data-script", "ran");
})();
