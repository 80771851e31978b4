// Status dashboard: runs by state, feeds that need attention (late and
// failed first), runs held by quality checks, live progress of running
// extracts, and charts of rows and durations. Operators get retry, run-now,
// pause, release and discard buttons, and analysts a quality rules form.

import { h, stack, add, clear, formatNumber, formatBytes, formatTime, formatDuration, announce } from '../dom.js';
import { gql } from '../api.js';
import { barChart, lineChart } from '../chart.js';
import { Q_HELD, drawHeld, rulesPanel } from './dashboard-quality.js';

export const title = 'Dashboard';
export const help = [
  'The counts at the top are runs by state. "Needs attention" lists feeds that are late, failed, held, retrying or paused, late and failed first.',
  '"Held by quality checks" lists runs whose data broke a rule of a feed set to hold. Nothing was delivered. Operators and admins release a held run, which runs it again and delivers even if the rules break again, or discard it with a reason.',
  'Analysts and admins set a feed\'s quality rules under "Quality rules": the fewest rows a run may have, the largest change in rows against the previous delivered run, columns that must have no NULL, and whether a broken rule fails or holds the run. Other rules set with axtract quality set are kept.',
  'Running extracts show the rows PostgreSQL has copied so far; the page refreshes every few seconds while something runs, and every 15 seconds otherwise.',
  'Operators and admins can retry a failed run, run a feed now, and pause or resume a feed. A retry reuses the failed run\'s slot, so the slot is still delivered at most once.',
  'The Feeds table lists every feed with its schedule, its next run in the feed\'s time zone and its last run.',
  'The charts show the rows and the duration of recent successful runs, oldest on the left; hover over a bar or point for its value.',
];

const Q = `query Dashboard {
  dashboard {
    runsByStatus { status count }
    lateRuns
    attention(first: 20) {
      state
      feed { name paused partner { slug name } }
      lastRun { id status slot finishedAt late error }
    }
    running { rowsCopied bytesCopied run { id slot startedAt durationMs feed { name } } }
    recentRuns(first: 50) {
      id status slot rows bytes durationMs startedAt finishedAt late
      feed { name partner { slug } }
      files { id name kind bytes rows }
    }
  }
}`;

const Q_FEEDS = `query DashboardFeeds {
  feeds(first: 100) {
    edges { node {
      name paused schedule timeZone
      partner { slug }
      nextRuns(count: 1) { localTime timeZone }
      lastRun { id status slot }
    } }
  }
}`;

const M_RETRY = 'mutation Retry($id: ID!) { retryRun(id: $id) { id status } }';
const M_PAUSE = 'mutation Pause($name: String!) { pauseFeed(name: $name) { name paused } }';
const M_RESUME = 'mutation Resume($name: String!) { resumeFeed(name: $name) { name paused } }';
const M_RUN = 'mutation RunNow($name: String!) { runFeedNow(name: $name) { id status } }';

const STATE_ORDER = { LATE: 0, FAILED: 1, HELD: 2, RETRYING: 3, PAUSED: 4, OK: 5 };

function badge(state) {
  const s = String(state || '').toLowerCase();
  return h('span', { class: 'badge', dataset: { state: s } }, s);
}

export async function render(main, _params, ctx) {
  const canOperate = ['admin', 'operator'].includes(ctx.session.role);
  const canSetRules = ['admin', 'analyst'].includes(ctx.session.role);
  const stats = h('ul', { class: 'stats', id: 'run-stats', 'aria-label': 'Runs by state' });
  const attention = h('div', { class: 'table-wrap', id: 'attention' });
  const held = h('div', { class: 'table-wrap', id: 'held' });
  const rulesCard = h('section', { class: 'card', 'aria-labelledby': 'rules-h', hidden: !canSetRules },
    h('h2', { id: 'rules-h' }, 'Quality rules'));
  const running = h('div', { id: 'running' });
  const charts = h('div', { class: 'grid two', id: 'charts' });
  const recent = h('div', { class: 'table-wrap', id: 'recent-runs' });
  const feedsBox = h('div', { class: 'table-wrap', id: 'feeds' });
  const updated = h('p', { class: 'muted', id: 'updated' });
  main.append(
    stats,
    h('section', { class: 'card', 'aria-labelledby': 'att-h' }, h('h2', { id: 'att-h' }, 'Needs attention'), attention),
    h('section', { class: 'card', 'aria-labelledby': 'held-h' }, h('h2', { id: 'held-h' }, 'Held by quality checks'), held),
    h('section', { class: 'card', 'aria-labelledby': 'run-h', 'aria-live': 'polite' }, h('h2', { id: 'run-h' }, 'Running now'), running),
    h('section', { class: 'card', 'aria-labelledby': 'chart-h' }, h('h2', { id: 'chart-h' }, 'Recent runs'), charts),
    h('section', { class: 'card', 'aria-labelledby': 'recent-h' }, h('h2', { id: 'recent-h' }, 'Latest runs'), recent),
    h('section', { class: 'card', 'aria-labelledby': 'feeds-h' }, h('h2', { id: 'feeds-h' }, 'Feeds'), feedsBox),
    rulesCard,
    updated);

  let timer = null;
  let stopped = false;
  let lastRows = new Map();

  async function act(mutation, vars, doneMsg) {
    try {
      await gql(mutation, vars);
      announce(doneMsg);
      await refresh();
    } catch (err) {
      announce(err.message, 'error');
    }
  }

  function feedButtons(feed, run) {
    if (!canOperate) return null;
    const btns = [];
    if (run && run.status === 'FAILED') {
      btns.push(h('button', { type: 'button', class: 'secondary retry', 'aria-label': `Retry run ${run.id} of ${feed.name}`, onclick: () => act(M_RETRY, { id: run.id }, `Run ${run.id} of ${feed.name} queued again.`) }, 'Retry'));
    }
    btns.push(h('button', { type: 'button', class: 'secondary run-now', 'aria-label': `Run ${feed.name} now`, onclick: () => act(M_RUN, { name: feed.name }, `Run of ${feed.name} queued.`) }, 'Run now'));
    btns.push(feed.paused
      ? h('button', { type: 'button', class: 'secondary resume', 'aria-label': `Resume ${feed.name}`, onclick: () => act(M_RESUME, { name: feed.name }, `${feed.name} resumed.`) }, 'Resume')
      : h('button', { type: 'button', class: 'secondary pause', 'aria-label': `Pause ${feed.name}`, onclick: () => act(M_PAUSE, { name: feed.name }, `${feed.name} paused.`) }, 'Pause'));
    return h('div', { class: 'actions' }, btns);
  }

  function draw(d) {
    clear(stats);
    const late = h('li', { dataset: { state: 'late' } }, h('span', { class: 'n' }, formatNumber(d.lateRuns)), 'late');
    add(stats, late, d.runsByStatus.map((s) => h('li', { dataset: { state: s.status.toLowerCase() } },
      h('span', { class: 'n' }, formatNumber(s.count)), s.status.toLowerCase())));

    const items = [...d.attention].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state]);
    clear(attention);
    if (!items.length) {
      attention.append(h('p', { class: 'ok' }, 'Every feed is on time.'));
    } else {
      attention.append(h('table', {},
        h('thead', {}, h('tr', {}, ['Feed', 'State', 'Last run', 'Error', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, items.map((it) => h('tr', {},
          h('th', { scope: 'row' }, it.feed.name, h('br'), h('span', { class: 'muted' }, it.feed.partner.name)),
          h('td', {}, badge(it.state)),
          h('td', {}, it.lastRun ? [badge(it.lastRun.status), ' ', formatTime(it.lastRun.slot)] : '–'),
          h('td', {}, it.lastRun && it.lastRun.error ? it.lastRun.error : ''),
          h('td', {}, feedButtons(it.feed, it.lastRun)))))));
      stack(attention.querySelector('table'));
    }

    // Estimate progress from the rows of the feed's last successful run.
    lastRows = new Map();
    for (const r of d.recentRuns) {
      if (r.status === 'SUCCEEDED' && r.rows !== null && !lastRows.has(r.feed.name)) lastRows.set(r.feed.name, Number(r.rows));
    }
    clear(running);
    if (!d.running.length) {
      running.append(h('p', { class: 'muted' }, 'No extract is running.'));
    } else {
      running.append(h('ul', { class: 'columns' }, d.running.map((p) => {
        const expect = lastRows.get(p.run.feed.name);
        const copied = p.rowsCopied === null ? null : Number(p.rowsCopied);
        const bar = h('progress', { 'aria-label': `Progress of ${p.run.feed.name}` });
        if (copied !== null && expect) {
          bar.max = expect;
          bar.value = Math.min(copied, expect);
        }
        return h('li', {}, h('strong', {}, p.run.feed.name),
          h('span', {}, `${formatNumber(copied)} rows, ${formatBytes(p.bytesCopied)} so far · ${formatDuration((p.run.durationMs || 0) / 1000)}${expect ? ` · last run had ${formatNumber(expect)} rows` : ''}`),
          h('div', { class: 'col-controls' }, bar));
      })));
    }

    const done = d.recentRuns.filter((r) => r.status === 'SUCCEEDED').slice().reverse();
    const label = (r) => new Date(r.slot).toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
    clear(charts).append(
      barChart('Rows delivered per run', done.map((r) => ({ label: label(r), value: Number(r.rows || 0) }))),
      lineChart('Run duration in seconds', done.map((r) => ({ label: label(r), value: Number(r.durationMs || 0) / 1000 })), ' s'));

    clear(recent);
    if (!d.recentRuns.length) {
      recent.append(h('p', { class: 'muted' }, 'No run yet.'));
    } else {
      recent.append(h('table', { id: 'runs-table' },
        h('thead', {}, h('tr', {}, ['Run', 'Feed', 'State', 'Slot', 'Rows', 'Duration', 'Files'].map((t) => h('th', { scope: 'col', class: t === 'Rows' ? 'num' : '' }, t)))),
        h('tbody', {}, d.recentRuns.slice(0, 20).map((r) => h('tr', { dataset: { run: r.id } },
          h('td', {}, r.id),
          h('td', {}, r.feed.name),
          h('td', {}, badge(r.late && r.status !== 'SUCCEEDED' ? 'late' : r.status)),
          h('td', {}, formatTime(r.slot)),
          h('td', { class: 'num' }, formatNumber(r.rows)),
          h('td', {}, r.durationMs === null ? '–' : formatDuration(r.durationMs / 1000)),
          h('td', {}, r.files.map((f) => h('div', { class: 'file' }, f.name, ' ', h('span', { class: 'muted' }, `(${f.kind.toLowerCase()}, ${formatBytes(f.bytes)})`)))))))));
      stack(recent.querySelector('table'));
    }
    updated.textContent = `Updated ${new Date().toLocaleTimeString('en-US')}.`;
    return d.running.length > 0;
  }

  function drawFeeds(feeds) {
    clear(feedsBox);
    if (!feeds.length) {
      feedsBox.append(h('p', { class: 'muted' }, 'No feed yet. Feeds are defined when a privacy officer approves a feed request.'));
      return;
    }
    feedsBox.append(h('table', { id: 'feeds-table' },
      h('thead', {}, h('tr', {}, ['Feed', 'Schedule', 'Next run', 'Last run', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, feeds.map((f) => h('tr', { dataset: { feed: f.name } },
        h('th', { scope: 'row' }, f.name, h('br'), h('span', { class: 'muted' }, f.partner.slug)),
        h('td', {}, f.paused ? badge('paused') : (f.schedule ? `${f.schedule} (${f.timeZone})` : 'on demand')),
        h('td', {}, !f.paused && f.nextRuns.length ? `${f.nextRuns[0].localTime.replace('T', ' ')} ${f.nextRuns[0].timeZone}` : '–'),
        h('td', {}, f.lastRun ? [badge(f.lastRun.status), ' ', formatTime(f.lastRun.slot)] : '–'),
        h('td', {}, feedButtons(f, f.lastRun)))))));
    stack(feedsBox.querySelector('table'));
  }

  async function refresh() {
    clearTimeout(timer);
    let busy = false;
    try {
      const [data, feeds, heldRuns] = await Promise.all([gql(Q), gql(Q_FEEDS), gql(Q_HELD)]);
      if (stopped) return;
      busy = draw(data.dashboard);
      drawHeld(held, heldRuns.runs.edges.map((e) => e.node), canOperate, act);
      const feedList = feeds.feeds.edges.map((e) => e.node);
      drawFeeds(feedList);
      // The rules form is built once, so a refresh does not undo an edit.
      if (canSetRules && rulesCard.childElementCount === 1) rulesCard.append(rulesPanel(feedList.map((f) => f.name)));
    } catch (err) {
      if (stopped) return;
      updated.textContent = `Refresh failed: ${err.message}`;
    }
    if (stopped) return;
    // Poll fast while an extract runs, slowly otherwise, and rarely in a
    // hidden tab.
    let delay = busy ? 3000 : 15000;
    if (document.hidden) delay = 60000;
    timer = setTimeout(refresh, delay);
  }

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
