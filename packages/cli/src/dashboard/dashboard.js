// Draws the dashboard's charts from its JSON API and redraws them every few seconds. Tables are
// rendered by the server; reload the page (or follow "refresh") for fresh tables.
(() => {
  var charts = {};
  var COLORS = ["#0b57d0", "#0a7d32", "#b3261e", "#8e44ad", "#e67e22", "#16a085", "#7f8c8d", "#c0392b"];

  function draw(id, title, times, series) {
    var el = document.getElementById(id);
    if (!el) return;
    var names = Object.keys(series);
    var data = [times].concat(names.map((n) => series[n]));
    var key = id + ":" + names.join("|");
    if (charts[id] && charts[id].key === key) {
      charts[id].plot.setData(data);
      return;
    }
    if (charts[id]) charts[id].plot.destroy();
    var opts = {
      title: title,
      width: Math.max(320, Math.min(el.clientWidth || 900, 1100)),
      height: 220,
      series: [{}].concat(names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], spanGaps: true }))),
      axes: [{}, { size: 60 }],
    };
    charts[id] = { key: key, plot: new uPlot(opts, data, el) };
  }

  function pick(series, test) {
    var out = {};
    Object.keys(series).forEach((k) => {
      if (test(k)) out[k] = series[k];
    });
    return out;
  }

  function refresh() {
    fetch("/api/throughput", { credentials: "same-origin" })
      .then((r) => {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then((d) => {
        draw(
          "chart-rates",
          "per second",
          d.times,
          pick(d.series, (k) => /\/s$/.test(k)),
        );
        draw(
          "chart-lag",
          "lag and backlog",
          d.times,
          pick(d.series, (k) => !/\/s$/.test(k)),
        );
      })
      .catch((e) => {
        console.warn("throughput:", e.message);
      });
    fetch("/api/saas", { credentials: "same-origin" })
      .then((r) => r.json())
      .then((d) => {
        var series = {};
        d.mrr.forEach((m) => {
          series[m.currency.toUpperCase() + " (minor units)"] = [m.mrr, m.mrr];
        });
        var now = Math.round(Date.now() / 1000);
        if (d.mrr.length) draw("chart-mrr", "MRR now", [now - 60, now], series);
      })
      .catch((e) => {
        console.warn("saas:", e.message);
      });
  }
  refresh();
  setInterval(refresh, 5000);
})();
