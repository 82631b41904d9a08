import { withQuery } from '../api/api-client.ts';
import { errorFromBody } from '../api/api-error.ts';
import type { UploadResult } from '../api/types.ts';

export function contentUrl(uuid: string, path: string): string {
  return withQuery(`/api/clients/${encodeURIComponent(uuid)}/files/content`, { path });
}

/**
 * PUT …/files/content with the file as the raw body. XMLHttpRequest, not fetch: only XHR reports
 * upload progress (fetch has no upload progress events in any browser today). The browser streams
 * the File from disk, so a file of any size uploads without being read into memory.
 */
export function uploadFile(
  uuid: string,
  path: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', contentUrl(uuid, path));
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText) as UploadResult);
      else reject(errorFromBody(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new Error('upload failed: the connection to the server broke'));
    xhr.onabort = () => reject(new DOMException('upload cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
