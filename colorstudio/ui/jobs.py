"""The window's record of its background jobs, and the memory its photos' results hold.

Every job the window submits is one typed `Job` (kind, photo, state, and for colourisations
the inputs it was made from); the engine's signals move it from queued to running to one of
finished / failed / cancelled, and it leaves the tracker then. `latest_preview` and the
latest preprocessing job of each photo say which answers are still wanted.

Results are large (full-resolution float and 8-bit RGB, a display pyramid): the tracker
counts what every photo's result holds and, above `cap_bytes`, evicts the results of photos
that are not on screen, oldest first (as krita-ai-diffusion's `JobQueue.prune` does). An
evicted photo is colourised again when it is shown again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ..core.jobs import ColorizeResult, JobKind, JobState
from .document import Document

DEFAULT_CAP_BYTES = 1536 * 2**20  # results of photos off screen beyond this are dropped


@dataclass
class Job:
    id: int
    kind: JobKind
    doc: Document | None = None
    state: JobState = JobState.QUEUED
    key: tuple | None = None  # COLORIZE: Document.key(model) when it was submitted


class JobTracker:
    def __init__(self, cap_bytes: int = DEFAULT_CAP_BYTES) -> None:
        self.cap_bytes = cap_bytes
        self._jobs: dict[int, Job] = {}
        self.latest_preview: int | None = None
        self._latest_pre: dict[int, int] = {}  # id(doc) -> its newest preprocessing job
        self._results: OrderedDict[int, Document] = OrderedDict()  # id(doc), oldest first
        self.evicted = 0  # how many results were dropped (tests and logs read it)

    # ----- jobs -----
    def add(self, job_id: int, kind: JobKind, doc: Document | None = None,
            key: tuple | None = None) -> Job:
        job = Job(job_id, kind, doc, JobState.QUEUED, key)
        self._jobs[job_id] = job
        if kind is JobKind.PREVIEW:
            self.latest_preview = job_id
        elif kind is JobKind.PREPROCESS and doc is not None:
            self._latest_pre[id(doc)] = job_id
        return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def started(self, job_id: int) -> Job | None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.state = JobState.RUNNING
        return job

    def end(self, job_id: int, state: JobState) -> Job | None:
        """The job is over: -> it (with its final state), or None if it was not ours."""
        job = self._jobs.pop(job_id, None)
        if job is not None:
            job.state = state
        return job

    def is_latest(self, job: Job) -> bool:
        """Still the answer wanted (no newer preview / preprocessing job replaced it)."""
        if job.kind is JobKind.PREVIEW:
            return job.id == self.latest_preview
        if job.kind is JobKind.PREPROCESS and job.doc is not None:
            return self._latest_pre.get(id(job.doc)) == job.id
        return True

    def of_kind(self, *kinds: JobKind) -> list[Job]:
        return [j for j in self._jobs.values() if j.kind in kinds]

    def user_facing(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.kind.user_facing]

    def cancellable(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.kind.cancellable]

    def __len__(self) -> int:
        return len(self._jobs)

    def __bool__(self) -> bool:
        return bool(self._jobs)

    def as_dict(self) -> dict[int, tuple[str, Document | None]]:
        """{job id: (kind value, photo)}: the shape older tests read."""
        return {j.id: (j.kind.value, j.doc) for j in self._jobs.values()}

    # ----- results and their memory -----
    def keep_result(self, doc: Document, result: ColorizeResult, key: tuple | None) -> None:
        doc.result = result
        doc.result_key = key
        doc.after_pyr = result.display
        doc.preview_rgb8 = None
        doc.evicted = False
        self._results.pop(id(doc), None)
        self._results[id(doc)] = doc

    def forget(self, doc: Document) -> None:
        self._results.pop(id(doc), None)
        self._latest_pre.pop(id(doc), None)

    def result_bytes(self) -> int:
        return sum(d.result.nbytes for d in self._results.values() if d.result is not None)

    def prune(self, on_screen: Document | None) -> list[Document]:
        """Drop the oldest results of photos not on screen until the rest fit `cap_bytes`."""
        dropped: list[Document] = []
        total = self.result_bytes()
        for key, doc in list(self._results.items()):
            if total <= self.cap_bytes:
                break
            if doc is on_screen or doc.result is None:
                continue
            total -= doc.result.nbytes
            del self._results[key]
            doc.result = doc.after_pyr = doc.result_key = None
            doc.evicted = True
            dropped.append(doc)
        self.evicted += len(dropped)
        return dropped
