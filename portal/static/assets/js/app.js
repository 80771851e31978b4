// Entry point of the portal: the router, the page frame (navigation,
// account, help panel) and the pages' lifecycle.

import { h, clear, announce } from './dom.js';
import { loadSession, currentSession, logout } from './api.js';
import * as loginPage from './pages/login.js';
import * as dashboardPage from './pages/dashboard.js';
import * as viewPage from './pages/view-designer.js';
import * as feedPage from './pages/feed-designer.js';
import * as approvalsPage from './pages/approvals.js';
import * as partnersPage from './pages/partners.js';
import * as deliveriesPage from './pages/deliveries.js';

// Role lists follow the @hasRole lists of graph/schema.graphqls, so a page
// opens only for accounts whose queries the API allows.
const STAFF = ['admin', 'analyst', 'privacy_officer', 'operator'];
const RUN_READERS = ['admin', 'analyst', 'operator'];
const REQUESTERS = ['admin', 'analyst'];
const REVIEWERS = ['admin', 'privacy_officer'];

// Each route names its page module and the roles that may open it. Pages
// export title, help (paragraphs) and render(main, params, ctx).
const routes = [
  { path: /^\/login$/, page: loginPage, roles: null },
  { path: /^\/dashboard$/, page: dashboardPage, roles: RUN_READERS },
  { path: /^\/views\/new$/, page: viewPage, roles: REQUESTERS },
  { path: /^\/feeds\/new$/, page: feedPage, roles: REQUESTERS },
  { path: /^\/approvals$/, page: approvalsPage, roles: REVIEWERS },
  { path: /^\/partners$/, page: partnersPage, roles: STAFF },
  { path: /^\/partners\/([a-z][a-z0-9_]*)$/, page: partnersPage, roles: STAFF },
  { path: /^\/deliveries$/, page: deliveriesPage, roles: ['admin', 'partner'] },
];

const navItems = [
  { href: '/dashboard', label: 'Dashboard', roles: RUN_READERS },
  { href: '/views/new', label: 'Design a view', roles: REQUESTERS },
  { href: '/feeds/new', label: 'Design a feed', roles: REQUESTERS },
  { href: '/approvals', label: 'Approvals', roles: REVIEWERS },
  { href: '/partners', label: 'Partners', roles: STAFF },
  { href: '/deliveries', label: 'Deliveries', roles: ['admin', 'partner'] },
  { href: '/riverui/', label: 'Job queue', roles: ['admin', 'operator'], external: true },
];

let cleanup = null;

export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  render();
}

function homeFor(role) {
  if (role === 'partner') return '/deliveries';
  if (role === 'privacy_officer') return '/approvals';
  return '/dashboard';
}

function renderNav(sess) {
  const nav = document.getElementById('nav');
  const toggle = document.getElementById('nav-toggle');
  clear(nav);
  const account = clear(document.getElementById('account'));
  if (!sess) {
    toggle.hidden = true;
    return;
  }
  toggle.hidden = false;
  const list = h('ul', {});
  const riverUI = document.body.dataset.riverui === 'on';
  for (const item of navItems) {
    if (!item.roles.includes(sess.role)) continue;
    if (item.href === '/riverui/' && !riverUI) continue;
    const current = location.pathname === item.href || (item.href === '/partners' && location.pathname.startsWith('/partners/'));
    list.append(h('li', {}, h('a', {
      href: item.href,
      'data-link': item.external ? null : '',
      'aria-current': current ? 'page' : null,
    }, item.label)));
  }
  nav.append(list);
  account.append(
    h('span', { class: 'who' }, sess.login, ' ', h('span', { class: 'role' }, sess.role.replace('_', ' '))),
    h('button', {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        await logout();
        navigate('/login');
      },
    }, 'Sign out'),
  );
}

function helpPanel(page) {
  const paragraphs = page.help || [];
  return h('details', { class: 'help', id: 'help' },
    h('summary', {}, 'Help for this page'),
    paragraphs.map((p) => (Array.isArray(p) ? h('ul', {}, p.map((li) => h('li', {}, li))) : h('p', {}, p))));
}

async function render() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const main = document.getElementById('main');
  let sess = currentSession();
  if (sess === null) {
    try {
      sess = await loadSession();
    } catch (err) {
      announce(err.message, 'error');
    }
  }

  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') {
    navigate(sess ? homeFor(sess.role) : '/login', { replace: true });
    return;
  }

  const route = routes.find((r) => r.path.test(path));
  renderNav(sess);
  clear(main);
  if (!route) {
    main.append(h('h1', {}, 'Page not found'), h('p', {}, 'No page lives at ', h('code', {}, path), '. ',
      h('a', { href: '/', 'data-link': '' }, 'Go to the start page.')));
    document.title = 'Not found · AxTract';
    return;
  }

  if (route.roles && !sess) {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return;
  }
  if (route.roles && !route.roles.includes(sess.role)) {
    main.append(h('h1', {}, 'Not allowed'), h('p', {}, `The ${sess.role.replace('_', ' ')} role cannot open this page.`));
    return;
  }

  const params = path.match(route.path).slice(1);
  document.title = `${route.page.title} · AxTract`;
  const header = h('div', { class: 'page-head' }, h('h1', {}, route.page.title), helpPanel(route.page));
  const body = h('div', { class: 'page-body' });
  main.append(header, body);

  try {
    cleanup = (await route.page.render(body, params, { session: sess, navigate, homeFor })) || null;
  } catch (err) {
    body.append(h('p', { class: 'error', role: 'alert' }, err.message));
  }
  // Focus moves to the new page for screen readers, unless the page put it
  // on one of its controls, such as the login field.
  if (!main.contains(document.activeElement) || document.activeElement === main) main.focus({ preventScroll: true });
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  ev.preventDefault();
  document.getElementById('nav').classList.remove('open');
  document.getElementById('nav-toggle').setAttribute('aria-expanded', 'false');
  navigate(url.pathname + url.search);
});

document.getElementById('nav-toggle').addEventListener('click', (ev) => {
  const nav = document.getElementById('nav');
  const open = nav.classList.toggle('open');
  ev.currentTarget.setAttribute('aria-expanded', String(open));
});

// The skip link moves focus to the main region without changing the route.
document.querySelector('.skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  document.getElementById('main').focus();
});

window.addEventListener('popstate', render);
window.addEventListener('axtract:signed-out', () => navigate(`/login?next=${encodeURIComponent(location.pathname)}`));
render();
