// Prisma CLI configuration. Migrations are applied by services/store/src/migrate.ts (see README);
// `prisma migrate deploy` also works against this folder where Prisma's schema engine is installed.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost/arbor" },
});
