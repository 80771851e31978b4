import { h, field } from '../dom.js';
import { login, loginMethods } from '../api.js';

export const title = 'Sign in';
export const help = [
  'Sign in with the login and password that an AxTract administrator created for you (axtract user add).',
  'Partner users see their own deliveries; staff see the dashboard and the designers their role allows.',
  'After five wrong passwords in a row the account is locked for a while; ask an administrator if you are locked out.',
  'Where the server is set up for single sign-on, staff can instead sign in with their organisation\'s account (OpenID Connect).',
];

export function render(main, _params, ctx) {
  const user = h('input', { name: 'login', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card login', novalidate: true },
    field('Login', user), field('Password', pass), err, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!user.value || !pass.value) {
      err.textContent = 'Enter both your login and your password.';
      (user.value ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    try {
      const sess = await login(user.value.trim(), pass.value);
      const next = new URLSearchParams(location.search).get('next');
      // Only a path on this site is followed, never another origin: browsers
      // read "//host" and "/\\host" as addresses of another host.
      const local = next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\');
      const target = local ? next : ctx.homeFor(sess ? sess.role : '');
      if (target.startsWith('/riverui/')) location.assign(target);
      else ctx.navigate(target, { replace: true });
    } catch (e) {
      err.textContent = e.message;
      pass.value = '';
      pass.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(form);
  user.focus();
  loginMethods().then((methods) => {
    if (methods.oidc) {
      form.append(h('div', { class: 'actions sso' },
        h('a', { class: 'button secondary', href: '/auth/oidc/login', id: 'sso-login' }, 'Sign in with single sign-on')));
    }
    form.dataset.methods = 'loaded';
  });
}
