/* The teaching compliance heatmap: departments × months from the JSON the page embeds with json_script. */
(function () {
  "use strict";
  var source = document.getElementById("compliance-data");
  var element = document.getElementById("compliance-heatmap");
  if (!source || !element || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  if (!data) {
    return;
  }
  element.style.height = Math.max(220, 60 + data.departments.length * 28) + "px";
  var chart = echarts.init(element, null, { renderer: "canvas" });
  chart.setOption({
    tooltip: {
      formatter: function (p) {
        return data.departments[p.value[1]] + " · " + data.months[p.value[0]] + ": " + data.labels[p.value[2]];
      }
    },
    grid: { left: 8, right: 16, top: 8, bottom: 48, containLabel: true },
    xAxis: { type: "category", data: data.months, splitArea: { show: true } },
    yAxis: { type: "category", data: data.departments, inverse: true, splitArea: { show: true } },
    visualMap: {
      type: "piecewise", orient: "horizontal", left: "center", bottom: 0,
      pieces: [
        { value: 0, label: data.labels[0], color: "#f1aeb5" },
        { value: 1, label: data.labels[1], color: "#ffe69c" },
        { value: 2, label: data.labels[2], color: "#a3cfbb" }
      ]
    },
    series: [{ type: "heatmap", data: data.cells, label: { show: false } }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
