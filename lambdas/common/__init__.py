"""Code shared by the Lambda handlers."""
