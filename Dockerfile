# Build: compile TypeScript with dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY providers ./providers
COPY templates ./templates
RUN npm ci
# better-sqlite3 (optional: SQLite log-in lookups) builds or fetches its native
# binding in its install script; the run stage skips scripts, so it takes the
# binding built here, on the same base image. An empty folder where it failed.
RUN mkdir -p node_modules/better-sqlite3/build

# Run: production dependencies only, non-root, read-only friendly.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 MAIL_AUTOCONFIG_PROVIDERS=/providers
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the build already ran in the first stage (prepare).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules/better-sqlite3/build ./node_modules/better-sqlite3/build
COPY providers ./providers
COPY providers /providers
COPY templates ./templates
USER node
EXPOSE 8080
VOLUME ["/providers"]
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The README's start command; npm forwards SIGTERM to the service (the start
# script execs node), which then stops gracefully.
CMD ["npm", "start"]
