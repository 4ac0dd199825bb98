/**
 * Source upload — what `az acr build -r R .`, `az acr run -r R -f task.yaml .` and
 * `az acr task run -c .` do with a local folder: POST `listBuildSourceUploadUrl` on the registry
 * answers `{ uploadUrl, relativePath }`; the client PUTs the folder's tar.gz to `uploadUrl` (an
 * Azure Storage block blob with a write SAS), then names `relativePath` as the run's
 * `sourceLocation` (or the task run's `contextPath`). Real ACR keeps the blob in its own storage;
 * the sim serves the blob path-style after its origin, like the run logs
 * (`https://127.0.0.1:PORT/acrtasksource.blob.core.windows.net/source/<date>/<uuid>.tar.gz?<sas>`),
 * which the az CLI's `get_blob_info` parses into account, suffix, container and blob and its
 * storage client joins back into the same URL.
 *
 * The sim keeps only what decides registry access: the Dockerfiles and task YAML of the tarball
 * (state.sourceUploads), so a run from that source pulls its Dockerfile's base images through the
 * same decision as any other pull, and `az acr run -f task.yaml .` runs the uploaded file.
 * Bodies over the sim's 4 MiB request limit are refused (413).
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { parseTarGzip } from 'nanotar';
import type { SimRequest, SimResponse } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import { requirePermission, scopeOf } from '../caller.js';
import { key } from '../store.js';
import { REGISTRY_PATH, requireRegistry, TASK_API_VERSIONS } from './tasks.js';

export const SOURCE_ACCOUNT_SEGMENT = 'acrtasksource.blob.core.windows.net';
const SAS_VERSION = '2024-11-04';
const SAS_LIFETIME_MS = 3600_000;
/** Files kept from an upload: what decides which registries a run touches. */
const KEPT = /(^|\/)([^/]*dockerfile[^/]*|[^/]+\.ya?ml)$/i;
const MAX_KEPT_BYTES = 64 * 1024;

function sign(k: string, path: string, se: string): string {
  return createHmac('sha256', Buffer.from(k, 'base64')).update(['cw', path, se, SAS_VERSION, 'b'].join('\n')).digest('base64');
}

function storageError(status: number, code: string, message: string): SimResponse {
  const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`;
  return { status, text: xml, contentType: 'application/xml', headers: { 'x-ms-error-code': code, 'x-ms-version': SAS_VERSION } };
}

/** The files of an uploaded source the sim keeps (undefined when the source is not known). */
export function uploadedFiles(sim: Pick<SimContext, 'state'>, relativePath: unknown): Record<string, string> | undefined {
  if (typeof relativePath !== 'string') return undefined;
  const upload = sim.state.sourceUploads?.[relativePath.replace(/^\/+/, '')];
  return upload?.uploaded ? (upload.files ?? {}) : undefined;
}

/** Whether a run's source location names a blob this sim handed out (a local-folder upload). */
export function isUploadedSource(location: unknown): boolean {
  return typeof location === 'string' && /^source\/\d{8}\/[0-9a-f-]+\.tar\.gz$/i.test(location.replace(/^\/+/, ''));
}

async function receive(sim: SimContext, req: SimRequest): Promise<SimResponse> {
  const relativePath = `source/${req.params.date}/${req.params.file}`;
  const upload = sim.state.sourceUploads?.[relativePath];
  const sig = req.query.get('sig');
  const se = req.query.get('se');
  if (!upload || !sig || !se) return storageError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.');
  const expected = Buffer.from(sign(upload.key, `/${relativePath}`, se));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given) || Date.parse(se) < sim.now()) {
    return storageError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.');
  }
  if (req.method !== 'PUT' || String(req.headers['x-ms-blob-type'] ?? '') !== 'BlockBlob') {
    return storageError(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.');
  }
  const files: Record<string, string> = {};
  try {
    for (const item of await parseTarGzip(new Uint8Array(req.rawBytes ?? Buffer.alloc(0)))) {
      const name = item.name.replace(/^\.\//, '');
      if (item.type === 'file' && item.data && item.data.byteLength <= MAX_KEPT_BYTES && KEPT.test(name)) files[name] = Buffer.from(item.data).toString('utf8');
    }
  } catch {
    // A body that is not a gzipped tar is stored as the blob it is; the run will find no files.
  }
  upload.uploaded = true;
  upload.files = files;
  sim.changed();
  const md5 = createHash('md5').update(req.rawBytes ?? Buffer.alloc(0)).digest('base64');
  return {
    status: 201,
    text: '',
    headers: {
      etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
      'last-modified': new Date(sim.now()).toUTCString(),
      'content-md5': md5,
      'x-ms-request-server-encrypted': 'true',
      'x-ms-version': SAS_VERSION,
    },
  };
}

export const sourceUploadRoutes: RouteModule = (router, sim) => {
  router.on('POST', `${REGISTRY_PATH}/listBuildSourceUploadUrl`, { apiVersions: TASK_API_VERSIONS, name: 'registries.getBuildSourceUploadUrl' }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/listBuildSourceUploadUrl/action', scopeOf(req, 'listBuildSourceUploadUrl'));
    const registry = requireRegistry(sim, req);
    const now = sim.now();
    const day = new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
    const relativePath = `source/${day}/${sim.uuid()}.tar.gz`;
    const k = randomBytes(32).toString('base64');
    sim.state.sourceUploads ??= {};
    // Uploads older than a day are forgotten (their URLs expired long ago).
    for (const [p, u] of Object.entries(sim.state.sourceUploads)) if (u.createdAt < now - 86_400_000) delete sim.state.sourceUploads[p];
    sim.state.sourceUploads[relativePath] = { key: k, registryKey: key(registry.id), createdAt: now };
    sim.changed();
    const se = new Date(now + SAS_LIFETIME_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const query = new URLSearchParams({ sv: SAS_VERSION, se, sr: 'b', sp: 'cw', sig: sign(k, `/${relativePath}`, se) });
    return { status: 200, body: { uploadUrl: `${req.origin}/${SOURCE_ACCOUNT_SEGMENT}/${relativePath}?${query.toString()}`, relativePath } };
  });

  for (const method of ['PUT', 'HEAD', 'GET']) {
    router.on(method, `/${SOURCE_ACCOUNT_SEGMENT}/source/{date}/{file}`, { auth: false, name: 'source.blob' }, (req) => receive(sim, req));
  }
};

