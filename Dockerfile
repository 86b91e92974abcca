# ---- build: the full dependency tree (TypeScript, and the project's own Node as the npm package `node`) ----
FROM node:26-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY machines ./machines
COPY migrations ./migrations
COPY src ./src
# The managers' console: bundled by esbuild into dist/console (scripts/build-console.mjs).
COPY console ./console
COPY scripts/build-console.mjs scripts/migrate.ts scripts/token.ts scripts/audit-verify.ts ./scripts/
# Emits dist/src, dist/machines and dist/migrations (the migrator reads the compiled migrations at start-up),
# dist/console, and the release and operator commands: dist/scripts/migrate.js, token.js and audit-verify.js.
RUN npm run build

# ---- runtime: production dependencies only, on the image's own Node 26 ----
FROM node:26-trixie-slim AS runtime
ENV NODE_ENV=production \
    PORT=8000
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no test tools and no `node` npm package (the image's Node 26 runs the service).
# --omit=optional: no embedded-PostgreSQL binaries (~60 MB; src/db/embedded.ts imports them only when there is
# no DATABASE_URL, which production refuses anyway) and no native TypeScript binaries.
# --ignore-scripts: no production dependency needs an install script.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# The drafter's system prompt is read from disk at run time: src/adapters/drafting/prompt.ts walks up from
# dist/src/adapters/drafting/ to the first prompts/ folder that has the file, i.e. /app/prompts.
COPY prompts ./prompts
USER node
EXPOSE 8000
# Readiness, not just "the process answers": the database reachable and this process's worker running and
# polling (Kubernetes ignores this line: use the probes in docs/runbook.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The release step runs `node dist/scripts/migrate.js` (as the tables' owner) with this image before the new
# version starts (docs/runbook.md, "Release").
CMD ["node", "dist/src/main.js"]
