// The live dashboard: one EventSource on /stats/stream, four uPlot charts per limiter, and the
// current numbers as text. Plain browser JavaScript served as is: there is no build step.
// For tests and the curious, `window.sluiceDashboard` holds the charts and the last frame.
(() => {
  const config = JSON.parse(document.getElementById('sluice-config').textContent);
  const SHOWN_S = 30; // the charts scroll through the last 30 s
  const KEEP = 240; // points kept per chart: a minute at the default 4 frames per second
  const REASONS = config.reasons; // why a request can be shed, in the order the server lists them
  const COLORS = {
    inFlight: '#1f77b4',
    queued: '#ff7f0e',
    capacity: '#999',
    admitted: '#2ca02c',
    queue_full: '#d62728',
    queue_timeout: '#9467bd',
    aborted: '#8c564b',
    closed: '#7f7f7f',
    rate_limited: '#e377c2',
    unavailable: '#bcbd22',
    p50: '#17becf',
    p99: '#d62728',
  };
  const NUMBERS = [
    ['inFlight', 'in flight'],
    ['queued', 'queued'],
    ['capacity', 'capacity'],
    ['admitted', 'admitted (total)'],
    ['admittedPerSec', 'admitted/s'],
    ['shedPerSec', 'shed/s'],
    ...REASONS.map((reason) => [`shed.${reason}`, `shed ${reason.replace('_', ' ')}`]),
    ['waitP50Ms', 'wait p50 (ms)'],
    ['waitP99Ms', 'wait p99 (ms)'],
  ];
  const state = { charts: {}, frames: 0, last: null };
  window.sluiceDashboard = state;

  const element = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };
  const series = (label, color, dash) => ({
    label,
    stroke: color,
    width: 2,
    dash,
    points: { show: false },
  });
  const round = (value) => (value === null ? null : Math.round(value * 10) / 10);

  function chart(parent, title, lines) {
    const box = element('div');
    parent.append(box);
    const options = {
      title,
      width: Math.max(300, box.clientWidth),
      height: 200,
      scales: {
        // A fixed span, so the time axis reads in seconds from the first frame on.
        x: { time: true, range: (_u, _min, max) => [max - SHOWN_S, max] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      series: [{}, ...lines.map(([label, color, dash]) => series(label, color, dash))],
      axes: [{}, { size: 50 }],
      legend: { live: false }, // labels only: the numbers above give the current values
    };
    const data = [[], ...lines.map(() => [])];
    const plot = new uPlot(options, data, box);
    return { plot, data };
  }

  function addLimiter(name) {
    const numbers = element('dl', { className: 'numbers' });
    for (const [field, label] of NUMBERS) {
      const value = element('dd', { textContent: '–' });
      value.dataset.limiter = name;
      value.dataset.field = field;
      numbers.append(element('div', {}, [element('dt', { textContent: label }), value]));
    }
    const charts = element('div', { className: 'charts' });
    const section = element('section', { className: 'limiter' }, [
      element('h2', { textContent: name }),
      numbers,
      charts,
    ]);
    section.dataset.limiter = name;
    document.getElementById('limiters').append(section);
    const entry = {
      flight: chart(charts, 'in flight and queued', [
        ['in flight', COLORS.inFlight],
        ['queued', COLORS.queued],
        ['capacity', COLORS.capacity, [5, 5]],
      ]),
      admitted: chart(charts, 'admitted / s', [['admitted/s', COLORS.admitted]]),
      shed: chart(
        charts,
        'shed / s by reason',
        REASONS.map((reason) => [reason, COLORS[reason]]),
      ),
      wait: chart(charts, 'wait (ms), last 10 s', [
        ['p50', COLORS.p50],
        ['p99', COLORS.p99],
      ]),
    };
    state.charts[name] = entry;
    return entry;
  }

  function push({ plot, data }, t, values) {
    data[0].push(t);
    for (const [i, value] of values.entries()) data[i + 1].push(value);
    if (data[0].length > KEEP) for (const column of data) column.shift();
    plot.setData(data);
  }

  function show(name, snapshot) {
    const shedPerSec = REASONS.reduce((sum, reason) => sum + snapshot.shedPerSec[reason], 0);
    const values = { ...snapshot, shedPerSec };
    for (const reason of REASONS) values[`shed.${reason}`] = snapshot.shed[reason];
    for (const node of document.querySelectorAll(`dd[data-limiter="${name}"]`)) {
      const value = values[node.dataset.field];
      node.textContent = value === null || value === undefined ? '–' : String(round(value));
    }
  }

  function onFrame(frame) {
    const t = frame.t / 1000;
    for (const [name, snapshot] of Object.entries(frame.limiters)) {
      const entry = state.charts[name] ?? addLimiter(name);
      push(entry.flight, t, [snapshot.inFlight, snapshot.queued, snapshot.capacity]);
      push(entry.admitted, t, [snapshot.admittedPerSec]);
      push(
        entry.shed,
        t,
        REASONS.map((reason) => snapshot.shedPerSec[reason]),
      );
      push(entry.wait, t, [snapshot.waitP50Ms, snapshot.waitP99Ms]);
      show(name, snapshot);
    }
    state.frames++;
    state.last = frame;
  }

  const status = document.getElementById('status');
  const source = new EventSource(config.streamPath);
  source.onopen = () => {
    status.dataset.state = 'live';
    status.textContent = 'live';
  };
  source.onerror = () => {
    status.dataset.state = 'reconnecting';
    status.textContent = 'reconnecting…';
  };
  source.onmessage = (message) => onFrame(JSON.parse(message.data));

  const form = document.getElementById('burst');
  const result = document.getElementById('burst-result');
  form.elements.requests.value = config.burst.requests;
  form.elements.ms.value = config.burst.ms;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const query = new URLSearchParams({
      requests: form.elements.requests.value,
      ms: form.elements.ms.value,
    });
    const button = document.getElementById('burst-button');
    button.disabled = true;
    result.textContent = `firing ${query.get('requests')} × GET ${config.burst.route}?ms=${query.get('ms')}…`;
    try {
      const response = await fetch(`${config.burst.endpoint}?${query}`, { method: 'POST' });
      const body = await response.json();
      const parts = Object.entries(body.outcomes).map(([outcome, count]) => `${count} ${outcome}`);
      result.textContent = `${body.requests} × GET ${body.url}: ${parts.join(', ')}`;
    } catch (error) {
      result.textContent = `burst failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });

  window.addEventListener('resize', () => {
    for (const entry of Object.values(state.charts)) {
      for (const { plot } of Object.values(entry)) {
        plot.setSize({ width: Math.max(300, plot.root.parentElement.clientWidth), height: 200 });
      }
    }
  });
})();
