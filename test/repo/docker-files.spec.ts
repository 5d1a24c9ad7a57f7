// No Docker engine runs on the development machines, so the images are never built here; these checks catch what
// would break a build: a workspace whose package.json is not copied before `npm ci`, or a compose service pointing
// at a Dockerfile or an entry point that does not exist.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { API_NODE_FLAGS } from "../../apps/api/src/node-flags.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const workspaces = (JSON.parse(read("package.json")) as { workspaces: string[] }).workspaces;

describe.each(["docker/Dockerfile", "docker/Dockerfile.cuda"])("%s", (dockerfile) => {
  const text = read(dockerfile);

  it("copies every workspace's package.json before npm ci", () => {
    const npmCi = text.indexOf("RUN npm ci");
    expect(npmCi).toBeGreaterThan(0);
    for (const workspace of workspaces) {
      const copy = text.indexOf(`COPY ${workspace}/package.json ${workspace}/`);
      expect(copy, workspace).toBeGreaterThan(0);
      expect(copy, workspace).toBeLessThan(npmCi);
    }
  });

  it("starts an entry point that exists", () => {
    const cmd = /^CMD \[(.*)\]$/m.exec(text)?.[1];
    const entry = cmd?.split(",").map((part) => part.trim().replace(/^"|"$/g, "")).find((part) => part.endsWith(".ts"));
    expect(entry && existsSync(path.join(ROOT, entry)), String(entry)).toBe(true);
  });
});

describe("docker-compose.yml", () => {
  const text = read("docker-compose.yml");

  it("builds from Dockerfiles and runs entry points that exist", () => {
    for (const [, dockerfile] of text.matchAll(/dockerfile: (\S+) \}/g)) expect(existsSync(path.join(ROOT, dockerfile!)), dockerfile).toBe(true);
    for (const [, entry] of text.matchAll(/"--import", "tsx", "([^"]+)"/g)) expect(existsSync(path.join(ROOT, entry!)), entry).toBe(true);
  });

  it("starts the API with its Node flags (apps/api/src/node-flags.ts), as npm start does", () => {
    const api = `["node", ${API_NODE_FLAGS.map((flag) => `"${flag}"`).join(", ")}, "--import", "tsx", "apps/api/src/main.ts"]`;
    expect(text).toContain(`command: ${api}`);
    expect(read("docker/Dockerfile")).toContain(`CMD ${api}`);
  });

  it("offers the CUDA inference image with a GPU reservation, and the pgvector server", () => {
    expect(text).toMatch(/inference-cuda:\n\s+profiles: \["cuda"\]\n\s+build: \{ context: \., dockerfile: docker\/Dockerfile\.cuda \}/);
    expect(text).toMatch(/capabilities: \[gpu\]/);
    expect(read("docker/Dockerfile.cuda")).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(text).toMatch(/image: pgvector\/pgvector:/);
  });
});
