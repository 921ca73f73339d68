"""CSV imports: upload, the background job, progress and rejects."""
