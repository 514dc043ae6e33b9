// This app lints itself with oxlint (`npm run lint`), as `nest new` set it up.
// ESLint 10 looks for the config nearest each file, so this file keeps the
// repository's `eslint .` out of the app (its build output included).
export default [{ ignores: ['**/*'] }];
