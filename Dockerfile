# The bundled server (src/main.ts) as an image; docker-compose.yml runs it
# behind Pushpin. Build: docker build -t nestjs-eventstream .

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Compiles; then drops the dev dependencies (the embedded Postgres and Prisma
# among them: the image always gets DATABASE_URL, and the library's queries
# run on pg), but not those the server loads: Nest and its HTTP platform are
# only dev and peer dependencies of the library, and a plain prune left an
# image that could not start (Cannot find module 'reflect-metadata').
RUN npm run build \
  && node scripts/server-package-json.mjs . > server-package.json \
  && mv server-package.json package.json \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The migrations the server applies at start-up.
COPY --from=build /app/prisma ./prisma
USER node
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
