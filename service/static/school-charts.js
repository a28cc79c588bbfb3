/* Draws the charts of the compare and school pages with the vendored ECharts. Each chart is an element
   with data-chart holding the ECharts option the server built (service/cockpit/charts.py): nothing is
   computed here, and every chart has its numbers in a table beside it, so the page reads without it. */
(function () {
  "use strict";
  if (typeof window.echarts === "undefined") { return; }
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var option;
    try { option = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    el.setAttribute("data-chart-ready", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
