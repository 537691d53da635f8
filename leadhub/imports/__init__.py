"""Bulk import jobs: streamed CSV / JSON Lines, column mapping, modes, dry run, resumable checkpoints."""
