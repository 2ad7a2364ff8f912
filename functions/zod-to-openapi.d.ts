// zod-to-openapi has no "exports" map, so Node loads its CommonJS build, which brings a second
// copy of zod that cannot see the `.meta()` our (ESM) schemas registered. Importing its ESM build
// by path keeps one zod; these are the same types.
declare module '@asteasolutions/zod-to-openapi/dist/index.mjs' {
  export * from '@asteasolutions/zod-to-openapi';
}
