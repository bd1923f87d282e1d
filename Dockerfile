# GameMod: one image for every role (api, bot, workers) and for the migrations.
#
#   docker build -t gamemod .
#   docker run --rm -e ROLES=api -e DATABASE_URL=... -e REDIS_URL=... -p 3000:3000 gamemod
#
# Multi-stage: `build` compiles the TypeScript to dist/ with the dev dependencies; the runtime
# stage holds dist/, production dependencies and the files read at run time, and runs plain node
# (no TypeScript runtime in the image). test/build.test.ts does what these stages do, without a
# Docker daemon, and starts the result as an unprivileged user.

FROM node:22-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY *.ts ./
COPY lib ./lib
COPY db ./db
COPY api ./api
COPY bot ./bot
COPY workers ./workers
COPY cli ./cli
RUN npm run build -- --outDir dist

# Production dependencies only, installed from the lockfile in a stage of their own so the
# runtime image carries neither the npm cache nor anything the dev dependencies bring in.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
 && npm cache clean --force

FROM node:22-bookworm-slim AS runtime
WORKDIR /app
# EMBEDDED_INSTALL=never: a container is given its PostgreSQL and Redis (DATABASE_URL, REDIS_URL)
# and must never try to install them itself.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    EMBEDDED_INSTALL=never \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# Code and dependencies stay owned by root: the app user can read them but not change them.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json ./
# Read at run time: the panel's static modules and the SQL migrations (lib/app-root.ts finds them
# beside package.json).
COPY panel ./panel
COPY db/migrations ./db/migrations
# The one place the app writes: attachments and transcripts with the local storage driver
# (a volume in docker-compose.yml; a named volume takes this ownership when first created).
RUN mkdir -p /data/storage && chown -R node:node /data
USER node
EXPOSE 3000
# Only the api role serves HTTP; services running other roles turn this check off (see
# docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself, not npm: one process, so stop signals reach the app directly.
CMD ["node", "dist/main.js"]
