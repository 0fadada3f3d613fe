/* The traffic dashboard: draws the ECharts charts from the JSON the page embeds with json_script. */
(function () {
  "use strict";
  var source = document.getElementById("traffic-data");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var labels = data.labels;
  var charts = [];
  var narrow = function () { return window.matchMedia("(max-width: 575.98px)").matches; };
  var grid = { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  }

  var hours = data.series.hours;
  var zoom = hours.length > 48 ? [{ type: "inside", start: 70, end: 100 }, { type: "slider", height: 16, bottom: 0 }] : [];
  var timeGrid = Object.assign({}, grid, { bottom: zoom.length ? 28 : 8 });

  draw("chart-requests", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid: timeGrid,
    dataZoom: zoom,
    xAxis: { type: "category", data: hours, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: labels.requests, type: "bar", data: data.series.requests, itemStyle: { color: "#0d6efd" } },
      { name: labels.errors, type: "line", data: data.series.errors, itemStyle: { color: "#dc3545" }, symbolSize: 4 },
      { name: labels.client_errors, type: "line", data: data.series.client_errors, itemStyle: { color: "#fd7e14" }, symbolSize: 4 }
    ]
  });

  draw("chart-p95", {
    tooltip: { trigger: "axis" },
    grid: timeGrid,
    dataZoom: zoom,
    xAxis: { type: "category", data: hours, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", name: "ms" },
    series: [{ name: labels.p95, type: "line", data: data.series.p95, connectNulls: true, areaStyle: { opacity: 0.15 }, symbolSize: 4 }]
  });

  var pages = data.pages.slice().reverse();
  draw("chart-pages", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: grid,
    xAxis: { type: "value", name: "ms" },
    yAxis: { type: "category", data: pages.map(function (p) { return p.name; }),
             axisLabel: { width: narrow() ? 90 : 160, overflow: "truncate" } },
    series: [{ name: labels.p95, type: "bar", data: pages.map(function (p) { return p.p95; }), itemStyle: { color: "#6f42c1" } }]
  });

  var roles = data.roles.slice().reverse();
  draw("chart-roles", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: grid,
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: roles.map(function (r) { return r.name; }),
             axisLabel: { width: narrow() ? 80 : 140, overflow: "truncate" } },
    series: [{ name: labels.count, type: "bar", data: roles.map(function (r) { return r.count; }), itemStyle: { color: "#198754" } }]
  });

  var pending;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      charts.forEach(function (chart) { chart.resize(); });
    }, 150);
  });
})();
