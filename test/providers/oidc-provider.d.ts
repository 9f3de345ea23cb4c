// oidc-provider ships no types; the tests use it through a narrow cast (see oidc-server.ts).
declare module 'oidc-provider';
