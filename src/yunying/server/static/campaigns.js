// The campaigns page (server/campaigns_page.py): draw each chart from its data-figure (plotly JSON).
(() => {
  "use strict";
  const charts = document.querySelectorAll(".yy-fig[data-figure]");
  for (const el of charts) {
    const fig = JSON.parse(el.dataset.figure);
    const layout = Object.assign({}, fig.layout || {}, { autosize: true });
    window.Plotly.newPlot(el, fig.data || [], layout, { responsive: true, displaylogo: false });
  }
  document.body.dataset.state = "done";
  document.body.dataset.charts = String(charts.length);
})();
