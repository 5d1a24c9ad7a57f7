import type { Pool } from "../db.ts";

export type ModelStatus = "candidate" | "active" | "retired" | "failed";

export interface ModelVersionRow {
  id: number;
  name: string;
  version: string;
  kind: "backbone" | "derived";
  baseId: number | null;
  status: ModelStatus;
  isStandIn: boolean;
  description: string | null;
  dimension: number;
  logitScale: number | null;
  metrics: Record<string, unknown>;
  createdAt: Date;
}

export interface ModelVersionInput {
  name: string;
  version: string;
  kind: "backbone" | "derived";
  isStandIn: boolean;
  description?: string;
  dimension?: number;
  logitScale?: number;
  status?: ModelStatus;
}

const COLUMNS = `id, name, version, kind, base_id AS "baseId", status, is_stand_in AS "isStandIn",
  description, dimension, logit_scale AS "logitScale", metrics, created_at AS "createdAt"`;

export class ModelVersionRepository {
  constructor(private readonly pool: Pool) {}

  async getById(id: number): Promise<ModelVersionRow | null> {
    const { rows } = await this.pool.query<ModelVersionRow>(`SELECT ${COLUMNS} FROM model_version WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async getAll(): Promise<ModelVersionRow[]> {
    const { rows } = await this.pool.query<ModelVersionRow>(`SELECT ${COLUMNS} FROM model_version ORDER BY id`);
    return rows;
  }

  /** The version queries default to: the most recently activated active one. */
  async getActive(): Promise<ModelVersionRow | null> {
    const { rows } = await this.pool.query<ModelVersionRow>(
      `SELECT ${COLUMNS} FROM model_version WHERE status = 'active' ORDER BY activated_at DESC NULLS LAST, id DESC LIMIT 1`,
    );
    return rows[0] ?? null;
  }

  /** Finds (name, version) or creates it; an existing row is returned unchanged. */
  async upsert(input: ModelVersionInput): Promise<ModelVersionRow> {
    const status = input.status ?? "candidate";
    await this.pool.query(
      `INSERT INTO model_version (name, version, kind, status, is_stand_in, description, dimension, logit_scale, activated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN now() END)
       ON CONFLICT (name, version) DO NOTHING`,
      [input.name, input.version, input.kind, status, input.isStandIn, input.description ?? null, input.dimension ?? 768, input.logitScale ?? null, status === "active"],
    );
    const { rows } = await this.pool.query<ModelVersionRow>(
      `SELECT ${COLUMNS} FROM model_version WHERE name = $1 AND version = $2`,
      [input.name, input.version],
    );
    return rows[0]!;
  }
}
