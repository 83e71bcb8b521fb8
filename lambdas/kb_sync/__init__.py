"""Starts an ingestion job of the S3 data source when documents change."""
