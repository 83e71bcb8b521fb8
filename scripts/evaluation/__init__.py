"""Answer quality, measured: the evaluation cases, their scores, the report, and Bedrock's own judge."""
