// A preview of the next runs of a five-field cron expression (minute, hour,
// day of month, month, day of week) in an IANA time zone. It is a preview
// only: the server's axtract.feed_next_runs decides the real slots, with the
// feed's calendar and holiday rule applied.

const PRESETS = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const RANGES = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
const NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];

function parseField(text, [lo, hi], name) {
  const values = new Set();
  for (const part of text.split(',')) {
    const m = part.match(/^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/);
    if (!m) throw new Error(`cron ${name} "${part}" is invalid: use *, N, N-M, lists and /step`);
    let from = lo;
    let to = hi;
    if (m[1] !== '*') {
      from = Number(m[2]);
      to = m[3] !== undefined ? Number(m[3]) : (m[4] ? hi : from);
    }
    const step = m[4] ? Number(m[4]) : 1;
    if (from < lo || to > hi || from > to || step < 1) throw new Error(`cron ${name} "${part}" is out of range ${lo}-${hi}`);
    for (let v = from; v <= to; v += step) values.add(name === 'day of week' && v === 7 ? 0 : v);
  }
  return values;
}

export function parseCron(expr) {
  const text = PRESETS[expr.trim()] || expr.trim();
  const fields = text.split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron expression "${expr}" needs five fields (minute hour day month weekday) or a preset such as @daily`);
  const sets = fields.map((f, i) => parseField(f, RANGES[i], NAMES[i]));
  return { sets, domStar: fields[2] === '*', dowStar: fields[4] === '*' };
}

// zoneParts returns the wall-clock fields of instant t in zone tz.
function zoneParts(t, tz) {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short',
  });
  const out = {};
  for (const p of fmt.formatToParts(t)) out[p.type] = p.value;
  return out;
}

// zonedToInstant converts a wall-clock time in tz to an instant. A time that
// a DST change skips moves forward by the gap, as most schedulers do.
function zonedToInstant(y, mo, d, hh, mm, tz) {
  const guess = Date.UTC(y, mo - 1, d, hh, mm);
  let t = guess;
  for (let i = 0; i < 3; i += 1) {
    const p = zoneParts(new Date(t), tz);
    const seen = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute));
    t += guess - seen;
  }
  return new Date(t);
}

// nextRuns returns up to count slots after now as {instant, local} where
// local is YYYY-MM-DD HH:MM in tz. It looks at most 400 days ahead.
export function nextRuns(expr, tz, count = 5, now = new Date()) {
  const { sets, domStar, dowStar } = parseCron(expr);
  new Intl.DateTimeFormat('en-US', { timeZone: tz }); // throws RangeError on an unknown zone
  const start = zoneParts(now, tz);
  const day = new Date(Date.UTC(Number(start.year), Number(start.month) - 1, Number(start.day)));
  const out = [];
  const hours = [...sets[1]].sort((a, b) => a - b);
  const minutes = [...sets[0]].sort((a, b) => a - b);
  for (let i = 0; i < 400 && out.length < count; i += 1) {
    const y = day.getUTCFullYear();
    const mo = day.getUTCMonth() + 1;
    const d = day.getUTCDate();
    const dow = day.getUTCDay();
    const domOk = sets[2].has(d);
    const dowOk = sets[4].has(dow);
    // Classic cron: with both day fields restricted, either may match.
    let dayOk = domOk || dowOk;
    if (domStar) dayOk = dowOk;
    else if (dowStar) dayOk = domOk;
    if (sets[3].has(mo) && dayOk) {
      for (const hh of hours) {
        for (const mm of minutes) {
          const t = zonedToInstant(y, mo, d, hh, mm, tz);
          if (t > now && out.length < count && !out.some((x) => x.instant.getTime() === t.getTime())) {
            out.push({ instant: t, local: `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')} ${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}` });
          }
        }
      }
    }
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return out;
}
