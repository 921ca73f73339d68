"""The import API: upload (or preview, then confirm), progress, live stream, history, rejects report,
cancel, undo, and the saved column mappings (import profiles).

The upload's body goes into the upload store as it arrives (`upload.receive_upload`); then the
job is recorded and queued.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import quote
from uuid import UUID, uuid4

import anyio
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from fulfil.access.audit import actor_of
from fulfil.api import ApiRoute, app_resources, json_response, read_body, read_query
from fulfil.imports import jobs, profiles, queries, service, undo
from fulfil.imports.options import parse_options
from fulfil.imports.progress import HEARTBEAT_SECONDS, event_stream, publish
from fulfil.imports.rejects import FIXED_COLUMNS, rejects_key
from fulfil.imports.schemas import (
    ChangeList,
    HistoryQuery,
    ImportHistory,
    ImportSnapshot,
    Profile,
    ProfileBody,
    ProfileList,
    UndoAccepted,
    UndoQuery,
    UploadAccepted,
    UploadQuery,
)
from fulfil.imports.store import upload_key, upload_store
from fulfil.imports.upload import receive_upload
from fulfil.limits import one_upload_slot
from fulfil.queue import enqueue
from fulfil.resources import Resources
from fulfil.shutdown import STREAM_END_SECONDS
from fulfil.state import app_state

log = logging.getLogger(__name__)

TAG = "imports"
DEFAULT_FILENAME = "upload.csv"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def display_name(sent: str | None) -> str:
    """The upload's name as shown: its last path part (Windows paths too), at most 255 characters,
    without control characters (a NUL byte cannot be stored in PostgreSQL)."""
    name = Path(_CONTROL.sub("", sent or "").replace("\\", "/")).name[:255]
    return name or DEFAULT_FILENAME


def _job_id(request: Request) -> UUID:
    raw = request.path_params["job_id"]
    try:
        return UUID(raw)
    except ValueError:
        raise service.not_found(raw) from None


@one_upload_slot
async def upload_csv(request: Request) -> Response:
    """Stream the file into the upload store (never whole in memory), record the job, queue it; 202 with its URLs."""
    resources = app_resources(request)
    query = read_query(request, UploadQuery)
    asked = query.model_dump(exclude={"filename"})
    parse_options(asked)  # a bad option in the query is refused before the file is sent
    job_id = uuid4()
    store = upload_store(resources.settings, resources.db)
    key = upload_key(str(job_id))
    received = await receive_upload(request, store, key, resources.settings.max_upload_bytes)
    filename = display_name(query.filename or received.filename)
    rejects = rejects_key(str(job_id))
    try:
        options = await service.resolve_profile(resources.db, parse_options(asked, received.options))
        snapshot = await service.record_import(
            resources.db, job_id, filename, key, rejects, received.size, actor_of(request), options
        )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await store.remove(key)  # no job, so no file
        raise
    return await _queued(resources, snapshot)


async def _queued(resources: Resources, snapshot: ImportSnapshot) -> Response:
    """Queue the recorded job; 202 with its URLs."""
    job_id = snapshot.job_id
    await publish(resources.redis, snapshot)
    try:
        await enqueue(resources.queue, jobs.IMPORT_JOB, str(job_id), job_id=str(job_id))
    except Exception as exc:  # the recovery sweep queues it once Redis is back
        log.warning("import %s saved but not queued yet: %r", job_id, exc)
    base = f"/api/upload/{job_id}"
    reply = UploadAccepted(
        job_id=job_id,
        status=snapshot.status,
        filename=snapshot.filename,
        bytes_total=snapshot.bytes_total,
        progress_url=f"{base}/progress",
        stream_url=f"{base}/stream",
        rejects_url=f"{base}/rejects",
        changes_url=f"{base}/changes" if snapshot.dry_run else None,
        confirm_url=f"{base}/confirm" if snapshot.dry_run else None,
    )
    return json_response(reply, status=202)


async def confirm_preview(request: Request) -> Response:
    """Import a finished preview's stored file with its mode and mapping; 202 with the import's own job."""
    resources = app_resources(request)
    snapshot = await service.confirm_preview(resources, _job_id(request), actor_of(request))
    return await _queued(resources, snapshot)


async def preview_changes(request: Request) -> Response:
    """A preview's sample of changes: each SKU with its changed fields, old and new."""
    return json_response(await service.list_changes(app_resources(request).db, _job_id(request)))


def _profile_name(request: Request) -> str:
    return str(request.path_params["name"])


async def list_profiles(request: Request) -> Response:
    return json_response(await profiles.list_profiles(app_resources(request).db))


async def get_profile(request: Request) -> Response:
    return json_response(await profiles.get_profile(app_resources(request).db, _profile_name(request)))


async def create_profile(request: Request) -> Response:
    body = await read_body(request, ProfileBody)
    return json_response(await profiles.create_profile(app_resources(request).db, body, actor_of(request)), 201)


async def update_profile(request: Request) -> Response:
    body = await read_body(request, ProfileBody)
    db = app_resources(request).db
    return json_response(await profiles.update_profile(db, _profile_name(request), body, actor_of(request)))


async def delete_profile(request: Request) -> Response:
    await profiles.delete_profile(app_resources(request).db, _profile_name(request), actor_of(request))
    return Response(status_code=204)


async def import_progress(request: Request) -> Response:
    """The snapshot, from the job row."""
    return json_response(await service.get_snapshot(app_resources(request), _job_id(request)))


async def import_stream(request: Request) -> Response:
    """SSE: the snapshot first, then each change (event id = version), closed after the final status.

    A client reconnecting with the final event's id as Last-Event-ID gets a 204, which tells a
    browser's EventSource to stop reconnecting.
    """
    resources = app_resources(request)
    job_id = _job_id(request)
    snapshot = await service.get_snapshot(resources, job_id, fresh=False)
    last = request.headers.get("last-event-id", "").strip()
    # ASCII digits only, and few enough for int(): "²" or a 5,000-digit id counts as no id.
    last_event_id = int(last) if last.isascii() and last.isdigit() and len(last) <= 18 else -1
    if snapshot.final and last_event_id >= snapshot.version:
        return Response(status_code=204)  # the client has the final event; 204 stops EventSource reconnecting
    hub = app_state(request.app).hub
    shutdown = anyio.Event()  # set by sse-starlette when the server stops; the stream then ends cleanly
    return EventSourceResponse(
        event_stream(hub, resources, job_id, last_event_id, shutdown),
        ping=HEARTBEAT_SECONDS,
        shutdown_event=shutdown,
        shutdown_grace_period=STREAM_END_SECONDS,
    )


async def list_imports(request: Request) -> Response:
    """Every import, newest first, as snapshots."""
    query = read_query(request, HistoryQuery)
    return json_response(await service.list_imports(app_resources(request).db, query))


async def import_rejects(request: Request) -> Response:
    """The rejects report as CSV (just the header when nothing was rejected)."""
    resources = app_resources(request)
    job_id = _job_id(request)
    row = await resources.db.fetch_one(queries.GET_JOB, {"id": str(job_id)})
    if row is None:
        raise service.not_found(job_id)
    job = row._mapping
    stem = Path(job["filename"]).stem or "import"
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("_") or "import"
    disposition = f"attachment; filename=\"{ascii_stem}-rejects.csv\"; filename*=UTF-8''{quote(stem)}-rejects.csv"
    headers = {"Content-Disposition": disposition}
    key = job["rejects_path"]
    store = upload_store(resources.settings, resources.db, key)
    if key and await store.exists(key):
        return StreamingResponse(store.chunks(key), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(",".join(FIXED_COLUMNS) + "\r\n", media_type="text/csv; charset=utf-8", headers=headers)


async def cancel_import(request: Request) -> Response:
    """A queued job is cancelled at once; a running one stops after the batch it is writing."""
    job_id = _job_id(request)
    return json_response(await service.cancel_import(app_resources(request), job_id, actor_of(request)), status=202)


async def undo_import(request: Request) -> Response:
    """Queue the undo of a job; 202 with the undo's own job and its URLs."""
    job_id = _job_id(request)
    force = read_query(request, UndoQuery).force
    snapshot = await undo.request_undo(app_resources(request), job_id, actor_of(request), force=force)
    base = f"/api/upload/{snapshot.job_id}"
    reply = UndoAccepted(
        job_id=snapshot.job_id,
        undoes=job_id,
        status=snapshot.status,
        progress_url=f"{base}/progress",
        stream_url=f"{base}/stream",
        conflicts_url=f"{base}/conflicts",
    )
    return json_response(reply, status=202)


async def undo_conflicts(request: Request) -> Response:
    """The products an undo left alone, as CSV (just the header for any other job, or none left)."""
    resources = app_resources(request)
    job_id = _job_id(request)
    if await resources.db.fetch_one(queries.GET_SNAPSHOT, {"id": str(job_id)}) is None:
        raise service.not_found(job_id)
    headers = {"Content-Disposition": f'attachment; filename="undo-{job_id}-conflicts.csv"'}
    return StreamingResponse(
        undo.conflict_rows(resources, job_id), media_type="text/csv; charset=utf-8", headers=headers
    )


routes: list[BaseRoute] = [
    ApiRoute(
        "/api/upload",
        upload_csv,
        methods=["POST"],
        summary="Upload a CSV of products (multipart `file` field or a raw text/csv body); queues its import",
        tag=TAG,
        query=UploadQuery,
        response=UploadAccepted,
        status=202,
        errors=(400, 413, 415),
        content_types=("multipart/form-data", "text/csv"),
    ),
    ApiRoute(
        "/api/uploads",
        list_imports,
        methods=["GET"],
        summary="Import history, newest first",
        tag=TAG,
        query=HistoryQuery,
        response=ImportHistory,
        errors=(422,),
    ),
    ApiRoute(
        "/api/upload/{job_id}/progress",
        import_progress,
        methods=["GET"],
        summary="The import's progress snapshot",
        tag=TAG,
        response=ImportSnapshot,
        errors=(404,),
    ),
    ApiRoute(
        "/api/upload/{job_id}/stream",
        import_stream,
        methods=["GET"],
        summary="Live progress (Server-Sent Events): the snapshot, then each change; honours Last-Event-ID",
        tag=TAG,
        errors=(404,),
        response_type="text/event-stream",
    ),
    ApiRoute(
        "/api/upload/{job_id}/rejects",
        import_rejects,
        methods=["GET"],
        summary="The rejected rows as CSV: line, reason and the row's original fields",
        tag=TAG,
        errors=(404,),
        response_type="text/csv",
    ),
    ApiRoute(
        "/api/upload/{job_id}/cancel",
        cancel_import,
        methods=["POST"],
        summary="Cancel an import: it stops after the current batch and keeps what is committed",
        tag=TAG,
        response=ImportSnapshot,
        status=202,
        errors=(404, 409),
    ),
    ApiRoute(
        "/api/upload/{job_id}/undo",
        undo_import,
        methods=["POST"],
        summary="Undo a job: what it created is deleted, what it updated gets its earlier values back",
        tag=TAG,
        query=UndoQuery,
        response=UndoAccepted,
        status=202,
        errors=(404, 409, 422),
    ),
    ApiRoute(
        "/api/upload/{job_id}/confirm",
        confirm_preview,
        methods=["POST"],
        summary="Import a finished preview's file (no second upload) with the same mode and mapping",
        tag=TAG,
        response=UploadAccepted,
        status=202,
        errors=(404, 409),
    ),
    ApiRoute(
        "/api/upload/{job_id}/changes",
        preview_changes,
        methods=["GET"],
        summary="A preview's sample of changes (at most 100): SKU and each changed field's old and new value",
        tag=TAG,
        response=ChangeList,
        errors=(404,),
    ),
    ApiRoute(
        "/api/import-profiles",
        list_profiles,
        methods=["GET"],
        summary="Saved column mappings (import profiles)",
        tag=TAG,
        response=ProfileList,
    ),
    ApiRoute(
        "/api/import-profiles",
        create_profile,
        methods=["POST"],
        summary="Save a column mapping under a name, for profile=NAME on an upload",
        tag=TAG,
        body=ProfileBody,
        response=Profile,
        status=201,
        errors=(400, 409, 422),
    ),
    ApiRoute(
        "/api/import-profiles/{name}",
        get_profile,
        methods=["GET"],
        summary="One import profile",
        tag=TAG,
        response=Profile,
        errors=(404,),
    ),
    ApiRoute(
        "/api/import-profiles/{name}",
        update_profile,
        methods=["PUT"],
        summary="Replace an import profile's name and mapping",
        tag=TAG,
        body=ProfileBody,
        response=Profile,
        errors=(400, 404, 409, 422),
    ),
    ApiRoute(
        "/api/import-profiles/{name}",
        delete_profile,
        methods=["DELETE"],
        summary="Delete an import profile",
        tag=TAG,
        status=204,
        errors=(404,),
    ),
    ApiRoute(
        "/api/upload/{job_id}/conflicts",
        undo_conflicts,
        methods=["GET"],
        summary="The products an undo left alone because they changed since, as CSV",
        tag=TAG,
        errors=(404,),
        response_type="text/csv",
    ),
]
