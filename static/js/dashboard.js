// Draws the dashboard's charts with the locally served ECharts (SVG renderer).
// The data comes from the page's JSON block; every chart has a table beside it.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var red = "#c8102e";
  var palette = [red, "#e8a33d", "#2f6fb0", "#3a9b6a", "#8a5cb8", "#6b7785", "#d4652f"];
  var charts = [];

  function draw(name, option) {
    var element = document.querySelector('[data-chart="' + name + '"]');
    if (!element) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "svg" });
    option.color = palette;
    option.animation = false;
    chart.setOption(option);
    element.setAttribute("data-drawn", "true");
    charts.push(chart);
  }

  function pie(name, rows) {
    var shown = rows.filter(function (row) { return row.value; });
    if (!shown.length) {
      return;
    }
    draw(name, {
      tooltip: { trigger: "item" },
      legend: { bottom: 0, type: "scroll" },
      // Labels whole ("54.2%", never "54…"): one decimal, and no truncation on a phone.
      series: [{ type: "pie", radius: ["30%", "58%"], data: shown, percentPrecision: 1,
                 label: { formatter: "{d}%", overflow: "none" } }]
    });
  }

  var labels = data.labels;
  if (data.trend.length) {
    draw("trend", {
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 60, right: 50, top: 20, bottom: 50 },
      xAxis: { type: "category", data: data.trend.map(function (p) { return p.date; }) },
      yAxis: [{ type: "value", name: labels.members }, { type: "value", splitLine: { show: false } }],
      series: [
        { name: labels.members, type: "line", data: data.trend.map(function (p) { return p.members; }) },
        { name: labels.joined, type: "bar", yAxisIndex: 1,
          data: data.trend.map(function (p) { return p.joined || 0; }) },
        { name: labels.withdrawn, type: "bar", yAxisIndex: 1,
          data: data.trend.map(function (p) { return p.withdrawn || 0; }) }
      ]
    });
  }
  pie("employment", data.employment);
  pie("industry", data.industry);
  if (data.age.some(function (row) { return row.value; })) {
    draw("age", {
      tooltip: { trigger: "axis" },
      grid: { left: 60, right: 20, top: 20, bottom: 30 },
      xAxis: { type: "category", data: data.age.map(function (r) { return r.name; }) },
      yAxis: { type: "value" },
      series: [{ name: labels.members, type: "bar", data: data.age.map(function (r) { return r.value; }) }]
    });
  }
  if (data.children.length) {
    var kids = data.children.slice().reverse();
    var holder = document.querySelector('[data-chart="children"]');
    if (holder) {
      holder.style.height = Math.max(160, 32 * kids.length + 50) + "px";
    }
    draw("children", {
      tooltip: { trigger: "axis" },
      grid: { left: 10, right: 40, top: 10, bottom: 20, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: kids.map(function (r) { return r.name; }),
               axisLabel: { width: 160, overflow: "truncate" } },
      series: [{ name: labels.members, type: "bar", data: kids.map(function (r) { return r.members; }) }]
    });
  }
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
