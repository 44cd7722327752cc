// POST /export-data answers the workbook itself (200) or, for a long range, a job (202) that
// GET /exports/{id} reports on (status, stage, progress) until its file is ready.
import { call, get } from "./api";

interface ExportJob {
  export_id: string;
  status: "queued" | "running" | "done" | "failed" | "expired";
  stage: string;
  progress: number;
  message: string | null;
  filename: string | null;
  file_url: string;
}

export interface Workbook {
  blob: Blob;
  filename: string;
}

export type Progress = (stage: string, progress: number) => void;

const POLL_MS = 400;

function filename(response: Response, fallback: string): string {
  const header = response.headers.get("content-disposition") ?? "";
  return /filename="?([^";]+)"?/.exec(header)?.[1] ?? fallback;
}

export async function exportWorkbook(body: Record<string, unknown>, onProgress: Progress): Promise<Workbook> {
  const response = await call("POST", "/export-data", body, false);
  const fallback = `index_${String(body.start_date)}_${String(body.end_date)}.xlsx`;
  if (response.status !== 202) return { blob: await response.blob(), filename: filename(response, fallback) };
  let job = (await response.json()) as ExportJob;
  while (job.status === "queued" || job.status === "running") {
    onProgress(job.stage || job.status, job.progress ?? 0);
    await new Promise((done) => setTimeout(done, POLL_MS));
    job = await get<ExportJob>(`/exports/${encodeURIComponent(job.export_id)}`);
  }
  if (job.status !== "done") throw new Error(job.message ?? `the export is ${job.status}`);
  onProgress("downloading", 1);
  const file = await call("GET", job.file_url, undefined, false);
  return { blob: await file.blob(), filename: filename(file, job.filename ?? fallback) };
}

/** Hand the workbook to the browser as a download. */
export function save(workbook: Workbook): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(workbook.blob);
  a.download = workbook.filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}
