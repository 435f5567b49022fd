# The reset-runbook worker (and its CLI), for docker-compose.yml or any container platform.
#
#   docker build -t reset-runbook --build-arg PG_MAJOR=16 .
#
# PG_MAJOR must be the major version of the application's PostgreSQL server: pg_dump refuses to dump
# a server newer than itself, and a backup that pg_restore cannot read is no backup.

# ---- build: compile TypeScript, then keep only production dependencies ----
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY deploy/tsconfig.build.json deploy/tsconfig.build.json
COPY src ./src
COPY bin ./bin
COPY scripts/build-workflow-bundle.ts ./scripts/
# The workflow bundle is built here, once, in both variants (plain, and with the encoding failure
# converter for RR_CODEC_KEYS): the worker starts without webpack and takes the one its keys need.
RUN npx tsc -p deploy/tsconfig.build.json \
 && node --require tsx/cjs scripts/build-workflow-bundle.ts --dir dist/workflow-bundles \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: Node, pg_dump/pg_restore of the server's major version, ssh for remote worker commands ----
FROM node:24-bookworm-slim AS runtime
ARG PG_MAJOR=16
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl gnupg openssh-client tini; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"; \
    apt-get purge -y --auto-remove curl gnupg; \
    rm -rf /var/lib/apt/lists/*; \
    pg_dump --version

# glibc's malloc with fixed thresholds (docs/operators/deploy.md, "The worker's memory"): by default each
# freed large block raises them, and the memory a streamed dump or manifest passed through stays with the
# process; fixed, it goes back to the system.
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    PATH=/app/bin:/usr/lib/postgresql/${PG_MAJOR}/bin:$PATH \
    RESET_RUNBOOK_TARGETS=/etc/reset-runbook/targets.json \
    RR_WORKFLOW_BUNDLE=/app/dist/workflow-bundles

# A user of its own, with no shell login and no rights beyond its backup directory.
RUN groupadd --system --gid 10001 runbook \
 && useradd --system --uid 10001 --gid runbook --home-dir /var/lib/reset-runbook --shell /usr/sbin/nologin runbook \
 && install -d -o runbook -g runbook -m 0750 /var/lib/reset-runbook /var/lib/reset-runbook/backups /etc/reset-runbook

WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/bin ./bin

USER runbook
VOLUME ["/var/lib/reset-runbook/backups"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# A small young generation, and an old one that grows 10% past what it holds before V8 collects it
# (docs/operators/deploy.md, "The worker's memory"): the garbage of streamed bytes and of a purge's keys is
# collected sooner instead of growing the heap with the data.
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=10", "dist/src/worker.js"]
