"""Starts every ingestion job of the knowledge base on the bulk path, one data source at a time, oldest wait first."""
