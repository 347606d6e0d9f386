/* Narrowcast marketing dashboard: reads the JSON endpoints and draws the charts with the vendored Chart.js.
   Every chart canvas gets data-points = the number of points it drew, so tests can check it rendered data. */
(function () {
  'use strict';

  const CHANNEL_COLORS = {
    paid_social: '#2563eb', paid_search: '#f59e0b', organic_search: '#10b981', email: '#8b5cf6',
    direct: '#6b7280', referral: '#ec4899', affiliate: '#14b8a6', marketplace: '#ef4444',
  };
  const PALETTE = ['#2563eb', '#f59e0b', '#10b981', '#8b5cf6', '#ef4444', '#14b8a6', '#ec4899', '#6b7280'];
  const charts = {};
  const $ = (id) => document.getElementById(id);

  const euro = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 });
  const euro2 = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR', maximumFractionDigits: 2 });
  const num = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
  const fmt = {
    eur: (v) => (v == null ? '–' : euro.format(v)),
    eur2: (v) => (v == null ? '–' : euro2.format(v)),
    num: (v) => (v == null ? '–' : num.format(v)),
    x: (v) => (v == null ? '–' : v.toFixed(2) + '×'),
    pct: (v) => (v == null ? '–' : (v * 100).toFixed(1) + '%'),
    signedPct: (v) => (v == null ? '–' : (v > 0 ? '+' : '') + (v * 100).toFixed(1) + '%'),
    dec: (v) => (v == null ? '–' : Number(v).toFixed(2)),
    text: (v) => (v == null ? '–' : String(v)),
    month: (v) => new Date(v + 'T00:00:00Z').toLocaleDateString('en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' }),
    label: (v) => (v == null ? '–' : String(v).replace(/_/g, ' ')),
  };

  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#4b5563';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function color(channel, i) { return CHANNEL_COLORS[channel] || PALETTE[i % PALETTE.length]; }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  function draw(canvasId, config, points) {
    if (charts[canvasId]) charts[canvasId].destroy();
    const canvas = $(canvasId);
    charts[canvasId] = new Chart(canvas, config);
    canvas.setAttribute('data-points', String(points));
  }

  function table(id, columns, rows) {
    const head = '<thead><tr>' + columns.map((c) => `<th class="${c.cls || ''}">${escapeHtml(c.label)}</th>`).join('') + '</tr></thead>';
    const body = rows.map((row) => '<tr>' + columns.map((c) => {
      const raw = typeof c.value === 'function' ? c.value(row) : row[c.key];
      const cell = c.html ? c.html(row) : escapeHtml((c.fmt || fmt.text)(raw));
      return `<td class="${c.cls || ''}">${cell}</td>`;
    }).join('') + '</tr>').join('');
    $(id).innerHTML = head + '<tbody>' + (body || `<tr><td colspan="${columns.length}" class="text">No rows for these filters</td></tr>`) + '</tbody>';
  }

  function badge(text, cls) { return `<span class="badge ${cls}">${escapeHtml(fmt.label(text))}</span>`; }

  function sectionEmpty(sectionId, message) {
    const section = $(sectionId);
    section.querySelectorAll('[data-body]').forEach((el) => el.classList.add('hidden'));
    let note = section.querySelector('.section-empty');
    if (!note) {
      note = document.createElement('div');
      note.className = 'section-empty';
      section.appendChild(note);
    }
    note.textContent = message;
  }

  function sectionReady(sectionId) {
    const section = $(sectionId);
    section.querySelectorAll('[data-body]').forEach((el) => el.classList.remove('hidden'));
    const note = section.querySelector('.section-empty');
    if (note) note.remove();
  }

  async function getJSON(path, params) {
    const query = params ? '?' + new URLSearchParams(params).toString() : '';
    const response = await fetch(path + query, { headers: { Accept: 'application/json' } });
    let body = {};
    try { body = await response.json(); } catch (e) { body = { detail: `${response.status} ${response.statusText}` }; }
    return { status: response.status, body };
  }

  function currentFilters() {
    const params = {};
    const start = $('f-start').value; const end = $('f-end').value; const channel = $('f-channel').value;
    if (start) params.start = start;
    if (end) params.end = end;
    if (channel) params.channel = channel;
    return params;
  }

  function showError(message) {
    const box = $('error');
    box.textContent = message;
    box.classList.toggle('hidden', !message);
  }

  // ---- renderers, one per endpoint ---------------------------------------------------------------

  function lineByChannel(series, metric) {
    const periods = [...new Set(series.map((r) => r.period))].sort();
    const channels = [...new Set(series.map((r) => r.channel))];
    let points = 0;
    const datasets = channels.map((channel, i) => {
      const byPeriod = new Map(series.filter((r) => r.channel === channel).map((r) => [r.period, r[metric]]));
      const data = periods.map((p) => (byPeriod.has(p) ? byPeriod.get(p) : null));
      const drawn = data.filter((v) => v != null).length;
      points += drawn;
      return drawn ? { label: fmt.label(channel), data, borderColor: color(channel, i), backgroundColor: color(channel, i),
        tension: 0.25, pointRadius: periods.length > 40 ? 0 : 2, spanGaps: true } : null;
    }).filter(Boolean);
    return { labels: periods, datasets, points };
  }

  function renderKpi(body) {
    const t = body.totals;
    const cards = [
      ['Ad spend', fmt.eur(t.spend)], ['Revenue', fmt.eur(t.revenue)], ['ROAS (paid)', fmt.x(t.roas)],
      ['ROI (paid)', fmt.pct(t.roi)], ['CAC (paid)', fmt.eur2(t.cac)], ['Orders', fmt.num(t.orders)], ['New customers', fmt.num(t.new_customers)],
      ['Avg order value', fmt.eur2(t.aov)],
    ];
    $('cards').innerHTML = cards.map(([l, v]) => `<div class="card"><div class="label">${l}</div><div class="value">${v}</div></div>`).join('');
    const f = body.filters;
    $('range-note').textContent = `Showing ${f.start} to ${f.end}` + (f.channel ? ` · ${fmt.label(f.channel)}` : ' · all channels') + ` · trend by ${body.grain}`;
    if (!$('f-start').value) $('f-start').value = f.start;
    if (!$('f-end').value) $('f-end').value = f.end;
    const axes = {
      roas: (v) => v.toFixed(1) + '×', roi: (v) => Math.round(v * 100) + '%', cac: (v) => '€' + Math.round(v),
    };
    [['roas', 'chart-roas'], ['roi', 'chart-roi'], ['cac', 'chart-cac']].forEach(([metric, id]) => {
      const d = lineByChannel(body.series, metric);
      draw(id, {
        type: 'line', data: { labels: d.labels, datasets: d.datasets },
        options: { interaction: { mode: 'index', intersect: false },
          scales: { y: { ticks: { callback: axes[metric] } }, x: { ticks: { maxTicksLimit: 8 } } },
          plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.parsed.y == null ? '–' : axes[metric](c.parsed.y)}` } } } },
      }, d.points);
    });
  }

  function renderBudget(body) {
    $('tolerance').textContent = Math.round(body.tolerance * 100) + '%';
    const months = body.months;
    const overMonths = months.map((m) => m.planned_spend > 0 && (m.actual_spend - m.planned_spend) / m.planned_spend > body.tolerance);
    draw('chart-budget', {
      type: 'bar',
      data: { labels: months.map((m) => fmt.month(m.month)), datasets: [
        { label: 'Planned spend', data: months.map((m) => m.planned_spend), backgroundColor: '#cbd5e1' },
        { label: 'Actual spend', data: months.map((m) => m.actual_spend), backgroundColor: overMonths.map((o) => (o ? '#dc2626' : '#2563eb')) },
      ] },
      options: { scales: { y: { ticks: { callback: (v) => euro.format(v) } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${euro.format(c.parsed.y)}` } } } },
    }, months.length * 2);
    table('table-budget', [
      { key: 'month', label: 'Month', fmt: fmt.month, cls: 'text' },
      { key: 'channel', label: 'Channel', fmt: fmt.label, cls: 'text' },
      { key: 'planned_spend', label: 'Planned', fmt: fmt.eur },
      { key: 'actual_spend', label: 'Actual', fmt: fmt.eur },
      { key: 'spend_variance', label: 'Variance', fmt: fmt.eur },
      { key: 'spend_off_plan_share', label: 'Off plan', fmt: fmt.signedPct },
      { key: 'flag', label: '', html: (r) => badge(r.flag === 'on_plan' ? 'on plan' : r.flag === 'over' ? 'over budget' : r.flag === 'under' ? 'under budget' : r.flag, r.flag) },
      { key: 'actual_revenue', label: 'Revenue', fmt: fmt.eur },
      { key: 'actual_roas', label: 'ROAS', fmt: fmt.x },
    ], body.rows);
  }

  function renderFunnel(body) {
    const rows = body.channels;
    const steps = [['ad_interactions', 'Ad interactions', '#93c5fd'], ['site_visits', 'Site visits', '#2563eb'], ['first_purchases', 'First purchases', '#15803d']];
    let points = 0;
    const datasets = steps.map(([key, label, c]) => {
      const data = rows.map((r) => (r[key] > 0 ? r[key] : null));
      points += data.filter((v) => v != null).length;
      return { label, data, backgroundColor: c };
    });
    draw('chart-funnel', {
      type: 'bar', data: { labels: rows.map((r) => fmt.label(r.channel)), datasets },
      options: { scales: { y: { type: 'logarithmic', ticks: { callback: (v) => ([1, 10, 100, 1000, 10000, 100000, 1000000].includes(v) ? num.format(v) : '') } } } },
    }, points);
    table('table-funnel', [
      { key: 'channel', label: 'Channel', fmt: fmt.label, cls: 'text' },
      { key: 'ad_interactions', label: 'Ad interactions', fmt: fmt.num },
      { key: 'site_visits', label: 'Visits', fmt: fmt.num },
      { key: 'first_purchases', label: 'First purchases', fmt: fmt.num },
      { key: 'visit_rate', label: 'Visit rate', fmt: fmt.pct },
      { key: 'purchase_rate', label: 'Purchase rate', fmt: fmt.pct },
    ], rows);
  }

  function renderRfm(body) {
    const rows = body.segments;
    draw('chart-rfm', {
      type: 'bar',
      data: { labels: rows.map((r) => r.segment), datasets: [
        { type: 'bar', label: 'Customers', data: rows.map((r) => r.customers), backgroundColor: '#2563eb', yAxisID: 'y' },
        { type: 'line', label: 'Revenue (net)', data: rows.map((r) => r.monetary), borderColor: '#f59e0b', backgroundColor: '#f59e0b', yAxisID: 'y2' },
      ] },
      options: { scales: {
        y: { position: 'left', title: { display: true, text: 'customers' } },
        y2: { position: 'right', grid: { drawOnChartArea: false }, ticks: { callback: (v) => euro.format(v) } },
      } },
    }, rows.length);
    table('table-rfm', [
      { key: 'segment', label: 'Segment', cls: 'text' },
      { key: 'customers', label: 'Customers', fmt: fmt.num },
      { key: 'customer_share', label: 'Share', fmt: fmt.pct },
      { key: 'monetary', label: 'Net revenue', fmt: fmt.eur },
      { key: 'value_share', label: 'Value share', fmt: fmt.pct },
      { key: 'avg_monetary', label: 'Avg value', fmt: fmt.eur2 },
      { key: 'avg_recency_days', label: 'Avg days since order', fmt: fmt.num },
    ], rows);
  }

  function renderRecommendations(body) {
    const rows = body.products;
    const kindColor = { cross_sell: '#2563eb', upsell: '#f59e0b' };
    draw('chart-recommendations', {
      type: 'bar',
      data: { labels: rows.map((r) => `${r.product_title} (${fmt.label(r.kind)})`), datasets: [
        { label: 'Customers it is recommended to', data: rows.map((r) => r.customers), backgroundColor: rows.map((r) => kindColor[r.kind] || '#6b7280') },
      ] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } } },
    }, rows.length);
    table('table-recommendations', [
      { key: 'product_title', label: 'Product', cls: 'text' },
      { key: 'sku', label: 'SKU', cls: 'text' },
      { key: 'kind', label: 'Kind', html: (r) => badge(r.kind, r.kind === 'upsell' ? 'warn' : 'neutral') },
      { key: 'customers', label: 'Customers', fmt: fmt.num },
      { key: 'avg_lift', label: 'Lift', fmt: fmt.dec },
      { key: 'avg_confidence', label: 'Confidence', fmt: fmt.pct },
    ], rows);
  }

  function renderListings(body) {
    const rows = body.marketplaces;
    draw('chart-listings', {
      type: 'bar',
      data: { labels: rows.map((r) => r.marketplace), datasets: [
        { label: 'Active', data: rows.map((r) => r.active), backgroundColor: '#15803d' },
        { label: 'Withdrawn', data: rows.map((r) => r.withdrawn), backgroundColor: '#f87171' },
      ] },
      options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'listings' } } } },
    }, rows.length);
    table('table-listings', [
      { key: 'marketplace', label: 'Marketplace', cls: 'text' },
      { key: 'active', label: 'Active', fmt: fmt.num },
      { key: 'withdrawn', label: 'Withdrawn', fmt: fmt.num },
      { key: 'units_listed', label: 'Units listed', fmt: fmt.num },
      { key: 'listed_value', label: 'Listed value', fmt: fmt.eur },
      { key: 'last_pushed_at', label: 'Last pushed', html: (r) => (r.last_pushed_at ? escapeHtml(r.last_pushed_at) : badge('never', 'warn')) },
      { key: 'withdrawn_reasons', label: 'Main withdrawal reason', cls: 'wrap',
        value: (r) => (r.withdrawn_reasons.length ? `${r.withdrawn_reasons[0].reason} (${r.withdrawn_reasons[0].listings})` : null) },
      { key: 'catalogue_incomplete', label: 'Catalogue SKUs not ready', fmt: fmt.num },
      { key: 'creation_rejections', label: 'Main listing-creation problem', cls: 'wrap',
        value: (r) => (r.creation_rejections.length
          ? `${r.creation_rejections[0].reason} (${r.creation_rejections[0].skus}, e.g. ${r.creation_rejections[0].example_sku})`
          : (r.catalogue_problems.length ? `${r.catalogue_problems[0].reason} (${r.catalogue_problems[0].skus})` : null)) },
    ], rows);
  }

  function renderMarketplaces(body) {
    const rows = body.marketplaces;
    draw('chart-marketplaces', {
      type: 'bar',
      data: { labels: rows.map((r) => r.marketplace), datasets: [
        { label: 'Net revenue', data: rows.map((r) => r.net_revenue), backgroundColor: '#2563eb' },
        { label: 'Fees', data: rows.map((r) => r.fees), backgroundColor: '#f59e0b' },
        { label: 'Margin', data: rows.map((r) => r.margin), backgroundColor: '#15803d' },
      ] },
      options: { scales: { y: { title: { display: true, text: rows.length ? rows[0].reporting_currency : '' } } } },
    }, rows.length);
    table('table-marketplaces', [
      { key: 'marketplace', label: 'Marketplace', cls: 'text' },
      { key: 'units', label: 'Units', fmt: fmt.num },
      { key: 'returned_units', label: 'Returned', fmt: fmt.num },
      { key: 'net_revenue', label: 'Net revenue', fmt: fmt.eur },
      { key: 'fees', label: 'Fees', fmt: fmt.eur },
      { key: 'fee_share', label: 'Fees / revenue', fmt: fmt.pct },
      { key: 'margin', label: 'Margin', fmt: fmt.eur },
      { key: 'margin_share', label: 'Margin / revenue', fmt: fmt.pct },
    ], rows);
    table('table-best-products', [
      { key: 'best_rank', label: '#', fmt: fmt.num },
      { key: 'sku', label: 'SKU', cls: 'text' },
      { key: 'units_90d', label: 'Units (90 d)', fmt: fmt.num },
      { key: 'margin_90d', label: 'Margin (90 d)', fmt: fmt.eur },
      { key: 'on_hand', label: 'On hand', fmt: fmt.num },
      { key: 'margin_per_stock_unit', label: 'Margin / unit of stock', fmt: fmt.dec },
      { key: 'margin_per_ad_spend', label: 'Margin / ad spend', fmt: fmt.dec },
      { key: 'score', label: 'Score', fmt: fmt.dec },
    ], body.best_products);
  }

  function renderUplift(body) {
    const rows = body.uplift;
    const labels = rows.map((r) => `${r.sync_id} · ${r.audience_id} · ${String(r.period_start).slice(0, 7)}`);
    const colour = (r) => (r.too_small_to_conclude ? '#cbd5e1' : (r.is_significant ? '#15803d' : '#f59e0b'));
    // One readable row per sync, audience and month: the box grows with the rows instead of skipping labels.
    document.getElementById('chart-uplift').parentElement.style.height = `${Math.max(260, rows.length * 22 + 70)}px`;
    draw('chart-uplift', {
      type: 'bar',
      data: { labels, datasets: [
        { label: '95% interval', data: rows.map((r) => [r.revenue_per_member_uplift_ci_low, r.revenue_per_member_uplift_ci_high]),
          backgroundColor: rows.map(colour), order: 2 },
        // order 1: drawn over the interval bars (Chart.js draws higher orders first).
        { type: 'scatter', label: 'Estimate', data: rows.map((r, i) => ({ x: r.revenue_per_member_uplift, y: labels[i] })),
          backgroundColor: '#111827', pointRadius: 4, order: 1 },
      ] },
      options: { indexAxis: 'y', scales: { y: { ticks: { autoSkip: false } }, x: { title: { display: true,
        text: 'revenue per member vs holdout' + (rows.length ? ` (${rows[0].currency})` : '') } } } },
    }, rows.length);
    table('table-uplift', [
      { key: 'sync_id', label: 'Sync', cls: 'text' },
      { key: 'audience_id', label: 'Audience', cls: 'text' },
      { key: 'period_start', label: 'Entered', cls: 'text' },
      { label: 'Treated / held out', value: (r) => `${fmt.num(r.treated_members)} / ${fmt.num(r.holdout_members)}` },
      { label: 'Conversion (treated / held out)', value: (r) => `${fmt.pct(r.treated_conversion_rate)} / ${fmt.pct(r.holdout_conversion_rate)}` },
      { key: 'incremental_revenue', label: 'Incremental revenue', fmt: fmt.eur },
      { label: '95% interval', value: (r) => `${fmt.eur(r.incremental_revenue_ci_low)} … ${fmt.eur(r.incremental_revenue_ci_high)}` },
      { key: 'verdict', label: 'Verdict', html: (r) => badge(r.verdict, r.too_small_to_conclude ? 'neutral' : (r.is_significant ? 'success' : 'warn')) },
    ], rows);
  }

  function statusClass(status) {
    const s = String(status || '').toLowerCase();
    if (['success', 'succeeded', 'ok', 'completed'].includes(s)) return 'success';
    if (['failed', 'error'].includes(s)) return 'failed';
    return 'neutral';
  }

  function renderSyncs(body) {
    const rows = body.syncs;
    draw('chart-syncs', {
      type: 'bar',
      data: { labels: rows.map((r) => r.sync_id), datasets: [
        { label: 'Accepted', data: rows.map((r) => r.accepted), backgroundColor: '#15803d' },
        { label: 'Rejected', data: rows.map((r) => r.rejected), backgroundColor: '#dc2626' },
        { label: 'Skipped', data: rows.map((r) => r.skipped), backgroundColor: '#cbd5e1' },
      ] },
      options: { indexAxis: 'y', scales: { x: { stacked: true, title: { display: true, text: 'rows in the last run' } }, y: { stacked: true } } },
    }, rows.length);
    table('table-syncs', [
      { key: 'sync_id', label: 'Sync', cls: 'text' },
      { key: 'last_status', label: 'Status', html: (r) => badge(r.last_status, statusClass(r.last_status)) + (r.last_dry_run ? ' ' + badge('dry run', 'neutral') : '') },
      { key: 'last_started_at', label: 'Last run', cls: 'text' },
      { label: 'Adds / changes / removes', value: (r) => `${r.planned_adds} / ${r.planned_changes} / ${r.planned_removes}` },
      { key: 'rejected', label: 'Rejected', html: (r) => (r.rejected ? badge(`${r.rejected} (${fmt.pct(r.rejected_share)})`, 'bad') : '0') },
      { key: 'api_calls', label: 'API calls', fmt: fmt.num },
      { key: 'runs_in_range', label: 'Runs in range', fmt: fmt.num },
    ], rows);
    table('table-rejections', [
      { key: 'sync_id', label: 'Sync', cls: 'text' },
      { key: 'reason', label: 'Reason', cls: 'wrap' },
      { key: 'rows', label: 'Rows', fmt: fmt.num },
      { key: 'last_rejected_at', label: 'Last seen', cls: 'text' },
    ], body.open_rejections);
  }

  // ---- discount codes ----
  function renderDiscounts(body) {
    const rows = body.campaigns;
    draw('chart-discounts', {
      type: 'bar',
      data: { labels: rows.map((r) => `${r.campaign} (${r.code_kind})`), datasets: [
        { label: 'Recovered revenue', data: rows.map((r) => r.recovered_revenue), backgroundColor: '#15803d' },
      ] },
      options: { indexAxis: 'y', scales: { y: { ticks: { autoSkip: false } }, x: { title: { display: true, text: rows.length ? rows[0].reporting_currency : '' } } } },
    }, rows.length);
    table('table-discounts', [
      { key: 'campaign', label: 'Campaign', cls: 'text' },
      { key: 'code_kind', label: 'Codes', cls: 'text' },
      { key: 'codes_issued', label: 'Issued', fmt: fmt.num },
      { key: 'redemption_rate', label: 'Redeemed (of issued)', fmt: fmt.pct },
      { key: 'recovered_orders', label: 'Recovered orders', fmt: fmt.num },
      { key: 'recovered_revenue', label: 'Recovered revenue', fmt: fmt.eur },
    ], rows);
  }

  // ---- affiliates and referrals ----
  function renderAffiliates(body) {
    const rows = body.partners;
    draw('chart-affiliates', {
      type: 'bar',
      data: { labels: rows.map((r) => r.partner_id), datasets: [
        { label: 'Revenue', data: rows.map((r) => r.revenue), backgroundColor: '#15803d' },
        { label: 'Commission', data: rows.map((r) => r.commission), backgroundColor: '#b45309' },
      ] },
      options: { indexAxis: 'y', scales: { y: { ticks: { autoSkip: false } }, x: { title: { display: true, text: rows.length ? rows[0].currency : '' } } } },
    }, rows.length);
    table('table-affiliates', [
      { key: 'partner_id', label: 'Partner', cls: 'text' },
      { key: 'partner_type', label: 'Type', cls: 'text' },
      { key: 'sessions', label: 'Sessions', fmt: fmt.num },
      { key: 'orders', label: 'Orders', fmt: fmt.num },
      { key: 'new_customers', label: 'New customers', fmt: fmt.num },
      { key: 'revenue', label: 'Revenue', fmt: fmt.eur },
      { key: 'commission', label: 'Commission', fmt: fmt.eur },
      { key: 'roas', label: 'ROAS', fmt: fmt.num },
    ], rows);
    table('table-affiliate-types', [
      { key: 'partner_type', label: 'Type', cls: 'text' },
      { key: 'partners', label: 'Partners', fmt: fmt.num },
      { key: 'orders', label: 'Orders', fmt: fmt.num },
      { key: 'new_customers', label: 'New customers', fmt: fmt.num },
      { key: 'revenue', label: 'Revenue', fmt: fmt.eur },
      { key: 'commission', label: 'Commission', fmt: fmt.eur },
      { key: 'roas', label: 'ROAS', fmt: fmt.num },
    ], body.by_type);
  }

  // ---- leads vs remarketing ----
  function renderLeads(body) {
    const rows = body.campaign_types;
    const currency = rows.length ? rows[0].currency : '';
    draw('chart-leads', {
      type: 'bar',
      data: { labels: rows.map((r) => r.campaign_type), datasets: [
        { label: 'Spend', data: rows.map((r) => r.spend), backgroundColor: '#94a3b8' },
        { label: 'New-customer revenue', data: rows.map((r) => r.new_customer_revenue), backgroundColor: '#2563eb' },
        { label: 'Returning-customer revenue', data: rows.map((r) => r.returning_customer_revenue), backgroundColor: '#15803d' },
      ] },
      options: { scales: { y: { title: { display: true, text: currency } } } },
    }, rows.length);
    const note = document.getElementById('leads-unclassified');
    note.textContent = body.unclassified_spend
      ? `${fmt.eur(body.unclassified_spend)} of spend is on campaigns no rule classifies: add a rule to the seed campaign_type_rules.`
      : '';
    table('table-leads', [
      { key: 'campaign_type', label: 'Campaign type', html: (r) => (r.is_unclassified ? badge(r.campaign_type, 'bad') : escapeHtml(fmt.label(r.campaign_type))) },
      { key: 'spend', label: 'Spend', fmt: fmt.eur },
      { key: 'leads', label: 'Leads', fmt: fmt.num },
      { key: 'cpl', label: 'CPL', fmt: fmt.eur2 },
      { key: 'new_customer_orders', label: 'New-customer orders', fmt: fmt.num },
      { key: 'new_customer_roas', label: 'New-customer ROAS', fmt: fmt.x },
      { key: 'returning_customer_orders', label: 'Repeat orders', fmt: fmt.num },
      { key: 'returning_customer_roas', label: 'Returning ROAS', fmt: fmt.x },
      { key: 'cost_per_upsell', label: 'Cost per upsell', fmt: fmt.eur2 },
    ], rows);
    table('table-leads-channels', [
      { key: 'channel', label: 'Channel', cls: 'text' },
      { key: 'lead_type', label: 'Lead', value: (r) => fmt.label(r.lead_type), cls: 'text' },
      { key: 'leads', label: 'Leads', fmt: fmt.num },
    ], body.leads_by_channel);
  }

  const SECTIONS = [
    ['kpi', 'sec-kpi', renderKpi], ['budget', 'sec-budget', renderBudget], ['funnel', 'sec-funnel', renderFunnel],
    ['rfm', 'sec-rfm', renderRfm], ['recommendations', 'sec-recommendations', renderRecommendations],
    ['listings', 'sec-listings', renderListings], ['marketplaces', 'sec-marketplaces', renderMarketplaces],
    ['uplift', 'sec-uplift', renderUplift], ['leads', 'sec-leads', renderLeads], ['discounts', 'sec-discounts', renderDiscounts],
    ['affiliates', 'sec-affiliates', renderAffiliates], ['syncs', 'sec-syncs', renderSyncs],
  ];

  async function loadCharts() {
    const params = currentFilters();
    showError('');
    const results = await Promise.all(SECTIONS.map(([name]) => getJSON('api/' + name, params)));
    const bad = results.find((r) => r.status === 400);
    if (bad) { showError(bad.body.detail); return; }
    if (results.some((r) => r.status === 503)) {
      showError('The warehouse is being updated by a pipeline task; retrying in a few seconds…');
      setTimeout(loadCharts, 5000);
    }
    results.forEach((result, i) => {
      const [name, sectionId, render] = SECTIONS[i];
      const body = result.body;
      if (result.status !== 200) {
        if (result.status !== 503) sectionEmpty(sectionId, `Could not load ${name}: ${body.detail || result.status}`);
        return;
      }
      if (body.status === 'empty') {
        sectionEmpty(sectionId, `${body.message} — missing: ${(body.missing || []).join(', ')}`);
        return;
      }
      sectionReady(sectionId);
      render(body);
    });
    document.body.setAttribute('data-loaded', 'true');
  }

  // Sources panel: connected sources as badges, each one not connected with its reason (the fix).
  async function renderSources() {
    const answer = await getJSON('api/sources');
    if (answer.status !== 200) return;
    const connected = answer.body.connected || [];
    $('sources-connected').innerHTML = 'Connected: ' +
      (connected.length ? connected.map((name) => badge(name, 'good')).join(' ') : 'none');
    $('sources-not-connected').innerHTML = (answer.body.not_connected || []).map((s) =>
      `<li data-source="${escapeHtml(s.source)}">${badge(s.source, 'neutral')} ${escapeHtml(s.reason)}</li>`).join('');
  }

  async function init() {
    const url = new URLSearchParams(window.location.search);
    await renderSources();
    const overview = await getJSON('api/overview');
    const select = $('f-channel');
    (overview.body.channels || []).forEach((c) => select.add(new Option(fmt.label(c), c)));
    if (overview.status !== 200 || overview.body.status === 'empty') {
      $('content').classList.add('hidden');
      $('filters').classList.add('hidden');
      $('empty').classList.remove('hidden');
      $('empty-detail').textContent = overview.body.detail || `Missing: ${(overview.body.missing || []).join(', ')}`;
      document.body.setAttribute('data-loaded', 'true');
      return;
    }
    ['start', 'end'].forEach((k) => {
      const input = $('f-' + k);
      if (overview.body.data_start) input.min = overview.body.data_start;
      if (overview.body.data_end) input.max = overview.body.data_end;
      if (url.get(k)) input.value = url.get(k);
    });
    if (url.get('channel')) select.value = url.get('channel');
    showFxGaps(overview.body.fx_gaps || []);
    $('filters').addEventListener('submit', (event) => {
      event.preventDefault();
      history.replaceState(null, '', '?' + new URLSearchParams(currentFilters()).toString());
      loadCharts();
    });
    $('f-reset').addEventListener('click', () => {
      $('f-start').value = ''; $('f-end').value = ''; select.value = '';
      history.replaceState(null, '', window.location.pathname);
      loadCharts();
    });
    await loadCharts();
  }

  // Values in a currency without an exchange rate are left out of every money total; say which and how many.
  function showFxGaps(gaps) {
    if (!gaps.length) return;
    const notice = $('fx-notice');
    const lines = gaps.map((g) => `${g.row_count} ${g.measure} value(s) in ${g.currency} from ${g.first_date} to `
      + `${g.last_date} (${g.model_name}, ${g.amount} ${g.currency})`);
    notice.textContent = `Left out of money totals in ${gaps[0].reporting_currency}, for want of an exchange rate: `
      + lines.join('; ') + '. Add the rates (ECB, or an fx_rates_*.csv file in the inbox) and run the pipeline.';
    notice.classList.remove('hidden');
  }

  init().catch((error) => { showError('The dashboard could not load: ' + error); });
})();
