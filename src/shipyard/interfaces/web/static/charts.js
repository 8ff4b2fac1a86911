/* Shipyard charts: draws every <div class="chart" data-src data-chart data-kind> with the
 * vendored ECharts (/static/vendor/echarts). data-src answers {"charts": {key: chart}} and
 * data-chart names the key; elements sharing a data-src fetch it once. A chart is
 * {title, x: "time"|"step", unit, y_min, empty, series: [{name, points: [[x, y|null]]}],
 * bands?: [{name, of, points: [[x, lower, upper]]}]} for lines (the default kind), or
 * {kind: "heatmap", labels, columns, cells: [[x index, y index, value]], max} or
 * {kind: "bar", categories, unit, series: [{name, values}], note, legend?: false} or
 * {kind: "parallel", axes: [{name, type, data?}], rows: [[value per axis]], trials, best}
 * (a sweep's trials: a line per trial, the best one drawn over the others) or
 * {kind: "histogram", unit, points: [[left edge, density]], bins: [[left, right, share]]}
 * (bins of unequal width, e.g. between a profile's quantiles).
 * When drawn, the element gets data-rendered="true" ("empty" or "error" otherwise). */
(function () {
  "use strict";

  var loads = {};

  function load(src) {
    if (!loads[src]) {
      loads[src] = fetch(src, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) {
            throw new Error(body.message || "HTTP " + resp.status);
          }
          return body;
        });
      });
    }
    return loads[src];
  }

  function fmt(value) {
    return Math.abs(value) >= 1e6 || (value !== 0 && Math.abs(value) < 1e-3)
      ? value.toExponential(3)
      : String(Number(value.toPrecision(4)));
  }

  function withUnit(unit) {
    return function (value) {
      if (value === null || value === undefined || Number.isNaN(value)) {
        return "–";
      }
      return unit ? fmt(value) + " " + unit : fmt(value);
    };
  }

  function xAxis(chart) {
    if (chart.x === "time") {
      return { type: "time", splitNumber: 5, axisLabel: { hideOverlap: true } };
    }
    return { type: "value", name: chart.x, nameLocation: "middle", nameGap: 24,
             minInterval: 1, scale: true };
  }

  function yAxis(chart) {
    var axis = { type: "value", name: chart.unit || "", axisLabel: { formatter: fmt } };
    if (chart.y_min === null || chart.y_min === undefined) {
      axis.scale = true;  // fit the data (an AUC of 0.90..0.95 needs no zero)
    } else {
      axis.min = chart.y_min;  // rates and latencies never go below it
    }
    return axis;
  }

  function series(chart) {
    return chart.series.map(function (s) {
      var drawn = s.points.filter(function (p) { return p[1] !== null; }).length;
      return {
        name: s.name,
        type: "line",
        data: s.points,
        showSymbol: drawn <= 60,  // a lone point stays visible
        symbolSize: 5,
        connectNulls: false,  // no requests in a step: a gap, not a made-up line
        sampling: chart.x === "time" ? undefined : "lttb",
      };
    });
  }

  function bands(chart) {
    // a confidence band: the lower bound as an invisible base, the width stacked on it
    var out = [];
    (chart.bands || []).forEach(function (b, i) {
      var common = { name: b.name, type: "line", stack: "band-" + i, symbol: "none",
                     lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false } };
      out.push(Object.assign({}, common, {
        data: b.points.map(function (p) { return [p[0], p[1]]; }) }));
      out.push(Object.assign({}, common, {
        data: b.points.map(function (p) { return [p[0], p[2] - p[1]]; }),
        areaStyle: { opacity: 0.18, color: "#2563eb" } }));
    });
    return out;
  }

  function heatmapOption(chart) {
    var labels = chart.cells.length <= 240;
    return {
      animation: false,
      tooltip: {
        position: "top",
        formatter: function (p) {
          return chart.columns[p.value[1]] + " · " + chart.labels[p.value[0]] + ": " +
            fmt(p.value[2]);
        },
      },
      grid: { top: 12, left: 12, right: 24, bottom: 64, containLabel: true },
      xAxis: { type: "category", data: chart.labels, splitArea: { show: true },
               axisLabel: { hideOverlap: true } },
      yAxis: { type: "category", data: chart.columns, splitArea: { show: true } },
      visualMap: { min: 0, max: chart.max, calculable: true, orient: "horizontal",
                   left: "center", bottom: 4, itemHeight: 120,
                   inRange: { color: ["#eff6ff", "#fde68a", "#f97316", "#b91c1c"] } },
      series: [{ name: chart.title, type: "heatmap", data: chart.cells,
                 label: { show: labels, fontSize: 10,
                          formatter: function (p) { return fmt(p.value[2]); } } }],
    };
  }

  function barOption(chart) {
    var many = chart.categories.length > 8;
    return {
      animation: false,
      color: ["#94a3b8", "#2563eb"],
      legend: chart.legend === false ? { show: false } : { top: 0, left: 8 },
      grid: { top: chart.legend === false ? 28 : 48, left: 12, right: 24, bottom: 12,
              containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: withUnit("") },
      xAxis: { type: "category", data: chart.categories,
               axisLabel: { rotate: many ? 30 : 0, hideOverlap: false, interval: 0 } },
      yAxis: { type: "value", min: 0, name: chart.unit || "", axisLabel: { formatter: fmt } },
      series: chart.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.values };
      }),
    };
  }

  function parallelOption(chart) {
    var lines = chart.rows.map(function (row, i) {
      var best = i === chart.best;
      return { name: "trial " + chart.trials[i], value: row,
               lineStyle: best ? { color: "#dc2626", width: 3, opacity: 1 }
                               : { color: "#2563eb" } };
    });
    return {
      animation: false,
      parallel: { left: 48, right: 72, top: 36, bottom: 28 },
      parallelAxis: chart.axes.map(function (a, i) {
        var axis = { dim: i, name: a.name, type: a.type, nameTextStyle: { fontWeight: 600 } };
        if (a.type === "category") { axis.data = a.data; } else { axis.scale = true; }
        if (a.type !== "category") { axis.axisLabel = { formatter: fmt }; }
        return axis;
      }),
      tooltip: { trigger: "item", formatter: function (p) {
        return p.name + ": " + chart.axes.map(function (a, i) {
          var v = p.value[i];
          return a.name + " = " + (typeof v === "number" ? fmt(v) : v);
        }).join(", ");
      } },
      series: [{ name: chart.title, type: "parallel", data: lines,
                 lineStyle: { width: 1.6, opacity: 0.75 } }],
    };
  }

  function histogramOption(chart) {
    // bins of unequal width: a step line over each bin's left edge, filled down to zero
    return {
      animation: false,
      color: ["#2563eb"],
      grid: { top: 24, left: 12, right: 24, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        formatter: function (params) {
          var i = Math.min(params[0].dataIndex, chart.bins.length - 1);
          var b = chart.bins[i];
          return fmt(b[0]) + " – " + fmt(b[1]) + ": " + fmt(100 * b[2]) + " % of the values";
        },
      },
      xAxis: { type: "value", scale: true, axisLabel: { formatter: fmt, hideOverlap: true } },
      yAxis: { type: "value", min: 0, name: chart.unit || "", axisLabel: { formatter: fmt } },
      series: [{ name: chart.title, type: "line", step: "end", data: chart.points,
                 symbol: "none", areaStyle: { opacity: 0.3 } }],
    };
  }

  var OPTIONS = { heatmap: heatmapOption, bar: barOption, parallel: parallelOption,
                  histogram: histogramOption };

  function option(chart) {
    if (OPTIONS[chart.kind]) {
      return OPTIONS[chart.kind](chart);
    }
    return {
      animation: false,
      color: ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d",
              "#4d7c0f"],
      legend: { type: "scroll", top: 0, left: 8, right: 8 },  // above the plot, never on it
      grid: { top: 44, left: 12, right: 24, bottom: 52, containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: withUnit(chart.unit) },
      xAxis: xAxis(chart),
      yAxis: yAxis(chart),
      dataZoom: [
        { type: "inside", filterMode: "none" },
        { type: "slider", filterMode: "none", height: 16, bottom: 6 },
      ],
      series: series(chart).concat(bands(chart)),
    };
  }

  function say(el, state, text) {
    el.dataset.rendered = state;
    el.classList.add(state === "error" ? "chart-error" : "chart-empty");
    el.textContent = text;
  }

  function draw(el) {
    return load(el.dataset.src).then(function (body) {
      var chart = body.charts[el.dataset.chart];
      if (!chart) {
        return say(el, "empty", "no data for " + el.dataset.chart);
      }
      if (chart.empty) {
        return say(el, "empty", chart.title + ": " + chart.empty);
      }
      if (chart.kind === "heatmap") {  // a row per column, whatever their number
        el.style.height = Math.max(220, 90 + 26 * chart.columns.length) + "px";
      }
      var instance = echarts.init(el);
      instance.setOption(option(chart));
      if (chart.note) {
        var note = document.createElement("div");
        note.className = "chart-note muted";
        note.textContent = chart.note;
        el.parentNode.appendChild(note);
      }
      el.dataset.rendered = "true";
    }).catch(function (err) {
      say(el, "error", "chart unavailable: " + err.message);
    });
  }

  function start() {
    var els = Array.prototype.slice.call(document.querySelectorAll("div.chart[data-src]"));
    els.forEach(draw);
    window.addEventListener("resize", function () {
      els.forEach(function (el) {
        var instance = echarts.getInstanceByDom(el);
        if (instance) { instance.resize(); }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
