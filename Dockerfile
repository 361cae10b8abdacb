# syntax=docker/dockerfile:1
#
# Gatehouse: build the TypeScript, install production dependencies, run as `node`.
#
#   docker build -t gatehouse .
#   docker run -p 3000:3000 -v gatehouse-data:/data \
#     -v "$PWD/gatehouse.config.json:/app/gatehouse.config.json:ro" gatehouse
#
# Layout in the image (app.ts finds views/, public/ and locales/ one level above
# its own file, and the SQLite store finds migrations/ next to its own file):
#
#   /app/package.json          "type": "module" for dist/*.js
#   /app/node_modules/         production dependencies only
#   /app/dist/main.js …        compiled src/ (tsconfig.build.json: rootDir src → dist)
#   /app/dist/store/sqlite/migrations/*.sql
#   /app/views/ /app/public/ /app/locales/ /app/gatehouse.config.json
#   /data                      DATA_DIR: the SQLite database (a volume, owned by node)

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- toolchain: what node-gyp needs to compile argon2 and better-sqlite3 -----------
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

# ---- deps: production dependencies, native modules compiled for this image --------
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund

# ---- build: every dependency, then tsc → dist/ ---------------------------------------
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm run build` compiles and copies the SQL migrations next to the compiled store.
RUN npm run build \
 && test -f dist/main.js && test -f dist/app.js && test -f dist/store/sqlite/migrations/001_init.sql

# ---- runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX: PRODUCTION_ENV in src/config/runtime.ts (the bench runs with the same).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
# Application files stay owned by root (read-only for the `node` user); only /data is writable.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
COPY locales ./locales
COPY gatehouse.config.json ./
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
# Slim images have no curl: ask node itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# V8 heap bounds: PRODUCTION_NODE_FLAGS in src/config/runtime.ts (the bench runs with the same).
CMD ["node", "--max-old-space-size=96", "--max-semi-space-size=8", "dist/main.js"]
